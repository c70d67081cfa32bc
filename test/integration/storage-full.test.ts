/**
 * A full disk, a disk below the free-space floor, a database locked past the
 * busy timeout, and a start on a full disk (issue #15). Each runs webhooks at
 * a steady rate with a hub connected and asserts what a provider and the LAN
 * service see: 2xx only for what is on disk, 503 with Retry-After while
 * storage refuses, /readyz not ready with the reason, one Telegram alert per
 * outage, recovery without a restart, and every 2xx'd webhook delivered in
 * order (duplicates only for what was in flight).
 *
 * The disk is a real tmpfs of a few MB when the tests run as root (as CI
 * does); otherwise the full-disk case makes SQLite hit SQLITE_FULL for real
 * through `PRAGMA max_page_count` on the edge's own connection, and the cases
 * that need a real filesystem are skipped with the reason.
 */
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { copyFileSync, readdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { notifyExtension } from "../../apps/edge/src/notify/notify.extension.js";
import { useCleanups } from "../cleanup.js";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram.js";
import type { Receiver } from "../fakes/receiver.js";
import { ROOT, adminClient, childEdgeEnv, createEndpoint, freePort, spawnApp, startEdge, tempDir, waitUntil, webhookIdOf, type TestEdge } from "../harness.js";
import { canMount, mountSmallDisk, type SmallDisk } from "../small-disk.js";

const { cleanups, receiver, hub, track } = useCleanups();

const BOT_TOKEN = "123456:storage-test-token";
const WINDOW = 16;

/** A disk for one test (removed after it), or undefined when mounting is not possible. */
function disk(sizeMb: number): SmallDisk | undefined {
  const d = mountSmallDisk(sizeMb);
  // note: unshifted, so it runs after the edges using it have closed.
  if (d) cleanups.unshift(async () => d.remove());
  return d;
}

/** An in-process edge on `dir` with Telegram alerts going to `tg`. */
async function edgeOn(dir: string, tg: FakeTelegram, env: Record<string, string> = {}): Promise<TestEdge> {
  const e = await startEdge({
    databasePath: join(dir, "hookly.db"),
    env: {
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_CHAT_ID: "42",
      TELEGRAM_API_ROOT: tg.url,
      ALERT_GROUP_WINDOW_MS: "0",
      DISPATCH_WINDOW: String(WINDOW),
      ...env,
    },
    extensions: [notifyExtension({ pollIntervalMs: 100, retryInitialMs: 100, retryMaxMs: 500 })],
  });
  cleanups.push(() => e.close());
  return e;
}

/** An edge on `dir` with a recording target behind an endpoint, and a hub connected to it. */
async function relaying(dir: string, tg: FakeTelegram, env: Record<string, string>) {
  const e = await edgeOn(dir, tg, env);
  const t = await receiver();
  const ep = await createEndpoint(e.url, t.url);
  const h = await hub(e.url);
  await waitUntil(() => h.state().connected, 10_000, "hub connected");
  return { e, t, ep, h };
}

async function telegram(): Promise<FakeTelegram> {
  const tg = await startFakeTelegram(BOT_TOKEN);
  cleanups.push(() => tg.close());
  return tg;
}

/** What a provider saw while posting. */
interface Traffic {
  /** Ids answered 202, in the order they were answered (posts are sequential). */
  accepted: string[];
  /** 503 answers, with their Retry-After. */
  refused: { retryAfter: string | null; message: string }[];
  /** Anything else (connection errors, 500s): must stay empty. */
  other: string[];
}

/**
 * Posts one webhook every `everyMs` (sequentially) until `until()` holds or
 * `maxMs` passed; returns what the provider saw.
 */
async function steady(url: string, t: Traffic, opts: { until: () => boolean | Promise<boolean>; maxMs: number; everyMs?: number }): Promise<void> {
  const deadline = Date.now() + opts.maxMs;
  let n = t.accepted.length + t.refused.length + t.other.length;
  while (Date.now() < deadline) {
    if (await opts.until()) return;
    const started = Date.now();
    try {
      const res = await fetch(url, { method: "POST", body: JSON.stringify({ n: n++ }), headers: { "content-type": "application/json" } });
      const body = (await res.json()) as { id?: string; error?: { message: string } };
      if (res.status === 202) t.accepted.push(body.id!);
      else if (res.status === 503) t.refused.push({ retryAfter: res.headers.get("retry-after"), message: body.error?.message ?? "" });
      else t.other.push(`${res.status} ${JSON.stringify(body)}`);
    } catch (err) {
      t.other.push(String(err));
    }
    await new Promise((r) => setTimeout(r, Math.max(0, (opts.everyMs ?? 10) - (Date.now() - started))));
  }
  throw new Error(`steady traffic: condition not met within ${opts.maxMs} ms (${t.accepted.length} accepted, ${t.refused.length} refused)`);
}

const readyz = async (url: string) => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as { reason?: string } };
};

