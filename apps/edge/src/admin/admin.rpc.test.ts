import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { ProviderType, WatchEventsRequestSchema, WebhookStatus, type WatchEventsResponse } from "@hookly/proto/gen/admin_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TEST_EPOCH, TestClock, buildEdge, codeOf, githubSignature, type BuiltEdge } from "../../../../test/harness.js";
import { AppError } from "../errors.js";
import { HEALTHY } from "../queue/queue.health.js";
import { EdgeEvents } from "../events.js";
import { createAdminRpc, toConnectError } from "./admin.rpc.js";

// note: in memory, without a port; the guard in front of AdminService is tested over HTTP in
// test/integration/admin-http.test.ts.
let edge: BuiltEdge<TestClock>;

beforeEach(async () => {
  edge = await buildEdge({ clock: new TestClock(TEST_EPOCH), fastRetries: false });
});

afterEach(async () => {
  await edge.close();
});

const createGeneric = (name = "orders") =>
  edge.client.createEndpoint({
    name,
    providerType: ProviderType.GENERIC,
    destinationUrl: "http://192.168.1.20:3000/hooks",
  });

/** Sets a webhook's status the way the dispatcher would. */
function settle(id: string, status: "failed" | "dead_letter" | "delivered", at = edge.clock.now()): void {
  edge.app.db
    .prepare(`UPDATE delivery SET status = ?, settled_at = ?, delivered_at = ? WHERE webhook_seq = (SELECT seq FROM webhook WHERE id = ?)`)
    .run(status, at, status === "delivered" ? at : null, id);
  edge.app.db.prepare(`UPDATE webhook SET status = ?, settled_at = ?, delivered_at = ? WHERE id = ?`).run(status, at, status === "delivered" ? at : null, id);
}

