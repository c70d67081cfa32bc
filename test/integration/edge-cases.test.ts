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
    edge.app.db.pragma("query_only = OFF");
    expect((await adminClient(edge.url).listWebhooks({ endpointId: ep.id })).webhooks).toHaveLength(0);
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
    const hub = await scope.hub(edge.url);
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

  it("fails a webhook permanently when the hub's HUB_ALLOWED_DESTINATIONS refuses it, and moves on", async () => {
    const edge = await scope.edge();
    const target = await scope.receiver();
    const refused = await createEndpoint(edge.url, "http://printer.home.lan:631/");
    const allowed = await createEndpoint(edge.url, target.url);
    const hub = await scope.hub(edge.url, { HUB_ALLOWED_DESTINATIONS: "127.0.0.1" });
    const id = await postWebhook(refused.ingestUrl, "{}");
    await postWebhook(allowed.ingestUrl, "{}");
    await target.waitFor(1);
    const admin = adminClient(edge.url);
    const got = await waitUntil(async () => {
      const w = await admin.getWebhook({ id });
      return w.webhook?.status === WebhookStatus.FAILED ? w : undefined;
    }, 5_000, "refused webhook failed");
    expect(got.attempts[0]?.outcome).toBe("destination_not_allowed");
  });
});
