/**
 * Bodies over 1 MiB live in payload files beside the database (issue #11):
 * a 100 MiB webhook is stored as a file (not in SQLite), arrives bit for bit,
 * shows a preview with its size and SHA-256, downloads whole, replays with a
 * copy of its own; files of deleted webhooks, partial uploads and files no row
 * names are deleted; a missing file fails its delivery instead of holding the
 * queue.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { WebhookStatus } from "@hookly/proto/gen/admin_pb";
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import { adminClient, createEndpoint, postWebhook, startEdge, tempDir, waitUntil } from "../harness.js";

const { receiver, edge, hub, cleanups } = useCleanups();
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const MiB = 1024 * 1024;

describe("payload files", () => {
  it("a 100 MiB webhook is stored as a file, arrives bit for bit, previews, downloads whole and replays with its own copy", async () => {
    const e = await edge();
    const t = await receiver();
    const ep = await createEndpoint(e.url, t.url);
    const big = randomBytes(100 * MiB);
    const small = Buffer.from(JSON.stringify({ small: true }));
    const bigId = await postWebhook(ep.ingestUrl, big, { "content-type": "application/octet-stream" });
    const smallId = await postWebhook(ep.ingestUrl, small);

    // On disk: the big body is a file named by its id; the database holds neither its bytes nor the small one's file.
    const dir = `${e.app.config.databasePath}-payloads`;
    expect(readdirSync(dir).filter((n) => n.startsWith("wh_"))).toEqual([bigId]);
    expect(statSync(join(dir, bigId)).size).toBe(big.length);
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);
    const dbBytes =
      statSync(e.app.config.databasePath).size + (existsSync(`${e.app.config.databasePath}-wal`) ? statSync(`${e.app.config.databasePath}-wal`).size : 0);
    expect(dbBytes).toBeLessThan(8 * MiB);

    await hub(e.url);
    const [a, b] = await t.waitFor(2, { timeoutMs: 60_000 });
    expect(a!.body.length).toBe(big.length);
    expect(sha256(a!.body)).toBe(sha256(big));
    expect(b!.body.equals(small)).toBe(true);

    // The detail: the first 64 KiB, the whole size and SHA-256, truncated; Connect says the same.
    const detail = await e.api("GET", `/api/webhooks/${bigId}`);
    expect(detail.status).toBe(200);
    expect(Buffer.from(detail.body.webhook.payload, "base64").equals(big.subarray(0, 64 * 1024))).toBe(true);
    expect(detail.body.webhook).toMatchObject({ payload_size: big.length, payload_truncated: true, payload_sha256: sha256(big), payload_text: null });
    expect(JSON.stringify(detail.body).length).toBeLessThan(200_000);
    const more = await e.api("GET", `/api/webhooks/${bigId}?payload_bytes=1048576`);
    expect(Buffer.from(more.body.webhook.payload, "base64").length).toBe(MiB);
    expect((await e.api("GET", `/api/webhooks/${bigId}?payload_bytes=2000000`)).status).toBe(400);
    const rpc = await adminClient(e.url).getWebhook({ id: smallId });
    expect(rpc.webhook).toMatchObject({ payloadTruncated: false, payloadSha256: sha256(small) });
    expect(Buffer.from(rpc.webhook!.payload).equals(small)).toBe(true);

    // The download streams the whole file.
    const download = await fetch(`${e.url}/api/webhooks/${bigId}/payload`, { headers: { authorization: `Bearer ${e.app.config.adminToken}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get("content-length")).toBe(String(big.length));
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(big));

    // A replay has a file of its own (a hard link): deleting the original's leaves it whole.
    const replay = await adminClient(e.url).replayWebhook({ id: bigId });
    const copyId = replay.webhook!.id;
    expect(statSync(join(dir, copyId)).nlink).toBe(2);
    const [c] = (await t.waitFor(3, { timeoutMs: 60_000 })).slice(2);
    expect(sha256(c!.body)).toBe(sha256(big));
    expect(c!.headers["x-hookly-webhook-id"]).toBe(copyId);
  }, 120_000);

  it("a hub holding at most 2 MiB of streamed bodies still relays 30 MiB bodies to two destinations at once, bit for bit, and small ones between", async () => {
    const e = await edge();
    // A LAN service that reads slowly (a pause after every part): slower than the stream, so the hub's budget fills.
    const got: { url: string; id: string; sha: string }[] = [];
    const slow = createServer((req, res) => {
      const hash = createHash("sha256");
      req.on("data", (c: Buffer) => {
        hash.update(c);
        req.pause();
        setTimeout(() => req.resume(), 2);
      });
      req.on("end", () => {
        got.push({ url: req.url ?? "", id: String(req.headers["x-hookly-webhook-id"]), sha: hash.digest("hex") });
        res.end("ok");
      });
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => slow.close(() => r(undefined))));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const a = await createEndpoint(e.url, `${url}/a`, { name: "a" });
    const b = await createEndpoint(e.url, `${url}/b`, { name: "b" });
    const bodies = [randomBytes(30 * MiB), randomBytes(30 * MiB)];
    await postWebhook(a.ingestUrl, bodies[0]!);
    await postWebhook(b.ingestUrl, bodies[1]!);
    const small = await postWebhook(a.ingestUrl, "{}");
    const h = await hub(e.url, { HUB_MAX_BODY_BYTES: String(2 * MiB) });
    await waitUntil(() => got.length >= 3, 60_000, "all three delivered");
    const at = (path: string) => got.filter((r) => r.url === path);
    expect(at("/a")[0]!.sha).toBe(sha256(bodies[0]!));
    expect(at("/b")[0]!.sha).toBe(sha256(bodies[1]!));
    expect(at("/a")[1]!.id).toBe(small);
    // The budget held: never more than the budget plus one 256 KiB part was held; the bodies came as the hub granted them.
    expect(h.state().bodyCredits).toBeGreaterThan(0);
    expect(h.state().bodyBytesHeldPeak).toBeLessThanOrEqual(2 * MiB + 256 * 1024);
  }, 90_000);

  it("a destination that stops reading a large body holds back only that body: the hub's other destinations keep receiving", async () => {
    const e = await edge();
    // A LAN service: /stuck takes the request's headers and then reads nothing until released; /fast answers at once.
    const fast: string[] = [];
    let stuckStarted = false;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let stuckSha: string | undefined;
    const target = createServer((req, res) => {
      if (req.url === "/stuck") {
        stuckStarted = true;
        req.pause();
        const hash = createHash("sha256");
        void released.then(() => {
          req.on("data", (c: Buffer) => hash.update(c));
          req.on("end", () => {
            stuckSha = hash.digest("hex");
            res.end("ok");
          });
          req.resume();
        });
        return;
      }
      req.resume();
      req.on("end", () => {
        fast.push(String(req.headers["x-hookly-webhook-id"]));
        res.end("ok");
      });
    });
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    cleanups.push(() => {
      release();
      target.closeAllConnections();
      return new Promise((r) => target.close(() => r(undefined)));
    });
    const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    const stuck = await createEndpoint(e.url, `${url}/stuck`, { name: "stuck" });
    const other = await createEndpoint(e.url, `${url}/fast`, { name: "fast" });
    const big = randomBytes(40 * MiB);
    await postWebhook(stuck.ingestUrl, big);
    // A 4 MiB budget: without a window per body, the stuck body alone fills it and the hub stops reading the stream.
    const h = await hub(e.url, { HUB_MAX_BODY_BYTES: String(4 * MiB), HUB_FORWARD_TIMEOUT_MS: "120000" });
    await waitUntil(() => stuckStarted, 30_000, "the stuck destination got its request");
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await postWebhook(other.ingestUrl, JSON.stringify({ i })));
    await waitUntil(() => fast.length >= ids.length, 30_000, "the other destination's webhooks, while the large body waits");
    expect(fast).toEqual(ids);
    expect(stuckSha, "the large body is still waiting").toBeUndefined();
    expect(h.state().bodyPauses, "the hub never had to stop reading the stream").toBe(0);
    expect(h.state().bodyBytesHeldPeak).toBeLessThanOrEqual(4 * MiB);

    release();
    await waitUntil(() => stuckSha, 60_000, "the large body, once its destination reads");
    expect(stuckSha).toBe(sha256(big));
    expect(h.state().bodyCredits).toBeGreaterThan(0);
  }, 120_000);

  it("deleting an endpoint deletes its payload files; partial uploads and files no row names go at start-up", async () => {
    const tmp = tempDir();
    cleanups.push(async () => tmp.remove());
    const databasePath = join(tmp.dir, "hookly.db");
    const dir = `${databasePath}-payloads`;
    let e = await startEdge({ databasePath });
    const keep = await createEndpoint(e.url, "http://127.0.0.1:9/keep", { name: "keep" });
    const drop = await createEndpoint(e.url, "http://127.0.0.1:9/drop", { name: "drop" });
    const kept = await postWebhook(keep.ingestUrl, randomBytes(2 * MiB));
    const dropped = await postWebhook(drop.ingestUrl, randomBytes(2 * MiB));
    expect(
      readdirSync(dir)
        .filter((n) => n.startsWith("wh_"))
        .sort(),
    ).toEqual([kept, dropped].sort());
    await adminClient(e.url).deleteEndpoint({ id: drop.id });
    expect(e.app.payloads.collect()).toBe(1);
    expect(existsSync(join(dir, dropped))).toBe(false);
    expect(existsSync(join(dir, kept))).toBe(true);
    await e.close();

    // What a crash leaves: a half-written upload, and a file whose row never committed.
    writeFileSync(join(dir, "tmp", "wh_halfwritten"), randomBytes(1000));
    writeFileSync(join(dir, "wh_norowforthis"), randomBytes(1000));
    writeFileSync(join(dir, "notes.txt"), "not ours");
    e = await startEdge({ databasePath });
    cleanups.push(() => e.close());
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual([kept, "notes.txt", "tmp"].sort());
    const detail = await e.api("GET", `/api/webhooks/${kept}`);
    expect(detail.body.webhook.payload_size).toBe(2 * MiB);
  });

  it("an upload cut off part-way leaves neither a file nor a row", async () => {
    const e = await edge();
    const ep = await createEndpoint(e.url, "http://127.0.0.1:9/x");
    const dir = `${e.app.config.databasePath}-payloads`;
    await new Promise<void>((resolve) => {
      const req = request(ep.ingestUrl, { method: "POST", headers: { "content-length": String(10 * MiB) } });
      req.on("error", () => resolve());
      req.write(randomBytes(3 * MiB), () => setTimeout(() => req.destroy(), 200));
    });
    await waitUntil(() => readdirSync(join(dir, "tmp")).length === 0, 5_000, "the partial upload deleted");
    expect(readdirSync(dir).filter((n) => n.startsWith("wh_"))).toEqual([]);
    expect((await adminClient(e.url).listWebhooks({})).webhooks).toHaveLength(0);
  });

  it("a payload file that went missing fails its delivery, and the queue moves on", async () => {
    const e = await edge();
    const t = await receiver();
    const ep = await createEndpoint(e.url, t.url);
    const lost = await postWebhook(ep.ingestUrl, randomBytes(2 * MiB));
    const next = await postWebhook(ep.ingestUrl, "{}");
    unlinkSync(join(`${e.app.config.databasePath}-payloads`, lost));
    await hub(e.url);
    const [r] = await t.waitFor(1, { timeoutMs: 10_000 });
    expect(r!.headers["x-hookly-webhook-id"]).toBe(next);
    const got = await adminClient(e.url).getWebhook({ id: lost });
    expect(got.webhook?.status).toBe(WebhookStatus.FAILED);
    expect(got.webhook?.errorMessage).toMatch(/payload file unreadable \(ENOENT\)/);
    expect(t.requests).toHaveLength(1);
    expect(got.webhook).toMatchObject({ payloadTruncated: true, payloadSize: BigInt(2 * MiB) });
    expect((await e.api("GET", `/api/webhooks/${lost}/payload`)).status).toBe(404);
  });
});