/** Every accepted id arrived; first arrivals in acceptance order; duplicates at most `maxDuplicates`. */
async function expectAllDeliveredInOrder(t: Receiver, accepted: string[], maxDuplicates: number): Promise<void> {
  const wanted = new Set(accepted);
  await waitUntil(() => new Set(t.requests.map(webhookIdOf).filter((id) => wanted.has(id))).size === wanted.size, 60_000, "every accepted webhook delivered");
  const ids = t.requests.map(webhookIdOf);
  expect(ids.filter((id) => !wanted.has(id))).toEqual([]);
  const seen = new Set<string>();
  const first = ids.filter((id) => !seen.has(id) && seen.add(id));
  expect(first).toEqual(accepted);
  expect(ids.length - first.length).toBeLessThanOrEqual(maxDuplicates);
}

const storageAlerts = (tg: FakeTelegram, pattern: RegExp) => tg.messages.filter((m) => pattern.test(m.text));

describe("storage faults on a real filesystem", () => {
  it(`a disk that fills up under steady traffic: 503s, not ready, one alert, recovery by itself, everything delivered in order${canMount ? "" : " (max_page_count: not root)"}`, async () => {
    const d = disk(48);
    const tmp = d ? undefined : tempDir();
    if (tmp) cleanups.push(async () => tmp.remove());
    const tg = await telegram();
    // note: the floor is off, so the disk really fills: this is what a floor set too low (or another process filling the disk) leads to.
    const { e, t, ep } = await relaying(d?.dir ?? tmp!.dir, tg, { MIN_FREE_DISK_MB: "0" });
    const traffic: Traffic = { accepted: [], refused: [], other: [] };
    const started = Date.now();
    await steady(ep.ingestUrl, traffic, { until: () => Date.now() - started > 1_000, maxMs: 5_000 });
    expect(traffic.accepted.length).toBeGreaterThan(20);

    // The disk fills up.
    if (d) d.fill(0);
    else e.app.db.pragma(`max_page_count = ${e.app.db.pragma("page_count", { simple: true }) as number}`);
    await steady(ep.ingestUrl, traffic, { until: () => traffic.refused.length >= 30, maxMs: 20_000 });
    const during = await readyz(e.url);
    expect(during.status).toBe(503);
    expect(during.body.reason).toMatch(/storage full|SQLITE_FULL/);
    expect(traffic.refused.every((r) => r.retryAfter !== null && Number(r.retryAfter) > 0)).toBe(true);
    // Reads keep working.
    const status = await adminClient(e.url).getStatus({});
    expect(status.storage?.healthy).toBe(false);
    expect((await adminClient(e.url).listWebhooks({ endpointId: ep.id, limit: 5 })).webhooks.length).toBe(5);
    await waitUntil(() => storageAlerts(tg, /storage/i).length >= 1, 10_000, "a storage alert");

    // Space comes back: ingest, dispatch and alerts resume by themselves.
    if (d) d.free();
    else e.app.db.pragma("max_page_count = 1073741823");
    const acceptedBefore = traffic.accepted.length;
    await steady(ep.ingestUrl, traffic, { until: () => traffic.accepted.length >= acceptedBefore + 20, maxMs: 20_000 });
    await waitUntil(async () => (await readyz(e.url)).status === 200, 15_000, "ready again");
    expect(traffic.other).toEqual([]);
    await expectAllDeliveredInOrder(t, traffic.accepted, WINDOW);
    await waitUntil(() => storageAlerts(tg, /recovered/i).length >= 1, 15_000, "a recovery alert");
    // One outage, one alert (and one recovery message).
    expect(storageAlerts(tg, /storage/i).filter((m) => !/recovered/i.test(m.text))).toHaveLength(1);
    expect((await adminClient(e.url).getStatus({})).storage?.healthy).toBe(true);
  });

  it.skipIf(!canMount)("a large body the disk cannot take: 503 with Retry-After mid-upload, no file or row left, and the next one stored", async () => {
    const d = disk(24)!;
    const tg = await telegram();
    const e = await edgeOn(d.dir, tg, { MIN_FREE_DISK_MB: "0" });
    const t = await receiver();
    const ep = await createEndpoint(e.url, t.url);
    const payloads = join(d.dir, "hookly.db-payloads");
    // 40 MiB into a 24 MB disk: the payload file runs out of room part-way (ENOSPC), after the 202 could not be promised.
    const big = randomBytes(40 * 1024 * 1024);
    const answer = await new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
      const req = request(ep.ingestUrl, { method: "POST", headers: { "content-length": String(big.length), "content-type": "application/octet-stream" } });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"], body }));
      });
      // note: the edge answers before the upload is over and may close the socket under it.
      req.on("error", (err) => setTimeout(() => reject(err), 2_000));
      req.end(big);
    });
    expect(answer.status).toBe(503);
    expect(Number(answer.retryAfter)).toBeGreaterThan(0);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "unavailable" } });
    // Nothing half-stored: no upload left in tmp/, no payload file, no row; the space is free again.
    // note: the 503 may go out a moment before the abandoned upload's file is unlinked.
    await waitUntil(() => readdirSync(join(payloads, "tmp")).length === 0, 5_000, "the abandoned upload removed");
    expect(readdirSync(payloads).filter((n) => n.startsWith("wh_"))).toEqual([]);
    expect((await adminClient(e.url).listWebhooks({ endpointId: ep.id })).webhooks).toEqual([]);
    expect(d.freeBytes()).toBeGreaterThan(16 * 1024 * 1024);
    await waitUntil(() => storageAlerts(tg, /storage/i).length >= 1, 10_000, "a storage alert");

    // The refusal lifts by itself once the probe finds the disk writable; a body that fits is stored and delivered.
    const fits = randomBytes(4 * 1024 * 1024);
    let id: string | undefined;
    await waitUntil(
      async () => {
        const res = await fetch(ep.ingestUrl, { method: "POST", body: fits });
        if (res.status === 202) id = ((await res.json()) as { id: string }).id;
        return id;
      },
      20_000,
      "ingest accepting again",
    );
    expect(readdirSync(payloads)).toContain(id);
    await hub(e.url);
    const [got] = await t.waitFor(1, { timeoutMs: 30_000 });
    expect(got!.body.equals(fits)).toBe(true);
  });

  it.skipIf(!canMount)("below MIN_FREE_DISK_MB: ingest is refused while the queue drains, and resumes when space returns", async () => {
    const d = disk(48)!;
    const tg = await telegram();
    const e = await edgeOn(d.dir, tg, { MIN_FREE_DISK_MB: "16" });
    const t = await receiver();
    t.respondWith(503);
    const ep = await createEndpoint(e.url, t.url);
    const h = await hub(e.url);
    await waitUntil(() => h.state().connected, 10_000, "hub connected");
    const traffic: Traffic = { accepted: [], refused: [], other: [] };
    await steady(ep.ingestUrl, traffic, { until: () => traffic.accepted.length >= 40, maxMs: 10_000 });

    // Another process fills the disk to just under the floor.
    d.fill(8 * 1_048_576);
    await steady(ep.ingestUrl, traffic, { until: () => traffic.refused.length >= 10, maxMs: 10_000 });
    expect(traffic.refused.at(-1)!.message).toMatch(/below the 16 MB floor \(MIN_FREE_DISK_MB\)/);
    const low = await readyz(e.url);
    expect(low.status).toBe(503);
    expect(low.body.reason).toMatch(/storage low: \d+ MB free/);
    const status = await adminClient(e.url).getStatus({});
    expect(Number(status.storage!.freeBytes)).toBeLessThan(16 * 1_048_576);
    expect(Number(status.storage!.minFreeBytes)).toBe(16 * 1_048_576);
    // The queue still drains: its bookkeeping has the room the floor kept.
    t.respondWith(200);
    await expectAllDeliveredInOrder(t, traffic.accepted.slice(), WINDOW + traffic.accepted.length);
    await waitUntil(
      async () => {
        const page = await adminClient(e.url).listWebhooks({ endpointId: ep.id, limit: 100 });
        return page.webhooks.every((w) => w.status === 2 /* DELIVERED */);
      },
      20_000,
      "every webhook recorded as delivered while space is low",
    );

    d.free();
    await waitUntil(async () => (await readyz(e.url)).status === 200, 10_000, "ready once space is back");
    const after: Traffic = { accepted: [], refused: [], other: [] };
    await steady(ep.ingestUrl, after, { until: () => after.accepted.length >= 5, maxMs: 10_000 });
    expect(after.refused).toEqual([]);
  });
});

