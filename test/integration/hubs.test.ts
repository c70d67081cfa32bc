/**
 * Many hubs, each with its own credential, and several destinations per
 * endpoint: real edges and hubs (in-process, and as child processes for
 * SIGKILL), recording LAN targets, assertions on what arrives where.
 */
import { DeliveryStatus, ProviderType, WebhookStatus } from "@hookly/proto/gen/admin_pb";
import Database from "better-sqlite3";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import type { ReceivedRequest } from "../fakes/receiver.js";
import {
  ROOT,
  adminClient,
  childHubEnv,
  createEndpoint,
  createHubCredentials,
  firstArrivals,
  postWebhook,
  registeredHubEnv,
  spawnApp,
  tempDir,
  waitUntil,
  webhookIdOf,
} from "../harness.js";

const { receiver, edge, hub, track, cleanups } = useCleanups();

const nOf = (r: ReceivedRequest): number => (JSON.parse(r.body.toString()) as { n: number }).n;
const allowOnly = (url: string) => new URL(url).host;

/** An endpoint with one destination per [hub, url], in that order. */
async function fanOutEndpoint(
  baseUrl: string,
  destinations: { hubId: string; url: string; name?: string; eventTypes?: string[] }[],
  providerType = ProviderType.GENERIC,
) {
  const { endpoint } = await adminClient(baseUrl).createEndpoint({
    name: "fan-out",
    providerType,
    destinations: destinations.map((d) => ({
      hubId: d.hubId,
      url: d.url,
      name: d.name ?? "",
      filter: d.eventTypes ? { eventTypes: d.eventTypes } : undefined,
    })),
  });
  return { id: endpoint!.id, ingestUrl: `${baseUrl}/h/${endpoint!.id}`, destinationIds: endpoint!.destinations.map((d) => d.id) };
}

