/**
 * The delivery path end to end: real edge and hub (in-process, port 0), real
 * LAN targets that record what arrives.
 */
import { WebhookStatus } from "@hookly/proto/gen/admin_pb";
import { randomBytes, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import type { ReceivedRequest } from "../fakes/receiver.js";
import { TestClock, adminClient, createEndpoint, postWebhook, waitUntil } from "../harness.js";

const { receiver, edge, hub } = useCleanups();

const seqOf = (r: ReceivedRequest): number => (JSON.parse(r.body.toString()) as { n: number }).n;
const idOf = (r: ReceivedRequest): string => String(r.headers["x-hookly-webhook-id"]);

/** Asserts the requests never go backwards and the successful ones are 0..n-1 exactly once each, in order. */
function expectOrdered(requests: ReceivedRequest[], n: number, delivered: (r: ReceivedRequest, i: number) => boolean = () => true) {
  const seqs = requests.map(seqOf);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]!, `request ${i} went backwards: ${seqs.join(",")}`).toBeGreaterThanOrEqual(seqs[i - 1]!);
  const ok = requests.filter(delivered).map(seqOf);
  expect(ok).toEqual(Array.from({ length: n }, (_, i) => i));
}

describe("relay", () => {
  it("delivers three interleaved endpoints in order while one target answers 503 for a while", async () => {
    const e = await edge();
    const targets = [await receiver(), await receiver(), await receiver()];
    // note: long enough that 45 sequential posts and their deliveries fit in it on a loaded 2-core machine.
    const failUntil = Date.now() + 3_000;
    targets[0]!.respondWith(() => (Date.now() < failUntil ? 503 : 200));
    const eps = await Promise.all(targets.map((t, i) => createEndpoint(e.url, `${t.url}/hook`, { name: `ep${i}` })));
    await hub(e.url);
    const N = 15;
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < 3; i++) await postWebhook(eps[i]!.ingestUrl, JSON.stringify({ ep: i, n }));
    }
    // The healthy endpoints are not held up by the failing one.
    await targets[1]!.waitFor(N, { timeoutMs: 5_000 });
    await targets[2]!.waitFor(N, { timeoutMs: 5_000 });
    expect(Date.now()).toBeLessThan(failUntil);
    await targets[0]!.waitFor(N, { timeoutMs: 15_000, filter: () => Date.now() >= failUntil });
    await waitUntil(() => targets[0]!.requests.filter((r) => r.at >= failUntil).length >= N, 15_000, "recovery");
    expectOrdered(targets[1]!.requests, N);
    expectOrdered(targets[2]!.requests, N);
    expectOrdered(targets[0]!.requests, N, (r) => r.at >= failUntil);
    // Retries of one webhook carry the same id and a growing attempt number.
    const first = targets[0]!.requests.filter((r) => seqOf(r) === 0);
    expect(first.length).toBeGreaterThan(1);
    expect(new Set(first.map(idOf)).size).toBe(1);
    expect(first.map((r) => Number(r.headers["x-hookly-attempt"]))).toEqual(first.map((_, i) => i + 1));
    const status = await adminClient(e.url).getStatus({});
    expect(status.hub?.connected).toBe(true);
    await waitUntil(async () => (await adminClient(e.url).getStatus({})).queues.every((q) => q.depth === 0n), 5_000, "empty queues");
  });

  it("marks a 4xx failed and moves on; retries 408 and 429 honouring Retry-After", async () => {
    const e = await edge();
    const t = await receiver();
    const answers = new Map<number, number[]>([
      [0, [400]],
      [1, [408, 200]],
      [2, [429, 200]],
      [3, [200]],
    ]);
    t.respondWith((r) => {
      const list = answers.get(seqOf(r))!;
      const status = list.length > 1 ? list.shift()! : list[0]!;
      return status === 429 ? { status, headers: { "retry-after": "1" } } : status;
    });
    const ep = await createEndpoint(e.url, t.url);
    await hub(e.url);
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) ids.push(await postWebhook(ep.ingestUrl, JSON.stringify({ n })));
    await t.waitFor(6, { timeoutMs: 10_000 });
    const admin = adminClient(e.url);
    await waitUntil(async () => (await admin.getWebhook({ id: ids[3]! })).webhook?.status === WebhookStatus.DELIVERED, 5_000, "last delivered");
    const got = await Promise.all(ids.map((id) => admin.getWebhook({ id })));
    expect(got.map((g) => g.webhook?.status)).toEqual([WebhookStatus.FAILED, WebhookStatus.DELIVERED, WebhookStatus.DELIVERED, WebhookStatus.DELIVERED]);
    expect(got[0]!.attempts.map((a) => a.statusCode)).toEqual([400]);
    expect(got[0]!.webhook?.errorMessage).toContain("400");
    expect(got[1]!.attempts.map((a) => a.statusCode)).toEqual([408, 200]);
    expect(got[2]!.attempts.map((a) => a.statusCode)).toEqual([429, 200]);
    // Retry-After: 1 → the retry came at least ~1 s after the 429.
    const tries = t.requests.filter((r) => seqOf(r) === 2);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(900);
    expectOrdered(t.requests, 4, (r, i) => t.requests.findLastIndex((x) => seqOf(x) === seqOf(r)) === i);
  });

  it("dead-letters a webhook undelivered after 7 days (injected clock) and moves on", async () => {
    const clock = new TestClock();
    const e = await edge({ clock });
    const t = await receiver();
    t.respondWith((r) => (seqOf(r) === 0 ? 503 : 200));
    const ep = await createEndpoint(e.url, t.url);
    await hub(e.url);
    const first = await postWebhook(ep.ingestUrl, JSON.stringify({ n: 0 }));
    clock.advance(3_600_000);
    const second = await postWebhook(ep.ingestUrl, JSON.stringify({ n: 1 }));
    await t.waitFor(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(t.requests.every((r) => seqOf(r) === 0)).toBe(true);
    // Six days later the first is still retried, not dead…
    clock.advance(6 * 24 * 3_600_000);
    e.app.relay.tick();
    expect((await adminClient(e.url).getWebhook({ id: first })).webhook?.status).toBe(WebhookStatus.PENDING);
    // …seven days after its arrival it is dead-lettered, and the second (which arrived an hour later) goes through.
    clock.advance(24 * 3_600_000 - 3_600_000 + 1);
    e.app.relay.tick();
    await t.waitFor(1, { filter: (r) => seqOf(r) === 1, timeoutMs: 5_000 });
    const admin = adminClient(e.url);
    const dl = await admin.getWebhook({ id: first });
    expect(dl.webhook?.status).toBe(WebhookStatus.DEAD_LETTER);
    await waitUntil(async () => (await admin.getWebhook({ id: second })).webhook?.status === WebhookStatus.DELIVERED, 5_000, "second delivered");
  });

  it("holds 500 webhooks while the hub is offline, then delivers all in order", async () => {
    const e = await edge();
    const t = await receiver();
    const ep = await createEndpoint(e.url, t.url);
    const N = 500;
    const batch = 50;
    for (let n = 0; n < N; n += batch) {
      await Promise.all(Array.from({ length: batch }, (_, i) => i + n).map((k) => postWebhook(ep.ingestUrl, JSON.stringify({ n: k }))));
    }
    // Concurrent posts commit in one batch but in arrival order; delivery order follows storage order.
    const stored = (await adminClient(e.url).listWebhooks({ endpointId: ep.id, limit: 500 })).webhooks.length;
    expect(stored).toBe(N);
    expect(t.requests).toHaveLength(0);
    await hub(e.url);
    await t.waitFor(N, { timeoutMs: 30_000 });
    const list = await adminClient(e.url).listWebhooks({ endpointId: ep.id, limit: 500 });
    const storedOrder = list.webhooks.map((w) => w.id).reverse();
    expect(t.requests.map(idOf)).toEqual(storedOrder);
  });

  it("muted endpoints store but hold delivery until unmuted", async () => {
    const e = await edge();
    const t = await receiver();
    const ep = await createEndpoint(e.url, t.url);
    const admin = adminClient(e.url);
    await admin.updateEndpoint({ id: ep.id, muted: true });
    await hub(e.url);
    await postWebhook(ep.ingestUrl, JSON.stringify({ n: 0 }));
    await new Promise((r) => setTimeout(r, 300));
    expect(t.requests).toHaveLength(0);
    await admin.updateEndpoint({ id: ep.id, muted: false });
    await t.waitFor(1);
  });

  it("replays a delivered webhook at the tail of the queue with the same bytes", async () => {
    const e = await edge();
    const t = await receiver();
    const ep = await createEndpoint(e.url, t.url);
    await hub(e.url);
    const id = await postWebhook(ep.ingestUrl, JSON.stringify({ n: 0 }));
    await t.waitFor(1);
    const { webhook } = await adminClient(e.url).replayWebhook({ id });
    expect(webhook?.replayOf).toBe(id);
    const [, again] = await t.waitFor(2);
    expect(again!.body.equals(t.requests[0]!.body)).toBe(true);
    expect(idOf(again!)).toBe(webhook?.id);
  });

  it("forwards bodies byte for byte (invalid UTF-8, 20 MB) with the provider signature intact", async () => {
    const e = await edge();
    const t = await receiver();
    const ep = await createEndpoint(e.url, `${t.url}/lan/hook?x=1`);
    await hub(e.url);
    const odd = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x0a]);
    const big = randomBytes(20 * 1024 * 1024);
    const sign = (b: Buffer) => `sha256=${createHmac("sha256", "lan-secret").update(b).digest("hex")}`;
    await postWebhook(`${ep.ingestUrl}?source=test`, odd, { "content-type": "application/octet-stream", "X-Hub-Signature-256": sign(odd), "X-Custom": "a" });
    await postWebhook(ep.ingestUrl, big, { "content-type": "application/octet-stream", "X-Hub-Signature-256": sign(big) });
    const [a, b] = await t.waitFor(2, { timeoutMs: 30_000 });
    expect(a!.body.equals(odd)).toBe(true);
    expect(a!.headers["x-hub-signature-256"]).toBe(sign(odd));
    expect(a!.headers["x-custom"]).toBe("a");
    expect(a!.url).toBe("/lan/hook?x=1&source=test");
    expect(a!.headers["x-hookly-verified"]).toBe("false");
    expect(a!.headers["x-hookly-endpoint"]).toBe(ep.id);
    expect(b!.body.length).toBe(big.length);
    expect(b!.body.equals(big)).toBe(true);
    expect(b!.headers["x-hub-signature-256"]).toBe(sign(big));
  });

  it("does not hold other endpoints up while a 20 MB body is in transit", async () => {
    const e = await edge();
    const slow = await receiver();
    const fast = await receiver();
    const big = await createEndpoint(e.url, slow.url);
    const small = await createEndpoint(e.url, fast.url);
    await hub(e.url);
    await postWebhook(big.ingestUrl, randomBytes(40 * 1024 * 1024), { "content-type": "application/octet-stream" });
    const t0 = Date.now();
    await postWebhook(small.ingestUrl, JSON.stringify({ n: 0 }));
    const [f] = await fast.waitFor(1, { timeoutMs: 10_000 });
    await slow.waitFor(1, { timeoutMs: 30_000 });
    // The small webhook arrived before the big one finished.
    expect(f!.at).toBeLessThan(slow.requests[0]!.at);
    expect(f!.at - t0).toBeLessThan(5_000);
  });
});