describe("endpoints", () => {
  it("creates, gets, lists, updates and deletes", async () => {
    const { endpoint } = await edge.client.createEndpoint({
      name: "  Stripe live ",
      providerType: ProviderType.STRIPE,
      signatureSecret: "whsec_abcdefghijklmnopqrstuvwxyz012345",
      destinationUrl: "http://10.0.0.5:8080/stripe",
    });
    expect(endpoint).toMatchObject({
      name: "Stripe live",
      providerType: ProviderType.STRIPE,
      hasSignatureSecret: true,
      muted: false,
      queueDepth: 0n,
    });
    expect(endpoint!.id).toMatch(/^ep_/);
    expect(endpoint!.ingestUrl).toMatch(new RegExp(`/h/${endpoint!.id}$`));
    expect(timestampMs(endpoint!.createdAt!)).toBe(edge.clock.now());

    await edge.ingest(endpoint!.id, "{}");
    await edge.ingest(endpoint!.id, "{}");
    const got = await edge.client.getEndpoint({ id: endpoint!.id });
    expect(got.endpoint?.queueDepth).toBe(2n);
    expect(got.endpoint?.lastDeliveredAt).toBeUndefined();

    edge.clock.ms += 1;
    const other = (await createGeneric("second")).endpoint!;
    const list = await edge.client.listEndpoints({});
    expect(list.endpoints.map((e) => [e.id, e.queueDepth])).toEqual([
      [endpoint!.id, 2n],
      [other.id, 0n],
    ]);

    edge.clock.ms += 1000;
    const updated = await edge.client.updateEndpoint({ id: endpoint!.id, name: "renamed", muted: true, signatureSecret: "" });
    expect(updated.endpoint).toMatchObject({
      name: "renamed",
      muted: true,
      hasSignatureSecret: false,
      providerType: ProviderType.STRIPE,
      destinationUrl: "http://10.0.0.5:8080/stripe",
      queueDepth: 2n,
    });
    expect(timestampMs(updated.endpoint!.updatedAt!)).toBe(edge.clock.now());

    await edge.client.deleteEndpoint({ id: endpoint!.id });
    expect(await codeOf(edge.client.getEndpoint({ id: endpoint!.id }))).toBe(Code.NotFound);
    expect((await edge.client.listEndpoints({})).endpoints.map((e) => e.id)).toEqual([other.id]);
  });

  it("reports last_delivered_at", async () => {
    const ep = (await createGeneric()).endpoint!;
    const id = await edge.ingest(ep.id, "{}");
    settle(id, "delivered", edge.clock.now() + 5_000);
    const got = await edge.client.getEndpoint({ id: ep.id });
    expect(got.endpoint?.queueDepth).toBe(0n);
    expect(timestampMs(got.endpoint!.lastDeliveredAt!)).toBe(edge.clock.now() + 5_000);
  });

  it.each<[string, () => Promise<unknown>, Code]>([
    ["create without provider", () => edge.client.createEndpoint({ name: "x", destinationUrl: "http://a/" }), Code.InvalidArgument],
    [
      "create with an unknown provider number",
      () => edge.client.createEndpoint({ name: "x", providerType: 99 as ProviderType, destinationUrl: "http://a/" }),
      Code.InvalidArgument,
    ],
    [
      "create with a blank name",
      () => edge.client.createEndpoint({ name: " ", providerType: ProviderType.GITHUB, destinationUrl: "http://a/" }),
      Code.InvalidArgument,
    ],
    [
      "create with an ftp destination",
      () => edge.client.createEndpoint({ name: "x", providerType: ProviderType.GITHUB, destinationUrl: "ftp://a/" }),
      Code.InvalidArgument,
    ],
    ["get an unknown endpoint", () => edge.client.getEndpoint({ id: "ep_doesnotexist0000000" }), Code.NotFound],
    ["get a malformed id", () => edge.client.getEndpoint({ id: "wh_1234567890abc" }), Code.NotFound],
    ["update an unknown endpoint", () => edge.client.updateEndpoint({ id: "ep_doesnotexist0000000", muted: true }), Code.NotFound],
    ["delete an unknown endpoint", () => edge.client.deleteEndpoint({ id: "ep_doesnotexist0000000" }), Code.NotFound],
    ["get an unknown webhook", () => edge.client.getWebhook({ id: "wh_doesnotexist0000000" }), Code.NotFound],
    ["replay an unknown webhook", () => edge.client.replayWebhook({ id: "wh_doesnotexist0000000" }), Code.NotFound],
    ["replay an unknown endpoint", () => edge.client.replayEndpoint({ endpointId: "ep_doesnotexist0000000" }), Code.NotFound],
    ["list with limit 501", () => edge.client.listWebhooks({ limit: 501 }), Code.InvalidArgument],
    ["list with a forged page token", () => edge.client.listWebhooks({ pageToken: "bm90LWEtc2Vx" }), Code.InvalidArgument],
    ["list with garbage page token", () => edge.client.listWebhooks({ pageToken: "!!" }), Code.InvalidArgument],
    ["list with an unknown status", () => edge.client.listWebhooks({ status: 42 as WebhookStatus }), Code.InvalidArgument],
    ["list with since after until", () => edge.client.listWebhooks({ since: timestampFromMs(2_000), until: timestampFromMs(1_000) }), Code.InvalidArgument],
    ["list a malformed endpoint id", () => edge.client.listWebhooks({ endpointId: "nope" }), Code.InvalidArgument],
    ["list an unknown endpoint", () => edge.client.listWebhooks({ endpointId: "ep_doesnotexist0000000" }), Code.NotFound],
  ])("%s", async (_name, call, code) => {
    expect(await codeOf(call())).toBe(code);
  });

  it("names the bad field in the message", async () => {
    const err = await edge.client.listWebhooks({ limit: 900 }).catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).rawMessage).toBe("limit must be an integer from 1 to 500");
  });
});

