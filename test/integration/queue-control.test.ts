/**
 * Operating ordered queues (issue #13), against a real edge, hub and LAN
 * service: retry now, skip and cancel through the API, bulk actions,
 * replays of pending webhooks, superseded originals, re-signed replays, and
 * the audit trail that records every action.
 */
import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { ProviderType } from "@hookly/proto/gen/admin_pb";
import { useCleanups } from "../cleanup.js";
import type { ReceivedRequest } from "../fakes/receiver.js";
import { distFile } from "../../scripts/bundle.js";
import { ROOT, TEST_SECRETS, adminClient, createEndpoint, postWebhook, waitUntil, type TestEdge } from "../harness.js";

/**
 * Runs the built CLI against the edge at `url` as the admin; its exit code and output.
 * note: asynchronously: the edge runs in this process and must answer meanwhile.
 */
function hookly(url: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [distFile("edge", "cli"), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOOKLY_URL: url, ADMIN_TOKEN: TEST_SECRETS.ADMIN_TOKEN }, encoding: "utf8", timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}

const { receiver, edge, hub } = useCleanups();

const nOf = (r: ReceivedRequest): number => (JSON.parse(r.body.toString()) as { n: number }).n;

/** A webhook's REST detail. */
async function detail(e: TestEdge, id: string) {
  const r = await e.api("GET", `/api/webhooks/${id}`);
  expect(r.status).toBe(200);
  return r.body as {
    webhook: Record<string, unknown> & { status: string; attempts: number; deliveries: Record<string, unknown>[]; replays: { id: string }[] };
  };
}

/**
 * An edge with a minute's backoff (without retry-now a failing head waits that long), a hub, and `n`
 * webhooks {n} of which the first (n = 0) answers 500, once its first attempt is recorded.
 */
async function failingHead(n: number) {
  const e = await edge({ fastRetries: false, env: { BACKOFF_INITIAL_MS: "60000", BACKOFF_MAX_MS: "3600000" } });
  const t = await receiver();
  t.respondWith((r) => (nOf(r) === 0 ? 500 : 200));
  const ep = await createEndpoint(e.url, t.url);
  await hub(e.url);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await postWebhook(ep.ingestUrl, JSON.stringify({ n: i })));
  await t.waitFor(1);
  await waitUntil(async () => (await detail(e, ids[0]!)).webhook.attempts === 1, 5_000, "the first attempt recorded");
  return { e, t, ep, ids };
}