describe("a database locked past the busy timeout", () => {
  it("refuses with 503 while another connection holds the write lock, then delivers everything in order", async () => {
    const tmp = tempDir();
    cleanups.push(async () => tmp.remove());
    const tg = await telegram();
    const { e, t, ep } = await relaying(tmp.dir, tg, { DATABASE_BUSY_TIMEOUT_MS: "200" });
    const traffic: Traffic = { accepted: [], refused: [], other: [] };
    const started = Date.now();
    await steady(ep.ingestUrl, traffic, { until: () => Date.now() - started > 500, maxMs: 5_000 });

    // A second connection (a backup script, a stray sqlite3 shell) takes the write lock and keeps it.
    const other = new Database(join(tmp.dir, "hookly.db"));
    cleanups.push(async () => other.close());
    other.exec("BEGIN EXCLUSIVE");
    await steady(ep.ingestUrl, traffic, { until: () => traffic.refused.length >= 5, maxMs: 20_000 });
    const locked = await readyz(e.url);
    expect(locked.status).toBe(503);
    expect(locked.body.reason).toMatch(/SQLITE_BUSY/);

    other.exec("ROLLBACK");
    const refusedBefore = traffic.refused.length;
    const acceptedBefore = traffic.accepted.length;
    await steady(ep.ingestUrl, traffic, { until: () => traffic.accepted.length >= acceptedBefore + 10, maxMs: 20_000 });
    expect(traffic.refused.length).toBeGreaterThanOrEqual(refusedBefore);
    expect(traffic.other).toEqual([]);
    await waitUntil(async () => (await readyz(e.url)).status === 200, 15_000, "ready again");
    await expectAllDeliveredInOrder(t, traffic.accepted, WINDOW);
    await waitUntil(() => storageAlerts(tg, /recovered/i).length >= 1, 15_000, "a recovery alert");
    expect(storageAlerts(tg, /storage/i).filter((m) => !/recovered/i.test(m.text))).toHaveLength(1);
  });
});

