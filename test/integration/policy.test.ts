/**
 * Delivery policies per destination (issue #13), against a real edge, hub and
 * LAN services: concurrent ordering with a limit, held and dropped unverified
 * webhooks, the per-attempt timeout, headers added to each forward, and the
 * attempt limit.
 */
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { ProviderType } from "@hookly/proto/gen/admin_pb";
import { useCleanups } from "../cleanup.js";
import { createEndpoint, postWebhook, waitUntil, type TestEdge } from "../harness.js";

const scope = useCleanups();
const { receiver, edge, hub } = scope;

/** The first destination of an endpoint. */
async function firstDestination(e: TestEdge, endpointId: string): Promise<string> {
  const r = await e.api("GET", `/api/endpoints/${endpointId}/destinations`);
  return r.body.destinations[0].id as string;
}

async function setPolicy(e: TestEdge, destinationId: string, policy: Record<string, unknown>) {
  const r = await e.api("PATCH", `/api/destinations/${destinationId}`, { body: { policy } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.destination;
}

async function statusOf(e: TestEdge, id: string): Promise<string> {
  return (await e.api("GET", `/api/webhooks/${id}`)).body.webhook.status;
}

describe("delivery policy", () => {
  it("concurrent with a limit of 4: never more than 4 in flight at the LAN service, every webhook delivered", async () => {
    const e = await edge();
    let active = 0;
    let peak = 0;
    const got: number[] = [];
    const target = createServer((req, res) => {
      active++;
      peak = Math.max(peak, active);
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        setTimeout(() => {
          got.push(JSON.parse(Buffer.concat(chunks).toString()).n);
          active--;
          res.end("ok");
        }, 40);
      });
    });
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    scope.cleanups.push(() => {
      target.closeAllConnections();
      return new Promise((r) => target.close(() => r(undefined)));
    });
    const ep = await createEndpoint(e.url, `http://127.0.0.1:${(target.address() as AddressInfo).port}/`);
    const dst = await setPolicy(e, await firstDestination(e, ep.id), { ordering: "concurrent", concurrency: 4 });
    expect(dst.policy).toMatchObject({ ordering: "concurrent", concurrency: 4 });
    const N = 40;
    for (let n = 0; n < N; n++) await postWebhook(ep.ingestUrl, JSON.stringify({ n }));
    await hub(e.url);
    await waitUntil(() => got.length === N, 20_000, "all delivered");
    expect(peak, "in flight at once").toBe(4);
    expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
  });

  it("a strict destination never has two in flight (the default)", async () => {
    const e = await edge();
    const t = await receiver();
    t.respondWith(() => ({ status: 200, delayMs: 20 }));
    const ep = await createEndpoint(e.url, t.url);
    await hub(e.url);
    for (let n = 0; n < 10; n++) await postWebhook(ep.ingestUrl, JSON.stringify({ n }));
    await t.waitFor(10, { timeoutMs: 10_000 });
    expect(t.requests.map((r) => JSON.parse(r.body.toString()).n)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it("holds unverified webhooks out of the queue while verified ones go on; released, they are delivered in arrival order", async () => {
    const e = await edge();
    const t = await receiver();
    const secret = "whsec_hold_0123456789";
    const ep = await createEndpoint(e.url, t.url, { providerType: ProviderType.STRIPE, signatureSecret: secret });
    await setPolicy(e, await firstDestination(e, ep.id), { unverified: "hold" });
    await hub(e.url);
    const post = (n: number, signed: boolean) => {
      const body = JSON.stringify({ id: `evt_${n}`, n });
      const t0 = Math.floor(Date.now() / 1000);
      const sig = createHmac("sha256", signed ? secret : "wrong")
        .update(`${t0}.${body}`)
        .digest("hex");
      return postWebhook(ep.ingestUrl, body, { "content-type": "application/json", "stripe-signature": `t=${t0},v1=${sig}` });
    };
    const ids: string[] = [];
    for (let n = 0; n < 6; n++) ids.push(await post(n, n % 2 === 0));
    await t.waitFor(3);
    const arrived = () => t.requests.map((r) => JSON.parse(r.body.toString()).n);
    expect(arrived()).toEqual([0, 2, 4]);
    const held = await e.api("GET", `/api/webhooks/${ids[1]}`);
    expect(held.body.webhook.status).toBe("pending");
    expect(held.body.webhook.deliveries[0]).toMatchObject({ queue_head: false, held_at: expect.any(String) });
    const dst = await e.api("GET", `/api/destinations/${await firstDestination(e, ep.id)}`);
    expect(dst.body.destination.queue.held).toBe(3);
    // Skip does not apply to a held one; release (or cancel) does.
    expect((await e.api("POST", `/api/webhooks/${ids[1]}/skip`)).body.error.message).toMatch(/held out of the queue \(unverified\)/);

    const released = await e.api("POST", "/api/webhooks/bulk", { body: { action: "release", filter: { endpoint_id: ep.id, verified: false } } });
    expect(released.body).toMatchObject({ matched: 3, acted: 3, ignored: 0 });
    await t.waitFor(6);
    expect(arrived()).toEqual([0, 2, 4, 1, 3, 5]);
    for (const id of ids) await waitUntil(async () => (await statusOf(e, id)) === "delivered", 5_000, `${id} delivered`);
    const audit = await e.api("GET", `/api/audit?webhook_id=${ids[3]}`);
    expect(audit.body.entries.map((a: { action: string }) => a.action)).toEqual(["release"]);
  });

  it("drops unverified webhooks when told to: stored, marked, never sent", async () => {
    const e = await edge();
    const t = await receiver();
    const ep = await createEndpoint(e.url, t.url, { providerType: ProviderType.STRIPE, signatureSecret: "whsec_x" });
    await setPolicy(e, await firstDestination(e, ep.id), { unverified: "drop" });
    await hub(e.url);
    const dropped = await postWebhook(ep.ingestUrl, "{}", { "content-type": "application/json", "stripe-signature": "t=1,v1=00" });
    const d = await e.api("GET", `/api/webhooks/${dropped}`);
    expect(d.body.webhook.status).toBe("filtered");
    expect(d.body.webhook.deliveries[0].error_message).toMatch(/unverified: this destination drops webhooks whose signature did not check out/);
    expect(t.requests).toHaveLength(0);
  });

  it("adds its headers to each forward (values never shown again), times each attempt out, and gives up after max_attempts", async () => {
    const e = await edge();
    const t = await receiver();
    t.respondWith(() => ({ status: 200, delayMs: 1_500 }));
    const ep = await createEndpoint(e.url, t.url);
    const dst = await setPolicy(e, await firstDestination(e, ep.id), {
      timeout_ms: 300,
      max_attempts: 2,
      headers: [
        { name: "Authorization", value: "Bearer lan-only-secret" },
        { name: "X-Source", value: "hookly" },
      ],
    });
    expect(dst.policy).toMatchObject({
      timeout_ms: 300,
      max_attempts: 2,
      headers: [
        { name: "Authorization", value: "[redacted]" },
        { name: "X-Source", value: "[redacted]" },
      ],
    });
    expect(JSON.stringify(dst)).not.toContain("lan-only-secret");
    await hub(e.url);
    const id = await postWebhook(ep.ingestUrl, "{}", { "content-type": "application/json", authorization: "Bearer from-provider" });
    await t.waitFor(2, { timeoutMs: 10_000 });
    expect(t.requests.map((r) => r.headers.authorization)).toEqual(["Bearer lan-only-secret", "Bearer lan-only-secret"]);
    expect(t.requests[0]!.headers["x-source"]).toBe("hookly");
    await waitUntil(async () => (await statusOf(e, id)) === "dead_letter", 10_000, "given up");
    const w = (await e.api("GET", `/api/webhooks/${id}`)).body;
    expect(w.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["timeout", "timeout"]);
    expect(w.webhook.error_message).toMatch(/gave up after 2 attempts \(the destination's max_attempts\)/);

    // Sent back redacted, a value is kept; a reset goes back to the default.
    const kept = await setPolicy(e, dst.id, { headers: [{ name: "Authorization", value: "[redacted]" }] });
    expect(kept.policy.headers).toEqual([{ name: "Authorization", value: "[redacted]" }]);
    const reset = await e.api("PATCH", `/api/destinations/${dst.id}`, { body: { policy: null } });
    expect(reset.body.destination.policy).toMatchObject({ ordering: "strict", timeout_ms: null, max_attempts: null, headers: [], unverified: "deliver" });
    const bad = await e.api("PATCH", `/api/destinations/${dst.id}`, { body: { policy: { ordering: "concurrent", concurrency: 500 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/policy: concurrency must be an integer from 2 to 64/);
  });

  it("a maximum age dead-letters what waits longer, counted from arrival, also for what is queued already", async () => {
    const e = await edge();
    const t = await receiver();
    t.respondWith(503);
    const ep = await createEndpoint(e.url, t.url);
    await hub(e.url);
    const id = await postWebhook(ep.ingestUrl, "{}");
    await t.waitFor(1);
    const before = (await e.api("GET", `/api/webhooks/${id}`)).body.webhook.deliveries[0].deliver_by;
    await setPolicy(e, await firstDestination(e, ep.id), { max_age_ms: 60_000 });
    const after = (await e.api("GET", `/api/webhooks/${id}`)).body.webhook;
    expect(Date.parse(after.deliveries[0].deliver_by) - Date.parse(after.received_at)).toBe(60_000);
    expect(Date.parse(after.deliveries[0].deliver_by)).toBeLessThan(Date.parse(before));
  });
});