describe("head-of-line controls", () => {
  it("a head failing with 500: retry now makes one more attempt at once; skip lets the rest through in order; the audit trail has both", async () => {
    const { e, t, ep, ids } = await failingHead(5);
    // Behind the failing head, nothing moves.
    expect(t.requests.map(nOf)).toEqual([0]);

    const retried = await e.api("POST", `/api/webhooks/${ids[0]}/retry-now`);
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body).toMatchObject({ webhook_id: ids[0], action: "retry_now", status: "pending", stalled: null });
    await t.waitFor(2);
    await waitUntil(async () => (await detail(e, ids[0]!)).webhook.attempts === 2, 5_000, "the second attempt recorded");
    expect(t.requests.map(nOf)).toEqual([0, 0]);

    // A webhook behind the head is not the head: skipping it is refused, with the reason.
    const wrong = await e.api("POST", `/api/webhooks/${ids[2]}/skip`);
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.message).toMatch(/not at the head of its queue: cancel it instead/);

    const skipped = await e.api("POST", `/api/webhooks/${ids[0]}/skip`);
    expect(skipped.status, JSON.stringify(skipped.body)).toBe(200);
    expect(skipped.body).toMatchObject({ action: "skip", status: "failed", in_flight: false });
    await t.waitFor(6);
    expect(t.requests.map(nOf)).toEqual([0, 0, 1, 2, 3, 4]);
    const head = await detail(e, ids[0]!);
    expect(head.webhook.status).toBe("failed");
    expect(head.webhook.error_message).toBe("skipped by admin");
    expect(head.webhook.deliveries[0]).toMatchObject({ status: "failed", settled_by: "admin", error_message: "skipped by admin" });
    await waitUntil(async () => (await detail(e, ids[4]!)).webhook.status === "delivered", 5_000, "the last one delivered");

    // Skipping it again: it is settled.
    const again = await e.api("POST", `/api/webhooks/${ids[0]}/skip`);
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/it is failed, not pending/);

    const audit = await e.api("GET", `/api/audit?webhook_id=${ids[0]}`);
    expect(audit.status).toBe(200);
    expect(audit.body.entries.map((a: { action: string; actor: string }) => `${a.action}:${a.actor}`)).toEqual(["skip:admin", "retry_now:admin"]);
    expect(audit.body.entries[0]).toMatchObject({ webhook_id: ids[0], endpoint_id: ep.id });
    // And over Connect.
    const rpc = await adminClient(e.url).listAudit({ endpointId: ep.id });
    expect(rpc.entries.map((a) => a.action)).toEqual(["skip", "retry_now"]);
  });

  it("cancel settles a webhook waiting behind the head before it is ever tried; the head cannot be cancelled", async () => {
    const e = await edge({ fastRetries: false, env: { BACKOFF_INITIAL_MS: "60000", BACKOFF_MAX_MS: "3600000" } });
    const t = await receiver();
    let failing = true;
    t.respondWith((r) => (nOf(r) === 0 && failing ? 503 : 200));
    const ep = await createEndpoint(e.url, t.url);
    await hub(e.url);
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) ids.push(await postWebhook(ep.ingestUrl, JSON.stringify({ n })));
    await t.waitFor(1);
    await waitUntil(async () => (await detail(e, ids[0]!)).webhook.attempts === 1, 5_000, "the head failed once");

    const head = await e.api("POST", `/api/webhooks/${ids[0]}/cancel`);
    expect(head.status).toBe(409);
    expect(head.body.error.message).toMatch(/at the head of its queue: skip it instead/);
    const cancelled = await e.api("POST", `/api/webhooks/${ids[2]}/cancel`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toMatchObject({ action: "cancel", status: "failed" });
    expect((await detail(e, ids[2]!)).webhook.error_message).toBe("cancelled by admin");

    failing = false;
    expect((await e.api("POST", `/api/webhooks/${ids[0]}/retry-now`)).status).toBe(200);
    await t.waitFor(4);
    expect(t.requests.map(nOf)).toEqual([0, 0, 1, 3]);
  });

  it("acts over Connect and on the named destination of a webhook with several", async () => {
    const e = await edge({ fastRetries: false, env: { BACKOFF_INITIAL_MS: "60000", BACKOFF_MAX_MS: "3600000" } });
    const a = await receiver();
    const b = await receiver();
    b.respondWith(500);
    const ep = await createEndpoint(e.url, a.url);
    const admin = adminClient(e.url);
    const { destination } = await admin.createDestination({ endpointId: ep.id, destination: { url: b.url, name: "b" } });
    await hub(e.url);
    const id = await postWebhook(ep.ingestUrl, JSON.stringify({ n: 0 }));
    await a.waitFor(1);
    await b.waitFor(1);
    await waitUntil(async () => (await detail(e, id)).webhook.attempts === 2, 5_000, "both attempts recorded");
    // With one delivery pending, that one is meant.
    const r = await admin.actOnDelivery({ webhookId: id, action: 2 /* SKIP */ });
    expect(r.destinationId).toBe(destination!.id);
    const d = await detail(e, id);
    expect(d.webhook.status).toBe("partial");
    // An unknown webhook is not found; an action missing is a bad argument.
    await expect(admin.actOnDelivery({ webhookId: "wh_doesnotexist0000000", action: 2 })).rejects.toThrow(/not found/);
    await expect(admin.actOnDelivery({ webhookId: id })).rejects.toThrow(/action is required/);
  });
});

describe("the CLI", () => {
  it("retries now, skips and lists the audit trail through the running edge's API", async () => {
    const { e, t, ids } = await failingHead(2);

    const retry = await hookly(e.url, "webhooks", "retry-now", ids[0]!);
    expect(retry.code, retry.err).toBe(0);
    expect(retry.out).toMatch(new RegExp(`^${ids[0]} at dst_\\S+: due now`));
    await t.waitFor(2);
    const wrong = await hookly(e.url, "webhooks", "cancel", ids[0]!);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/at the head of its queue: skip it instead/);
    const skip = await hookly(e.url, "webhooks", "skip", ids[0]!);
    expect(skip.code, skip.err).toBe(0);
    expect(skip.out).toMatch(/skipped: failed/);
    await t.waitFor(3);
    expect(t.requests.map(nOf)).toEqual([0, 0, 1]);

    const audit = await hookly(e.url, "audit", `--webhook=${ids[0]}`);
    expect(audit.code, audit.err).toBe(0);
    expect(
      audit.out
        .trim()
        .split("\n")
        .map((l) => l.split(/\s+/).slice(1, 3).join(" ")),
    ).toEqual(["admin skip", "admin retry_now"]);
    const usage = await hookly(e.url, "webhooks", "frobnicate", ids[0]!);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/unknown command "webhooks frobnicate"/);
    const down = await hookly("http://127.0.0.1:9", "webhooks", "skip", ids[1]!);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/cannot reach the edge at http:\/\/127.0.0.1:9/);
  });
});