describe("webhooks", () => {
  it("lists with filters and pages through a few hundred, newest first", async () => {
    const secret = "github-secret-for-tests";
    const gh = (
      await edge.client.createEndpoint({
        name: "github",
        providerType: ProviderType.GITHUB,
        signatureSecret: secret,
        destinationUrl: "http://10.0.0.7/gh",
      })
    ).endpoint!;
    const plain = (await createGeneric()).endpoint!;
    const start = edge.clock.now();
    const sent: { id: string; endpointId: string; verified: boolean; at: number }[] = [];
    for (let i = 0; i < 240; i++) {
      edge.clock.ms = start + i * 60_000;
      const body = JSON.stringify({ i });
      const toGh = i % 3 !== 0;
      const verified = toGh && i % 4 !== 1;
      const headers: Record<string, string> = toGh ? { "x-hub-signature-256": githubSignature(verified ? secret : "wrong", body) } : {};
      const id = await edge.ingest(toGh ? gh.id : plain.id, body, headers);
      sent.push({ id, endpointId: toGh ? gh.id : plain.id, verified, at: edge.clock.ms });
    }
    const failed = sent.filter((_, i) => i % 10 === 3).map((s) => s.id);
    for (const id of failed) settle(id, "failed");
    const newestFirst = [...sent].reverse();

    /** Every page of a query, concatenated. */
    const all = async (req: Parameters<typeof edge.client.listWebhooks>[0]) => {
      const ids: string[] = [];
      let pageToken = "";
      let pages = 0;
      do {
        const page = await edge.client.listWebhooks({ ...req, pageToken });
        ids.push(...page.webhooks.map((w) => w.id));
        for (const w of page.webhooks) expect(w.payload.length).toBe(0);
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken);
      return { ids, pages };
    };

    const cases: [string, Parameters<typeof edge.client.listWebhooks>[0], string[]][] = [
      ["everything", {}, newestFirst.map((s) => s.id)],
      ["one endpoint", { endpointId: gh.id }, newestFirst.filter((s) => s.endpointId === gh.id).map((s) => s.id)],
      ["failed", { status: WebhookStatus.FAILED }, newestFirst.filter((s) => failed.includes(s.id)).map((s) => s.id)],
      [
        "pending of one endpoint",
        { endpointId: plain.id, status: WebhookStatus.PENDING },
        newestFirst.filter((s) => s.endpointId === plain.id && !failed.includes(s.id)).map((s) => s.id),
      ],
      ["unverified", { verified: false }, newestFirst.filter((s) => !s.verified).map((s) => s.id)],
      ["verified of github", { endpointId: gh.id, verified: true }, newestFirst.filter((s) => s.endpointId === gh.id && s.verified).map((s) => s.id)],
      [
        "a time window",
        { since: timestampFromMs(start + 100 * 60_000), until: timestampFromMs(start + 130 * 60_000) },
        newestFirst.filter((s) => s.at >= start + 100 * 60_000 && s.at < start + 130 * 60_000).map((s) => s.id),
      ],
      ["since only", { since: timestampFromMs(start + 230 * 60_000) }, newestFirst.slice(0, 10).map((s) => s.id)],
      ["until only", { until: timestampFromMs(start + 5 * 60_000) }, newestFirst.slice(-5).map((s) => s.id)],
      [
        "window and endpoint and status",
        { endpointId: gh.id, status: WebhookStatus.FAILED, since: timestampFromMs(start), until: timestampFromMs(start + 120 * 60_000) },
        newestFirst.filter((s) => s.endpointId === gh.id && failed.includes(s.id) && s.at < start + 120 * 60_000).map((s) => s.id),
      ],
    ];
    for (const [name, req, expected] of cases) {
      const small = await all({ ...req, limit: 7 });
      expect(small.ids, name).toEqual(expected);
      expect(small.pages, name).toBe(Math.max(1, Math.ceil(expected.length / 7)));
      const big = await edge.client.listWebhooks({ ...req, limit: 500 });
      expect(
        big.webhooks.map((w) => w.id),
        name,
      ).toEqual(expected);
      expect(big.nextPageToken, name).toBe("");
    }

    const first = await edge.client.listWebhooks({});
    expect(first.webhooks).toHaveLength(50);
    expect(first.nextPageToken).not.toBe("");
    const w = first.webhooks[0]!;
    expect(w).toMatchObject({
      id: sent.at(-1)!.id,
      endpointId: gh.id,
      method: "POST",
      status: WebhookStatus.PENDING,
      contentType: "application/json",
      sourceIp: expect.stringMatching(/127\.0\.0\.1/),
      payloadSize: BigInt(JSON.stringify({ i: 239 }).length),
    });
    expect(timestampMs(w.receivedAt!)).toBe(sent.at(-1)!.at);
    expect(timestampMs(w.nextAttemptAt!)).toBe(sent.at(-1)!.at);
  });

  it("gets a webhook with payload, headers and attempts", async () => {
    const ep = (await createGeneric()).endpoint!;
    const id = await edge.ingest(ep.id, '{"hello":"wörld"}', { "X-Custom": "one" }, "a=1&b=2");
    const seq = (edge.app.db.prepare(`SELECT seq FROM webhook WHERE id = ?`).get(id) as { seq: number }).seq;
    const insertAttempt = edge.app.db.prepare(
      `INSERT INTO attempt (id, webhook_seq, number, started_at, duration_ms, status_code, outcome, error, response_excerpt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    insertAttempt.run("att_second00000000000", seq, 2, edge.clock.now() + 2000, 12, 200, "response", null, "ok");
    insertAttempt.run("att_first000000000000", seq, 1, edge.clock.now() + 1000, 30, 503, "response", "HTTP 503", "busy");

    const got = await edge.client.getWebhook({ id });
    expect(new TextDecoder().decode(got.webhook!.payload)).toBe('{"hello":"wörld"}');
    expect(got.webhook!.query).toBe("a=1&b=2");
    expect(got.webhook!.headers).toContainEqual(expect.objectContaining({ name: "X-Custom", value: "one" }));
    expect(got.webhook!.signatureValid).toBe(false);
    expect(got.webhook!.signatureReason).not.toBe("");
    expect(got.attempts.map((a) => [a.id, a.number, a.statusCode, a.error, a.webhookId])).toEqual([
      ["att_first000000000000", 1, 503, "HTTP 503", id],
      ["att_second00000000000", 2, 200, "", id],
    ]);
  });
});

describe("replay", () => {
  it("replays one webhook as a new one at the tail of the queue", async () => {
    const ep = (await createGeneric()).endpoint!;
    const original = await edge.ingest(ep.id, "first", { "X-Trace": "t1" }, "x=1");
    const later = await edge.ingest(ep.id, "second");
    settle(original, "delivered");
    edge.clock.ms += 3_600_000;

    const { webhook } = await edge.client.replayWebhook({ id: original });
    expect(webhook!.id).toMatch(/^wh_/);
    expect(webhook!.id).not.toBe(original);
    expect(webhook).toMatchObject({ replayOf: original, endpointId: ep.id, status: WebhookStatus.PENDING, query: "x=1", attempts: 0 });
    expect(timestampMs(webhook!.receivedAt!)).toBe(edge.clock.now());

    const queue = await edge.client.listWebhooks({ endpointId: ep.id, status: WebhookStatus.PENDING });
    expect(queue.webhooks.map((w) => w.id)).toEqual([webhook!.id, later]);
    const copy = await edge.client.getWebhook({ id: webhook!.id });
    expect(new TextDecoder().decode(copy.webhook!.payload)).toBe("first");
    expect(copy.webhook!.headers).toContainEqual(expect.objectContaining({ name: "X-Trace", value: "t1" }));
    expect((await edge.client.getWebhook({ id: original })).webhook!.status).toBe(WebhookStatus.DELIVERED);
    const row = edge.app.db.prepare(`SELECT d.deliver_by FROM delivery d JOIN webhook w ON w.seq = d.webhook_seq WHERE w.id = ?`).get(webhook!.id) as {
      deliver_by: number;
    };
    expect(row.deliver_by).toBe(edge.clock.now() + edge.app.config.deadLetterAfterMs);
  });

  it("replays every failed and dead-lettered webhook of an endpoint in arrival order", async () => {
    const ep = (await createGeneric()).endpoint!;
    const other = (await createGeneric("other")).endpoint!;
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await edge.ingest(ep.id, `body-${i}`));
    const otherFailed = await edge.ingest(other.id, "other");
    settle(otherFailed, "failed");
    settle(ids[1]!, "dead_letter");
    settle(ids[2]!, "failed");
    settle(ids[5]!, "delivered");
    settle(ids[6]!, "failed");

    const { replayed } = await edge.client.replayEndpoint({ endpointId: ep.id });
    expect(replayed).toBe(3);
    const pending = await edge.client.listWebhooks({ endpointId: ep.id, status: WebhookStatus.PENDING, limit: 3 });
    expect(pending.webhooks.map((w) => w.replayOf).reverse()).toEqual([ids[1], ids[2], ids[6]]);
    expect((await edge.client.listWebhooks({ endpointId: other.id })).webhooks).toHaveLength(1);
    expect((await edge.client.replayEndpoint({ endpointId: other.id })).replayed).toBe(1);
  });
});

describe("status and settings", () => {
  it("reports the hub, the queues, last-24h counts and the oldest pending webhook", async () => {
    const a = (await createGeneric("a")).endpoint!;
    edge.clock.ms += 1;
    const b = (await createGeneric("b")).endpoint!;
    await edge.client.updateEndpoint({ id: b.id, muted: true });
    const dayAgo = edge.clock.now();
    const old = await edge.ingest(a.id, "old");
    edge.clock.ms += 25 * 3_600_000;
    const firstOfB = edge.clock.now();
    await edge.ingest(b.id, "1");
    edge.clock.ms += 1000;
    const delivered = await edge.ingest(b.id, "2");
    const failed = await edge.ingest(a.id, "3");
    settle(delivered, "delivered");
    settle(failed, "failed");
    settle(old, "failed");

    const s = await edge.client.getStatus({});
    expect(s.hub?.connected).toBe(false);
    expect(s.hub?.inFlight).toBe(0n);
    expect(s.edgeVersion).toBe(edge.app.settings.edgeVersion);
    expect(s.queues.map((q) => [q.endpointId, q.name, q.depth, q.muted])).toEqual([
      [a.id, "a", 0n, false],
      [b.id, "b", 1n, true],
    ]);
    expect(timestampMs(s.queues[1]!.oldestPendingAt!)).toBe(firstOfB);
    expect(s.queues[0]!.oldestPendingAt).toBeUndefined();
    expect(s.last24h).toMatchObject({ received: 3n, pending: 1n, delivered: 1n, failed: 1n, deadLetter: 0n });
    expect(timestampMs(s.oldestPendingAt!)).toBe(firstOfB);
    expect(dayAgo).toBeLessThan(firstOfB);
  });

  it("returns the settings", async () => {
    const s = await edge.client.getSettings({});
    expect(s).toMatchObject({
      baseUrl: edge.app.config.baseUrl,
      retentionDays: 7,
      deadLetterAfterHours: 168,
      backoffInitialMs: 1000,
      maxPayloadBytes: BigInt(edge.app.config.maxPayloadBytes),
      edgeVersion: edge.app.settings.edgeVersion,
    });
  });
});

describe("WatchEvents", () => {
  const listenerCount = (events: EdgeEvents) =>
    ["webhook.received", "webhook.updated", "endpoint.changed", "hub.changed", "hub.registry", "destination.changed", "queue.health"].reduce(
      (n, t) => n + (events as unknown as { emitter: { listenerCount(t: string): number } }).emitter.listenerCount(t),
      0,
    );

  it("streams an event after a POST and unsubscribes when the client goes away", async () => {
    const ep = (await createGeneric()).endpoint!;
    const baseline = listenerCount(edge.app.events);
    const abort = new AbortController();
    const stream = edge.client.watchEvents({}, { signal: abort.signal })[Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.value?.type).toBe("heartbeat");
    expect(listenerCount(edge.app.events)).toBe(baseline + 7);

    const id = await edge.ingest(ep.id, "{}");
    const seen: WatchEventsResponse[] = [];
    while (!seen.some((e) => e.type === "webhook.received")) {
      const next = await stream.next();
      if (next.done) throw new Error("stream ended");
      seen.push(next.value);
    }
    expect(seen.find((e) => e.type === "webhook.received")).toMatchObject({ endpointId: ep.id, webhookId: id });

    abort.abort();
    await stream.next().catch(() => undefined);
    const deadline = Date.now() + 5_000;
    while (listenerCount(edge.app.events) !== baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(listenerCount(edge.app.events)).toBe(baseline);
  });

  it("as a plain object: heartbeats, forwards every event type and removes its listeners on abort", async () => {
    const events = new EdgeEvents();
    const rpc = createAdminRpc({
      endpoints: undefined as never,
      webhooks: undefined as never,
      hubs: undefined as never,
      destinations: undefined as never,
      relay: undefined as never,
      queue: undefined as never,
      monitor: undefined as never,
      stats: undefined as never,
      audit: undefined as never,
      settings: undefined as never,
      storage: undefined as never,
      events,
      watchHeartbeatMs: 20,
    });
    const abort = new AbortController();
    const ctx = { signal: abort.signal } as HandlerContext;
    const it = rpc.watchEvents!(create(WatchEventsRequestSchema), ctx)[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ type: "heartbeat" });
    expect(listenerCount(events)).toBe(7);
    events.emit("endpoint.changed", { endpointId: "ep_x" });
    events.emit("webhook.updated", { endpointId: "ep_x", webhookId: "wh_y", status: "delivered" });
    events.emit("hub.changed", { hubId: "hub_bootstrap", connected: true });
    expect((await it.next()).value).toMatchObject({ type: "endpoint.changed", endpointId: "ep_x" });
    expect((await it.next()).value).toMatchObject({ type: "webhook.updated", webhookId: "wh_y" });
    expect((await it.next()).value).toMatchObject({ type: "hub.changed" });
    // A queue that became stuck (or recovered) changes its endpoint's view.
    events.emit("queue.health", { destinationId: "dst_x", endpointId: "ep_q", change: "stuck", health: HEALTHY, at: 0 });
    expect((await it.next()).value).toMatchObject({ type: "endpoint.changed", endpointId: "ep_q" });
    expect((await it.next()).value).toMatchObject({ type: "heartbeat" });
    const pending = it.next();
    abort.abort();
    expect((await pending).done).toBe(true);
    expect(listenerCount(events)).toBe(0);
  });
});

describe("toConnectError", () => {
  it.each([
    ["invalid_argument", Code.InvalidArgument],
    ["not_found", Code.NotFound],
    ["unavailable", Code.Unavailable],
    ["already_exists", Code.AlreadyExists],
    ["permission_denied", Code.PermissionDenied],
    ["failed_precondition", Code.FailedPrecondition],
  ] as const)("maps %s", (code, expected) => {
    const mapped = toConnectError(new AppError(code, "safe message"));
    expect(mapped).toBeInstanceOf(ConnectError);
    expect((mapped as ConnectError).code).toBe(expected);
    expect((mapped as ConnectError).rawMessage).toBe("safe message");
  });

  it("leaves other errors alone (Connect answers Internal without their message)", async () => {
    const boom = new Error("SQLITE_CORRUPT: secret detail");
    expect(toConnectError(boom)).toBe(boom);
    edge.app.db.exec(`DROP TABLE attempt`);
    const ep = (await createGeneric()).endpoint!;
    const id = await edge.ingest(ep.id, "{}");
    const err = ConnectError.from(await edge.client.getWebhook({ id }).catch((e: unknown) => e));
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toBe("internal error");
  });
});