describe("start-up on a full disk", () => {
  it.skipIf(!canMount)("an edge started below the floor comes up degraded, serves reads, and takes webhooks once space returns", async () => {
    const d = disk(48)!;
    const tg = await telegram();
    const first = await startEdge({ databasePath: join(d.dir, "hookly.db") });
    const t = await receiver();
    const ep = await createEndpoint(first.url, t.url);
    await first.close();

    d.fill(4 * 1_048_576);
    const e = await edgeOn(d.dir, tg, { MIN_FREE_DISK_MB: "16" });
    const ready = await readyz(e.url);
    expect(ready.status).toBe(503);
    expect(ready.body.reason).toMatch(/storage low/);
    expect((await adminClient(e.url).listEndpoints({})).endpoints.map((x) => x.id)).toEqual([ep.id]);
    const refused = await fetch(`${e.url}/h/${ep.id}`, { method: "POST", body: "{}" });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBeTruthy();
    await waitUntil(() => storageAlerts(tg, /storage low/i).length >= 1, 10_000, "a storage alert at start");

    d.free();
    const h = await hub(e.url);
    await waitUntil(() => h.state().connected, 10_000, "hub connected");
    const traffic: Traffic = { accepted: [], refused: [], other: [] };
    await steady(`${e.url}/h/${ep.id}`, traffic, { until: () => traffic.accepted.length >= 10, maxMs: 15_000 });
    await expectAllDeliveredInOrder(t, traffic.accepted, WINDOW);
  });

  it.skipIf(!canMount)("an edge whose migration finds the disk full waits on its port, says why, and starts once space returns", async () => {
    const d = disk(4)!;
    copyFileSync(join(ROOT, "test", "fixtures", "v0.1.0.db"), join(d.dir, "hookly.db"));
    d.fill(0);
    const port = await freePort();
    const edge = track(spawnApp("edge", childEdgeEnv(join(d.dir, "hookly.db"), port)));
    const url = `http://127.0.0.1:${port}`;
    await edge.waitForLog(/waiting for storage/, 30_000);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const waiting = await readyz(url);
    expect(waiting.status).toBe(503);
    expect(waiting.body.reason).toMatch(/cannot be opened or migrated: storage refuses writes \(SQLITE_/);
    const ingest = await fetch(`${url}/h/ep_anything`, { method: "POST", body: "{}" });
    expect(ingest.status).toBe(503);
    expect(ingest.headers.get("retry-after")).toBe("5");
    expect(edge.child.exitCode).toBeNull();

    d.free();
    // note: the default floor (64 MB) must fit too, or the edge starts ready for reads only.
    d.resize(256);
    await edge.waitForLog(/edge listening/, 30_000);
    await waitUntil(async () => (await readyz(url).catch(() => ({ status: 0 }))).status === 200, 15_000, "ready after the migration");
    const { endpoints } = await adminClient(url).listEndpoints({});
    expect(endpoints.map((x) => x.name)).toEqual(["alpha", "billing"]);
  });
});