describe("bulk actions", () => {
  it("skips every pending webhook a filter selects, and replays selected failed ones to the destination that missed them", async () => {
    const e = await edge({ fastRetries: false, env: { BACKOFF_INITIAL_MS: "60000", BACKOFF_MAX_MS: "3600000" } });
    const t = await receiver();
    let failing = true;
    t.respondWith(() => (failing ? 500 : 200));
    const ep = await createEndpoint(e.url, t.url);
    await hub(e.url);
    const ids: string[] = [];
    for (let n = 0; n < 6; n++) ids.push(await postWebhook(ep.ingestUrl, JSON.stringify({ n })));
    await t.waitFor(1);

    const skip = await e.api("POST", "/api/webhooks/bulk", { body: { action: "skip", filter: { endpoint_id: ep.id, status: "pending" } } });
    expect(skip.status, JSON.stringify(skip.body)).toBe(200);
    expect(skip.body).toMatchObject({ action: "skip", matched: 6, acted: 6, ignored: 0 });
    for (const id of ids) expect((await detail(e, id)).webhook.status).toBe("failed");

    failing = false;
    const replay = await e.api("POST", "/api/webhooks/bulk", { body: { action: "replay", webhook_ids: [ids[3], ids[1], ids[1]] } });
    expect(replay.status, JSON.stringify(replay.body)).toBe(200);
    expect(replay.body).toMatchObject({ matched: 2, acted: 2, ignored: 0 });
    await t.waitFor(3);
    // Oldest first, whatever order they were named in.
    expect(t.requests.slice(1).map(nOf)).toEqual([1, 3]);

    // Bad selections are refused, whole.
    expect((await e.api("POST", "/api/webhooks/bulk", { body: { action: "skip" } })).body.error.message).toMatch(/give webhook_ids, or a filter/);
    const unknown = await e.api("POST", "/api/webhooks/bulk", { body: { action: "replay", webhook_ids: [ids[0], "wh_nope00000000000"] } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/no such webhook: wh_nope/);
    expect((await e.api("POST", "/api/webhooks/bulk", { body: { action: "delete", webhook_ids: [ids[0]] } })).body.error.message).toMatch(
      /action must be one of/,
    );

    const audit = await e.api("GET", `/api/audit?endpoint_id=${ep.id}&limit=500`);
    const actions = audit.body.entries.map((a: { action: string }) => a.action);
    expect(actions.filter((x: string) => x === "skip")).toHaveLength(6);
    expect(actions.filter((x: string) => x === "replay")).toHaveLength(2);
  });
});

describe("replays", () => {
  it("replays a pending webhook only when asked explicitly", async () => {
    const e = await edge();
    const t = await receiver();
    t.respondWith(500);
    const ep = await createEndpoint(e.url, t.url);
    const id = await postWebhook(ep.ingestUrl, "{}");
    const refused = await e.api("POST", `/api/webhooks/${id}/replay`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/still pending: a replay would reach its destinations twice; replay it anyway with allow_pending/);
    await expect(adminClient(e.url).replayWebhook({ id })).rejects.toThrow(/allow_pending/);
    const ok = await e.api("POST", `/api/webhooks/${id}/replay?allow_pending=true`);
    expect(ok.status).toBe(201);
    expect(ok.body.webhook.replay_of).toBe(id);
  });

  it("an original whose replay is delivered links to it, shows as superseded, and the filter can hide it", async () => {
    const e = await edge();
    const t = await receiver();
    t.respondWith(400);
    const ep = await createEndpoint(e.url, t.url);
    await hub(e.url);
    const id = await postWebhook(ep.ingestUrl, JSON.stringify({ n: 0 }));
    await waitUntil(async () => (await detail(e, id)).webhook.status === "failed", 5_000, "failed");
    // A first replay fails too; a replay of that replay is delivered: the original is superseded by it.
    const first = (await e.api("POST", `/api/webhooks/${id}/replay`)).body.webhook.id as string;
    await waitUntil(async () => (await detail(e, first)).webhook.status === "failed", 5_000, "the first replay failed");
    expect((await detail(e, id)).webhook.superseded_by).toBeNull();
    t.respondWith(200);
    const second = (await e.api("POST", `/api/webhooks/${first}/replay`)).body.webhook.id as string;
    await waitUntil(async () => (await detail(e, second)).webhook.status === "delivered", 5_000, "the second replay delivered");
    const original = await detail(e, id);
    expect(original.webhook.superseded_by).toBe(second);
    expect(original.webhook.replays.map((r) => r.id)).toEqual([first]);
    expect((await detail(e, first)).webhook.superseded_by).toBe(second);

    const failed = await e.api("GET", `/api/webhooks?endpoint_id=${ep.id}&status=failed`);
    expect(failed.body.webhooks.map((w: { id: string }) => w.id).sort()).toEqual([id, first].sort());
    const open = await e.api("GET", `/api/webhooks?endpoint_id=${ep.id}&status=failed&superseded=false`);
    expect(open.body.webhooks).toEqual([]);
    const rpc = await adminClient(e.url).listWebhooks({ endpointId: ep.id, superseded: true });
    expect(rpc.webhooks.map((w) => w.id).sort()).toEqual([id, first].sort());
  });

  it("re-signs a Stripe replay with a fresh timestamp, which the receiver verifies with stripe.webhooks.constructEvent after the original's expired", async () => {
    const e = await edge();
    const t = await receiver();
    const secret = "whsec_test_resign_0123456789";
    const stripe = new Stripe("sk_test_unused");
    const seen: string[] = [];
    t.respondWith((r) => {
      try {
        stripe.webhooks.constructEvent(r.body, String(r.headers["stripe-signature"]), secret);
        seen.push("verified");
        return 200;
      } catch (err) {
        seen.push((err as Error).message);
        return 400;
      }
    });
    const ep = await createEndpoint(e.url, t.url, { providerType: ProviderType.STRIPE, signatureSecret: secret });
    await hub(e.url);
    // Signed ten minutes ago: past Stripe's five-minute tolerance.
    const body = JSON.stringify({ id: "evt_1", type: "invoice.paid", object: "event" });
    const old = Math.floor(Date.now() / 1000) - 600;
    const sig = createHmac("sha256", secret).update(`${old}.${body}`).digest("hex");
    const id = await postWebhook(ep.ingestUrl, body, { "content-type": "application/json", "stripe-signature": `t=${old},v1=${sig}` });
    await waitUntil(() => seen.length === 1, 5_000, "the original arrived");
    expect(seen[0]).toMatch(/tolerance/i);

    const plain = (await e.api("POST", `/api/webhooks/${id}/replay`)).body.webhook;
    expect(plain.resigned).toBe(false);
    await waitUntil(() => seen.length === 2, 5_000, "the plain replay arrived");
    expect(seen[1]).toMatch(/tolerance/i);

    const fresh = (await e.api("POST", `/api/webhooks/${id}/replay?resign=true`)).body.webhook;
    expect(fresh.resigned).toBe(true);
    await waitUntil(() => seen.length === 3, 5_000, "the re-signed replay arrived");
    expect(seen[2]).toBe("verified");
    await waitUntil(async () => (await detail(e, fresh.id)).webhook.status === "delivered", 5_000, "the re-signed replay recorded delivered");
    const audit = await e.api("GET", `/api/audit?webhook_id=${id}`);
    expect(audit.body.entries[0]).toMatchObject({ action: "replay", detail: { replay_id: fresh.id, resigned: true } });
  });

  it("refuses to re-sign what cannot be: a GitHub endpoint, or one without a secret", async () => {
    const e = await edge();
    const t = await receiver();
    const gh = await createEndpoint(e.url, t.url, { providerType: ProviderType.GITHUB, signatureSecret: "s" });
    const id = await postWebhook(gh.ingestUrl, "{}");
    await hub(e.url);
    await waitUntil(async () => (await detail(e, id)).webhook.status === "delivered", 5_000, "delivered");
    const r = await e.api("POST", `/api/webhooks/${id}/replay?resign=true`);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/github webhooks are not re-signed: their signature has no timestamp/);
    const bare = await createEndpoint(e.url, t.url, { providerType: ProviderType.STRIPE });
    const id2 = await postWebhook(bare.ingestUrl, "{}");
    await waitUntil(async () => (await detail(e, id2)).webhook.status === "delivered", 5_000, "delivered");
    const r2 = await e.api("POST", `/api/webhooks/${id2}/replay?resign=true`);
    expect(r2.body.error.message).toMatch(/no signature secret to sign with/);
  });
});
