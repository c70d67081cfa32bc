/**
 * Edges of the delivery contract: a store that cannot write answers 503 (never
 * a 2xx for a webhook not on disk), retention purges settled webhooks, and a
 * hub that refuses a destination fails the webhook permanently.
 */
import { WebhookStatus } from "@hookly/proto/gen/admin_pb";
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import { TestClock, adminClient, createEndpoint, postWebhook, waitUntil } from "../harness.js";

const scope = useCleanups();

describe("delivery contract edges", () => {
  it("answers 503 (and stores nothing) while the database refuses writes, 202 again afterwards", async () => {
    const edge = await scope.edge();
    const ep = await createEndpoint(edge.url, "http://127.0.0.1:9/");
    edge.app.db.pragma("query_only = ON"); // as a full or read-only disk would
    const res = await fetch(ep.ingestUrl, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: "unavailable" } });
    expect(res.headers.get("retry-after")).toBe("5");
    edge.app.db.pragma("query_only = OFF");
    expect((await adminClient(edge.url).listWebhooks({ endpointId: ep.id })).webhooks).toHaveLength(0);
    // note: ingest is refused without trying until the storage probe (every second) finds the disk writable.
    await waitUntil(() => edge.app.storage.ingestRefusal() === undefined, 5_000, "ingest admitted again");
    await postWebhook(ep.ingestUrl, "{}");
    expect((await adminClient(edge.url).listWebhooks({ endpointId: ep.id })).webhooks).toHaveLength(1);
  });

  it("answers 404 for an unknown endpoint and 413 over MAX_PAYLOAD_BYTES", async () => {
    const edge = await scope.edge({ env: { MAX_PAYLOAD_BYTES: "1024" } });
    const ep = await createEndpoint(edge.url, "http://127.0.0.1:9/");
    const unknown = await fetch(`${edge.url}/h/ep_doesnotexist0000000000`, { method: "POST", body: "{}" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "not_found" } });
    const big = await fetch(ep.ingestUrl, { method: "POST", body: "x".repeat(2048) });
    expect(big.status).toBe(413);
    expect((await adminClient(edge.url).listWebhooks({ endpointId: ep.id })).webhooks).toHaveLength(0);
  });

  it("purges delivered webhooks after the retention period (injected clock)", async () => {
    const clock = new TestClock();
    const edge = await scope.edge({ clock, env: { RETENTION_DAYS: "7" } });
    const target = await scope.receiver();
    const ep = await createEndpoint(edge.url, target.url);
    await scope.hub(edge.url);
    const id = await postWebhook(ep.ingestUrl, "{}");
    const admin = adminClient(edge.url);
    await waitUntil(async () => (await admin.getWebhook({ id })).webhook?.status === WebhookStatus.DELIVERED, 5_000, "delivered");
    clock.advance(6 * 86_400_000);
    edge.app.relay.tick();
    expect((await admin.getWebhook({ id })).webhook?.id).toBe(id);
    clock.advance(86_400_000 + 60_000);
    edge.app.relay.tick();
    await expect(admin.getWebhook({ id })).rejects.toThrow(/not found/);
  });

  it("holds a destination the hub's HUB_ALLOWED_DESTINATIONS refuses (no webhook fails) and delivers it in order once the hub allows it", async () => {
    const edge = await scope.edge();
    const target = await scope.receiver();
    const other = await scope.receiver();
    const port = new URL(target.url).port;
    // note: the hub's patterns match the URL's host as written: "localhost" is not "127.0.0.1".
    const refused = await createEndpoint(edge.url, `http://localhost:${port}/held`);
    const allowed = await createEndpoint(edge.url, other.url);
    const hub = await scope.hub(edge.url, { HUB_ALLOWED_DESTINATIONS: "127.0.0.1" });
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push(await postWebhook(refused.ingestUrl, JSON.stringify({ n })));
    await postWebhook(allowed.ingestUrl, "{}");
    await other.waitFor(1);
    const admin = adminClient(edge.url);
    const held = await waitUntil(
      async () => {
        const { endpoint } = await admin.getEndpoint({ id: refused.id });
        return endpoint?.destinations[0]?.held ? endpoint : undefined;
      },
      5_000,
      "destination held",
    );
    expect(held.destinations[0]!.heldError).toContain("HUB_ALLOWED_DESTINATIONS");
    const head = await admin.getWebhook({ id: ids[0]! });
    expect(head.webhook?.status).toBe(WebhookStatus.PENDING);
    expect(head.attempts[0]?.outcome).toBe("destination_not_allowed");
    for (const id of ids.slice(1)) {
      const w = await admin.getWebhook({ id });
      expect(w.webhook?.status, "nothing behind the head is tried or failed").toBe(WebhookStatus.PENDING);
      expect(w.attempts).toHaveLength(0);
    }
    // The operator fixes the allowlist and restarts the hub: the queue flows at once, in order.
    await hub.stop();
    await scope.hub(edge.url, { HUB_ALLOWED_DESTINATIONS: "127.0.0.1,localhost" });
    const got = await target.waitFor(3, { timeoutMs: 10_000 });
    expect(got.map((r) => (JSON.parse(r.body.toString()) as { n: number }).n)).toEqual([0, 1, 2]);
    await waitUntil(async () => (await admin.getEndpoint({ id: refused.id })).endpoint?.destinations[0]?.held === false, 5_000, "held cleared");
  });
});