describe("many hubs", () => {
  it("two hubs with different allowlists each receive only their own destinations' webhooks, in order", async () => {
    const e = await edge();
    const [ta, tb, tc] = [await receiver(), await receiver(), await receiver()];
    const a = await createHubCredentials(e.url, "home");
    const b = await createHubCredentials(e.url, "office");
    const both = await fanOutEndpoint(e.url, [
      { hubId: a.hubId, url: `${ta.url}/a` },
      { hubId: b.hubId, url: `${tb.url}/b` },
    ]);
    const onlyB = await createEndpoint(e.url, `${tc.url}/c`, { name: "office only" });
    await adminClient(e.url).updateDestination({ id: (await adminClient(e.url).getEndpoint({ id: onlyB.id })).endpoint!.destinations[0]!.id, hubId: b.hubId });
    await hub(e.url, registeredHubEnv(a, { HUB_ALLOWED_DESTINATIONS: allowOnly(ta.url) }));
    await hub(e.url, registeredHubEnv(b, { HUB_ALLOWED_DESTINATIONS: `${allowOnly(tb.url)},${allowOnly(tc.url)}` }));
    await waitUntil(async () => (await adminClient(e.url).listHubs({})).hubs.filter((h) => h.connected).length === 2, 10_000, "both hubs connected");

    const N = 30;
    for (let n = 0; n < N; n++) {
      await postWebhook(both.ingestUrl, JSON.stringify({ n }));
      await postWebhook(onlyB.ingestUrl, JSON.stringify({ n }));
    }
    for (const t of [ta, tb, tc]) await t.waitFor(N, { timeoutMs: 10_000 });
    for (const t of [ta, tb, tc]) expect(t.requests.map(nOf)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(new Set(ta.requests.map((r) => r.headers["x-hookly-destination"]))).toEqual(new Set([both.destinationIds[0]]));
    expect(new Set(tb.requests.map((r) => r.headers["x-hookly-destination"]))).toEqual(new Set([both.destinationIds[1]]));
    // Nothing was refused by an allowlist: no hub ever got a delivery that was not routed to it.
    // note: a target may have answered before the edge recorded the result.
    const page = await waitUntil(
      async () => {
        const p = await adminClient(e.url).listWebhooks({ limit: 500 });
        return p.webhooks.every((w) => w.status === WebhookStatus.DELIVERED) ? p : undefined;
      },
      5_000,
      "every webhook delivered to both hubs",
    );
    for (const w of page.webhooks.slice(0, 10)) {
      const got = await adminClient(e.url).getWebhook({ id: w.id });
      expect(got.attempts.map((x) => x.outcome)).not.toContain("destination_not_allowed");
    }
    const status = await adminClient(e.url).getStatus({});
    expect(status.hubs.find((h) => h.id === a.hubId)).toMatchObject({ name: "home", connected: true, queueDepth: 0n, destinations: 1 });
    expect(status.hubs.find((h) => h.id === b.hubId)).toMatchObject({ name: "office", connected: true, destinations: 2 });
  });

  it("SIGKILL of one hub holds only its destinations; the other keeps flowing; after a restart everything arrives in order", async () => {
    const e = await edge({ env: { HUB_HEARTBEAT_MS: "500", HUB_DEAD_AFTER_MS: "2000" } });
    const [ta, tb] = [await receiver(), await receiver()];
    const a = await createHubCredentials(e.url, "a");
    const b = await createHubCredentials(e.url, "b");
    const ep = await fanOutEndpoint(e.url, [
      { hubId: a.hubId, url: ta.url },
      { hubId: b.hubId, url: tb.url },
    ]);
    const port = e.port;
    const hubA = () => track(spawnApp("hub", { ...childHubEnv(port, "ignored"), ...registeredHubEnv(a) }));
    let procA = hubA();
    await hub(e.url, registeredHubEnv(b));
    await procA.waitForLog(/connected to edge/);
    const N = 60;
    const ids: string[] = [];
    for (let n = 0; n < N; n++) {
      ids.push(await postWebhook(ep.ingestUrl, JSON.stringify({ n })));
      if (n === 20) await procA.kill("SIGKILL");
    }
    // b's destination is not held up by the dead hub.
    await tb.waitFor(N, { timeoutMs: 10_000 });
    expect(tb.requests.map(nOf)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(firstArrivals(ta.requests).length).toBeLessThan(N);
    const status = await adminClient(e.url).getStatus({});
    expect(status.hubs.find((h) => h.id === a.hubId)?.queueDepth).toBeGreaterThan(0n);

    procA = hubA();
    await waitUntil(() => firstArrivals(ta.requests).length === N, 15_000, "hub a catches up");
    expect(firstArrivals(ta.requests)).toEqual(ids);
    // Redeliveries after the kill are only of what was in flight, each after its predecessor.
    const seen = ta.requests.map(nOf);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!, `went backwards: ${seen.join(",")}`).toBeGreaterThanOrEqual(seen[i - 1]! - 128);
    await waitUntil(async () => (await adminClient(e.url).listWebhooks({ status: WebhookStatus.PENDING })).webhooks.length === 0, 5_000, "all settled");
  });

  it("a second process with the same hub credential never takes deliveries away or fails them", async () => {
    const e = await edge();
    const good = await receiver();
    const a = await createHubCredentials(e.url, "home");
    const ep = await createEndpoint(e.url, good.url);
    await adminClient(e.url).updateDestination({ id: (await adminClient(e.url).getEndpoint({ id: ep.id })).endpoint!.destinations[0]!.id, hubId: a.hubId });
    const first = await hub(e.url, registeredHubEnv(a, { HUB_ALLOWED_DESTINATIONS: allowOnly(good.url) }));
    await waitUntil(() => first.state().connected, 10_000, "first hub connected");
    // An old container someone forgot: same credential, an allowlist that refuses everything here.
    const stale = await hub(e.url, registeredHubEnv(a, { HUB_ALLOWED_DESTINATIONS: "10.9.9.9" }));
    await waitUntil(() => stale.state().reconnects >= 2, 10_000, "second process refused a few times");
    expect(stale.state().connected).toBe(false);
    expect(stale.state().lastError).toMatch(/already connected from another process/);
    const N = 40;
    for (let n = 0; n < N; n++) await postWebhook(ep.ingestUrl, JSON.stringify({ n }));
    await good.waitFor(N, { timeoutMs: 10_000 });
    expect(good.requests.map(nOf)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(first.state().connected).toBe(true);
    await waitUntil(
      async () => {
        const p = await adminClient(e.url).listWebhooks({ endpointId: ep.id, limit: 100 });
        return p.webhooks.every((w) => w.status === WebhookStatus.DELIVERED);
      },
      5_000,
      "every webhook delivered, none failed",
    );
  });

  it("revoking a connected hub closes its stream within a second, holds its deliveries and refuses its next open", async () => {
    const e = await edge();
    const t = await receiver();
    const a = await createHubCredentials(e.url, "laptop");
    const ep = await createEndpoint(e.url, t.url);
    await adminClient(e.url).updateDestination({ id: (await adminClient(e.url).getEndpoint({ id: ep.id })).endpoint!.destinations[0]!.id, hubId: a.hubId });
    const h = await hub(e.url, registeredHubEnv(a));
    await waitUntil(() => h.state().connected, 10_000, "hub connected");
    await postWebhook(ep.ingestUrl, JSON.stringify({ n: 0 }));
    await t.waitFor(1);

    const { hub: revoked } = await adminClient(e.url).revokeHub({ id: a.hubId });
    expect(revoked?.revoked).toBe(true);
    await waitUntil(() => !h.state().connected, 1_000, "stream closed within a second");
    const held = await postWebhook(ep.ingestUrl, JSON.stringify({ n: 1 }));
    await waitUntil(() => h.state().lastError?.includes("revoked"), 10_000, "next open refused as revoked");
    expect(h.state().connected).toBe(false);
    expect((await adminClient(e.url).getWebhook({ id: held })).webhook?.status).toBe(WebhookStatus.PENDING);
    expect(t.requests).toHaveLength(1);
    // The secret is gone from the registry: a revoked hub cannot be rotated back to life.
    await expect(adminClient(e.url).rotateHubCredential({ id: a.hubId })).rejects.toThrow(/revoked/);
  });

  it("rotation needs no downtime: old and new credentials both open until the old one is retired", async () => {
    const e = await edge();
    const t = await receiver();
    const a = await createHubCredentials(e.url, "home");
    const ep = await createEndpoint(e.url, t.url);
    await adminClient(e.url).updateDestination({ id: (await adminClient(e.url).getEndpoint({ id: ep.id })).endpoint!.destinations[0]!.id, hubId: a.hubId });
    const old = await hub(e.url, registeredHubEnv(a));
    await waitUntil(() => old.state().connected, 10_000, "old credential connected");
    const { credential } = await adminClient(e.url).rotateHubCredential({ id: a.hubId });
    expect(credential?.env).toContain(`HUB_SECRET=${credential?.secret}`);
    expect(credential?.hub?.previousCredentialValid).toBe(true);
    await postWebhook(ep.ingestUrl, JSON.stringify({ n: 0 }));
    await t.waitFor(1);
    // The home side switches over: the old process stops, the new one starts with the new secret.
    await old.stop();
    const fresh = await hub(e.url, registeredHubEnv({ hubId: a.hubId, secret: credential!.secret }));
    await waitUntil(() => fresh.state().connected, 10_000, "new credential connected");
    await postWebhook(ep.ingestUrl, JSON.stringify({ n: 1 }));
    await t.waitFor(2);
    await adminClient(e.url).retireHubCredential({ id: a.hubId });
    await fresh.stop();
    const stale = await hub(e.url, registeredHubEnv(a));
    await waitUntil(() => stale.state().lastError?.includes("signature does not match"), 10_000, "old credential refused after retire");
    expect(t.requests.map(nOf)).toEqual([0, 1]);
  });
});

describe("fan-out", () => {
  it("a destination answering 503 for a while never delays the other; it catches up in order", async () => {
    const e = await edge();
    const [ok, flaky] = [await receiver(), await receiver()];
    const failUntil = Date.now() + 2_000;
    flaky.respondWith(() => (Date.now() < failUntil ? 503 : 200));
    const ep = await fanOutEndpoint(e.url, [
      { hubId: "hub_bootstrap", url: flaky.url, name: "flaky" },
      { hubId: "hub_bootstrap", url: ok.url, name: "ok" },
    ]);
    await hub(e.url);
    const N = 25;
    const ids: string[] = [];
    for (let n = 0; n < N; n++) ids.push(await postWebhook(ep.ingestUrl, JSON.stringify({ n })));
    await ok.waitFor(N, { timeoutMs: 5_000 });
    expect(Date.now(), "the healthy destination got everything while the other still failed").toBeLessThan(failUntil);
    expect(ok.requests.map(nOf)).toEqual(Array.from({ length: N }, (_, i) => i));
    const mid = await waitUntil(
      async () => {
        const w = await adminClient(e.url).getWebhook({ id: ids[0]! });
        return w.webhook?.deliveries[1]?.status === DeliveryStatus.DELIVERED ? w : undefined;
      },
      5_000,
      "the healthy destination's result recorded",
    );
    expect(mid.webhook?.status).toBe(WebhookStatus.PENDING);
    expect(mid.webhook?.deliveries.map((d) => d.status)).toEqual([DeliveryStatus.PENDING, DeliveryStatus.DELIVERED]);

    await waitUntil(() => firstArrivals(flaky.requests.filter((r) => r.at >= failUntil)).length === N, 15_000, "flaky catches up");
    const after = flaky.requests.filter((r) => r.at >= failUntil);
    expect(firstArrivals(after)).toEqual(ids);
    await waitUntil(
      async () => (await adminClient(e.url).getWebhook({ id: ids[N - 1]! })).webhook?.status === WebhookStatus.DELIVERED,
      5_000,
      "aggregate delivered",
    );
    const done = await adminClient(e.url).getWebhook({ id: ids[0]! });
    expect(done.webhook?.status).toBe(WebhookStatus.DELIVERED);
    expect(new Set(done.attempts.map((a) => a.destinationId))).toEqual(new Set(ep.destinationIds));
    // Replay to one destination only.
    const { webhook: copy } = await adminClient(e.url).replayWebhook({ id: ids[0]!, destinationId: ep.destinationIds[1]! });
    await ok.waitFor(N + 1);
    expect(webhookIdOf(ok.requests.at(-1)!)).toBe(copy!.id);
    const copyDetail = await adminClient(e.url).getWebhook({ id: copy!.id });
    expect(copyDetail.webhook?.deliveries.map((d) => d.destinationId)).toEqual([ep.destinationIds[1]]);
  });

  it("a filter that keeps only push events records the others as filtered", async () => {
    const e = await edge();
    const [ci, all] = [await receiver(), await receiver()];
    const secret = "gh-filter-secret";
    const ep = await fanOutEndpoint(
      e.url,
      [
        { hubId: "hub_bootstrap", url: ci.url, name: "ci", eventTypes: ["push"] },
        { hubId: "hub_bootstrap", url: all.url, name: "notifier" },
      ],
      ProviderType.GITHUB,
    );
    await adminClient(e.url).updateEndpoint({ id: ep.id, signatureSecret: secret });
    await hub(e.url);
    const send = (event: string, body: object) => {
      const raw = JSON.stringify(body);
      return postWebhook(ep.ingestUrl, raw, {
        "content-type": "application/json",
        "x-github-event": event,
        "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`,
      });
    };
    const push = await send("push", { ref: "refs/heads/main" });
    const issue = await send("issues", { action: "opened", issue: { number: 1 } });
    await all.waitFor(2);
    await ci.waitFor(1);
    expect(ci.requests.map((r) => r.headers["x-github-event"])).toEqual(["push"]);
    expect(all.requests.map((r) => r.headers["x-hookly-event-type"])).toEqual(["push", "issues.opened"]);
    // note: the target may have answered before the edge recorded the result.
    const got = await waitUntil(
      async () => {
        const w = await adminClient(e.url).getWebhook({ id: issue });
        return w.webhook?.status === WebhookStatus.DELIVERED ? w : undefined;
      },
      5_000,
      "issues webhook delivered to the notifier",
    );
    expect(got.webhook?.eventType).toBe("issues.opened");
    expect(got.webhook?.deliveries.map((d) => [d.destinationName, d.status])).toEqual([
      ["ci", DeliveryStatus.FILTERED],
      ["notifier", DeliveryStatus.DELIVERED],
    ]);
    expect(got.webhook?.deliveries[0]?.errorMessage).toMatch(/filtered: event type issues.opened/);
    expect(got.webhook?.status).toBe(WebhookStatus.DELIVERED);
    expect((await adminClient(e.url).listWebhooks({ endpointId: ep.id, eventType: "push" })).webhooks.map((w) => w.id)).toEqual([push]);
  });
});

describe("migration", () => {
  it("upgrades a database made by release 0.1.0 and delivers what was pending in it, in order", async () => {
    const tmp = tempDir();
    cleanups.push(async () => tmp.remove());
    const db = join(tmp.dir, "hookly.db");
    copyFileSync(join(ROOT, "test", "fixtures", "v0.1.0.db"), db);
    const e = await edge({ databasePath: db });
    const admin = adminClient(e.url);
    const { endpoints } = await admin.listEndpoints({});
    expect(endpoints.map((x) => x.name)).toEqual(["alpha", "billing"]);
    for (const x of endpoints) {
      expect(x.destinations).toHaveLength(1);
      expect(x.destinations[0]!.hubId).toBe("hub_bootstrap");
      expect(x.destinationUrl).toBe(x.destinations[0]!.url);
    }
    expect(endpoints[1]!.hasSignatureSecret).toBe(true);
    const before = await admin.listWebhooks({ limit: 100 });
    expect(before.webhooks.map((w) => w.status).reverse()).toEqual([
      WebhookStatus.DELIVERED,
      WebhookStatus.FAILED,
      WebhookStatus.DELIVERED,
      WebhookStatus.PENDING,
      WebhookStatus.PENDING,
      WebhookStatus.PENDING,
    ]);
    expect(before.webhooks.map((w) => w.eventType).reverse()).toEqual(["", "", "invoice.paid", "invoice.created", "", "customer.created"]);
    const retried = before.webhooks[2]!;
    const detail = await admin.getWebhook({ id: retried.id });
    expect(detail.attempts).toHaveLength(2);
    expect(detail.attempts.every((a) => a.destinationId === endpoints[1]!.destinations[0]!.id)).toBe(true);

    // The LAN service moved (the fixture's receiver is gone): point both destinations at a new one.
    const t = await receiver();
    for (const x of endpoints) await admin.updateEndpoint({ id: x.id, destinationUrl: `${t.url}/${x.name}` });
    await hub(e.url);
    await t.waitFor(3, { timeoutMs: 10_000 });
    const pendingIds = before.webhooks
      .filter((w) => w.status === WebhookStatus.PENDING)
      .map((w) => w.id)
      .reverse();
    const byPath = (p: string) => t.requests.filter((r) => r.url.startsWith(`/${p}`)).map(webhookIdOf);
    expect(byPath("alpha")).toEqual([pendingIds[1]]);
    expect(byPath("billing")).toEqual([pendingIds[0], pendingIds[2]]);
    await waitUntil(async () => (await admin.listWebhooks({ status: WebhookStatus.PENDING })).webhooks.length === 0, 5_000, "all settled");
  });

  it("moves a body over 1 MiB that release 0.1.0 kept in its row into a payload file, and delivers it bit for bit", async () => {
    const tmp = tempDir();
    cleanups.push(async () => tmp.remove());
    const dbPath = join(tmp.dir, "hookly.db");
    copyFileSync(join(ROOT, "test", "fixtures", "v0.1.0.db"), dbPath);
    // As 0.1.0 stored a 5 MiB webhook: the whole body in webhook_body.payload (the fixture's pending webhook 5, alpha's).
    const big = randomBytes(5 * 1024 * 1024);
    const old = new Database(dbPath);
    old.prepare(`UPDATE webhook_body SET payload = ? WHERE webhook_seq = 5`).run(big);
    old.prepare(`UPDATE webhook SET payload_size = ? WHERE seq = 5`).run(big.length);
    const id = (old.prepare(`SELECT id FROM webhook WHERE seq = 5`).get() as { id: string }).id;
    old.close();

    const e = await edge({ databasePath: dbPath });
    const file = join(`${dbPath}-payloads`, id);
    await waitUntil(() => existsSync(file), 10_000, "the body moved into a payload file");
    expect(readFileSync(file).equals(big)).toBe(true);
    const row = e.app.db.prepare(`SELECT payload_file AS file, length(payload) AS inline FROM webhook_body WHERE webhook_seq = 5`).get();
    expect(row).toEqual({ file: id, inline: 0 });
    const detail = await adminClient(e.url).getWebhook({ id });
    expect(detail.webhook).toMatchObject({
      payloadSize: BigInt(big.length),
      payloadTruncated: true,
      payloadSha256: createHash("sha256").update(big).digest("hex"),
    });

    const t = await receiver();
    const { endpoints } = await adminClient(e.url).listEndpoints({});
    for (const x of endpoints) await adminClient(e.url).updateEndpoint({ id: x.id, destinationUrl: `${t.url}/${x.name}` });
    await hub(e.url);
    await waitUntil(() => t.requests.some((r) => webhookIdOf(r) === id), 20_000, "the large body delivered");
    expect(t.requests.find((r) => webhookIdOf(r) === id)!.body.equals(big)).toBe(true);
  });
});
