/**
 * Storage faults on the delivery path (issue #15, first step): when the
 * database refuses to record delivery results, the edge keeps running,
 * pauses dispatch, says so on /readyz, and delivers everything again — in
 * order, with the same webhook ids — once writes work again.
 *
 * The fault is injected with `PRAGMA query_only` on the edge's own
 * connection: every write then fails with SQLITE_READONLY, the way a full or
 * read-only disk fails them, while reads keep working.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { ProviderType, WebhookStatus } from "@hookly/proto/gen/admin_pb";
import { describe, expect, it } from "vitest";
import { authExtension } from "../../apps/edge/src/auth/auth.extension.js";
import { useCleanups } from "../cleanup.js";
import { adminClient, createEndpoint, firstArrivals, postWebhook, waitUntil } from "../harness.js";

const { receiver, edge, hub } = useCleanups();

describe("storage faults", () => {
  it("keeps running when delivery results cannot be written, and delivers everything in order once they can", async () => {
    const e = await edge();
    const t = await receiver();
    const ep = await createEndpoint(e.url, t.url);
    const h = await hub(e.url);
    await waitUntil(() => h.state().connected, 10_000, "hub connected");
    // The LAN service answers slowly, so the disk can "fill up" while the first delivery is under way.
    t.respondWith(() => ({ status: 200, delayMs: 300 }));
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push(await postWebhook(ep.ingestUrl, JSON.stringify({ n })));
    await waitUntil(() => t.requests.length >= 0 && e.app.relay.hubStatus().inFlight > 0, 5_000, "deliveries under way");
    e.app.db.pragma("query_only = ON");
    // The hub forwards, the edge cannot record the results: it pauses instead of dying.
    await waitUntil(() => e.app.storage.status().deliveryPaused, 10_000, "the fault noticed");
    const ready = await fetch(`${e.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reason: string }).reason).toMatch(/SQLITE_READONLY/);
    // Reads still work: the webhooks are still pending.
    const during = await adminClient(e.url).listWebhooks({ endpointId: ep.id });
    expect(during.webhooks.every((w) => w.status === WebhookStatus.PENDING)).toBe(true);
    // Ingest refuses with 503 (the provider retries) rather than losing anything.
    expect((await fetch(ep.ingestUrl, { method: "POST", body: "{}" })).status).toBe(503);

    e.app.db.pragma("query_only = OFF");
    await waitUntil(
      async () => {
        const page = await adminClient(e.url).listWebhooks({ endpointId: ep.id });
        return page.webhooks.length === 5 && page.webhooks.every((w) => w.status === WebhookStatus.DELIVERED);
      },
      15_000,
      "everything delivered after the fault",
    );
    expect(firstArrivals(t.requests)).toEqual(ids);
    expect(e.app.storage.status().healthy).toBe(true);
    expect((await fetch(`${e.url}/readyz`)).status).toBe(200);
  });

  it("ends the pause on the first result written, a retry as much as a delivery", async () => {
    const e = await edge();
    const t = await receiver();
    t.respondWith(() => ({ status: 503, delayMs: 200 }));
    const ep = await createEndpoint(e.url, t.url);
    const h = await hub(e.url);
    await waitUntil(() => h.state().connected, 10_000, "hub connected");
    const id = await postWebhook(ep.ingestUrl, JSON.stringify({ n: 0 }));
    await waitUntil(() => e.app.relay.hubStatus().inFlight > 0, 5_000, "delivery under way");
    e.app.db.pragma("query_only = ON");
    await waitUntil(() => e.app.storage.status().deliveryPaused, 10_000, "the fault noticed");
    e.app.db.pragma("query_only = OFF");
    await waitUntil(() => !e.app.storage.status().deliveryPaused, 15_000, "the pause ended by a recorded retry");
    expect((await fetch(`${e.url}/readyz`)).status).toBe(200);
    const got = await adminClient(e.url).getWebhook({ id });
    expect(got.webhook?.status).toBe(WebhookStatus.PENDING);
    expect(got.attempts.length).toBeGreaterThan(0);
  });

  it("answers admin writes 503 / Unavailable, keeps reads (API tokens included) working, and lets hubs re-dial while writes fail", async () => {
    const e = await edge({ extensions: [authExtension()] });
    const t = await receiver();
    const ep = await createEndpoint(e.url, t.url);
    const h = await hub(e.url);
    await waitUntil(() => h.state().connected, 10_000, "hub connected");
    const { secret } = await adminClient(e.url).createApiToken({ name: "ci" });
    e.app.db.pragma("query_only = ON");

    // REST: a clear 503 with Retry-After, not a bare 500.
    const rest = await fetch(`${e.url}/api/endpoints`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "new", provider_type: "generic", destination_url: "http://127.0.0.1:9/x" }),
    });
    expect(rest.status).toBe(503);
    expect(rest.headers.get("retry-after")).toBe("5");
    const restBody = (await rest.json()) as { error: { code: string; message: string } };
    expect(restBody.error.code).toBe("unavailable");
    expect(restBody.error.message).toMatch(/database cannot be written now \(SQLITE_READONLY\); reads still work/);
    // Connect: Unavailable with the same message.
    const rpc = await adminClient(e.url)
      .createEndpoint({ name: "new", providerType: ProviderType.GENERIC, destinationUrl: "http://127.0.0.1:9/x" })
      .then(
        () => undefined,
        (err: unknown) => ConnectError.from(err),
      );
    expect(rpc?.code).toBe(Code.Unavailable);
    expect(rpc?.rawMessage).toMatch(/SQLITE_READONLY/);
    // Reads, with a token never used before (its last-used time cannot be written).
    const list = await fetch(`${e.url}/api/endpoints`, { headers: { authorization: `Bearer ${secret}` } });
    expect(list.status).toBe(200);
    const status = await adminClient(e.url).getStatus({});
    expect(status.storage?.healthy).toBe(false);
    expect(status.storage?.faults.map((f) => f.area)).toContain("admin");
    // A hub that re-dials now is let in (its open nonce is remembered in memory).
    const before = h.state().reconnects;
    e.app.relay.disconnect("test: re-dial during the outage");
    await waitUntil(() => h.state().reconnects > before && h.state().connected, 10_000, "hub re-dialled during the outage");

    e.app.db.pragma("query_only = OFF");
    await waitUntil(() => e.app.storage.status().healthy, 10_000, "storage healthy again");
    const created = await adminClient(e.url).createEndpoint({ name: "after", providerType: ProviderType.GENERIC, destinationUrl: "http://127.0.0.1:9/x" });
    expect(created.endpoint?.name).toBe("after");
    const id = await postWebhook(ep.ingestUrl, "{}");
    await t.waitFor(1);
    expect(firstArrivals(t.requests)).toEqual([id]);
  });
});
