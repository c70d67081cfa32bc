/**
 * The admin API over HTTP on a real edge (port 0, temp database, a clock moved by hand): the
 * REST routes asserted on status codes and JSON, and the guard in front of AdminService (its
 * handlers are unit-tested in memory in apps/edge/src/admin/admin.rpc.test.ts).
 */
import { Code, createClient } from "@connectrpc/connect";
import { AdminService } from "@hookly/proto/gen/admin_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TEST_EPOCH, TEST_SECRETS, TestClock, codeOf, githubSignature, startEdge, testTransport, type TestEdge } from "../harness.js";

let edge: TestEdge<TestClock>;

beforeEach(async () => {
  edge = await startEdge({ clock: new TestClock(TEST_EPOCH), fastRetries: false, checkLeaks: true });
});

afterEach(async () => {
  await edge.close();
});

const UNKNOWN_EP = "ep_doesnotexist0000000";
const UNKNOWN_WH = "wh_doesnotexist0000000";

async function createEndpoint(body: Record<string, unknown> = {}) {
  const res = await edge.api("POST", "/api/endpoints", {
    body: { name: "orders", provider_type: "generic", destination_url: "http://192.168.1.20:3000/hooks", ...body },
  });
  expect(res.status).toBe(201);
  return res.body.endpoint as { id: string; [k: string]: unknown };
}

function settle(id: string, status: "failed" | "dead_letter" | "delivered"): void {
  const at = edge.clock.now();
  edge.app.db
    .prepare(`UPDATE delivery SET status = ?, settled_at = ?, delivered_at = ? WHERE webhook_seq = (SELECT seq FROM webhook WHERE id = ?)`)
    .run(status, at, status === "delivered" ? at : null, id);
  edge.app.db.prepare(`UPDATE webhook SET status = ?, settled_at = ?, delivered_at = ? WHERE id = ?`).run(status, at, status === "delivered" ? at : null, id);
}

describe("AdminService authentication", () => {
  it.each([
    ["no Authorization header", undefined],
    ["a wrong token", "Bearer not-the-admin-token-at-all-000"],
    ["a malformed header", "Basic YWRtaW46YWRtaW4="],
  ])("rejects %s with Unauthenticated", async (_name, header) => {
    const client = createClient(
      AdminService,
      testTransport(edge.url, [
        (next) => (req) => {
          if (header) req.header.set("authorization", header);
          return next(req);
        },
      ]),
    );
    expect(await codeOf(client.listEndpoints({}))).toBe(Code.Unauthenticated);
    expect(await codeOf(client.getStatus({}))).toBe(Code.Unauthenticated);
  });
});

describe("authentication", () => {
  const routes: [string, string][] = [
    ["GET", "/api/endpoints"],
    ["POST", "/api/endpoints"],
    ["GET", `/api/endpoints/${UNKNOWN_EP}`],
    ["PATCH", `/api/endpoints/${UNKNOWN_EP}`],
    ["DELETE", `/api/endpoints/${UNKNOWN_EP}`],
    ["POST", `/api/endpoints/${UNKNOWN_EP}/replay`],
    ["GET", "/api/webhooks"],
    ["GET", `/api/webhooks/${UNKNOWN_WH}`],
    ["GET", `/api/webhooks/${UNKNOWN_WH}/payload`],
    ["POST", `/api/webhooks/${UNKNOWN_WH}/replay`],
    ["GET", "/api/status"],
  ];
  it.each(routes.flatMap(([m, p]) => [[m, p, "no token", null] as const, [m, p, "a wrong token", "wrong-token-wrong-token-wrong"] as const]))(
    "%s %s with %s → 401",
    async (method, path, _why, token) => {
      const res = await edge.api(method, path, { token, body: method === "GET" ? undefined : {} });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: "unauthenticated", message: expect.any(String) } });
    },
  );
});

describe("endpoints", () => {
  it("creates, reads, lists, updates and deletes", async () => {
    const created = await edge.api("POST", "/api/endpoints", {
      body: {
        name: "GitHub",
        provider_type: "github",
        signature_secret: "gh-secret",
        destination_url: "http://10.0.0.9:8080/gh",
        muted: false,
      },
    });
    expect(created.status).toBe(201);
    const ep = created.body.endpoint;
    expect(created.headers.get("location")).toBe(`/api/endpoints/${ep.id}`);
    expect(ep).toEqual({
      id: expect.stringMatching(/^ep_/),
      name: "GitHub",
      provider_type: "github",
      destination_url: "http://10.0.0.9:8080/gh",
      destinations: [
        {
          id: expect.stringMatching(/^dst_/),
          endpoint_id: ep.id,
          hub_id: "hub_bootstrap",
          url: "http://10.0.0.9:8080/gh",
          name: "",
          enabled: true,
          muted: false,
          filter: null,
          policy: { ordering: "strict", concurrency: 1, timeout_ms: null, max_attempts: null, max_age_ms: null, headers: [], unverified: "deliver" },
          position: 0,
          created_at: new Date(edge.clock.now()).toISOString(),
          updated_at: new Date(edge.clock.now()).toISOString(),
          queue: { destination_id: ep.destinations[0].id, pending: 0, held: 0, oldest_pending_at: null, last_delivered_at: null },
          held: null,
          failing: null,
        },
      ],
      event_type_header: null,
      muted: false,
      has_signature_secret: true,
      signature_secret_count: 1,
      dedup_window_ms: 0,
      ingest_url: `${edge.app.config.baseUrl}/h/${ep.id}`,
      created_at: new Date(edge.clock.now()).toISOString(),
      updated_at: new Date(edge.clock.now()).toISOString(),
      queue_depth: 0,
      last_delivered_at: null,
    });
    expect(JSON.stringify(created.body)).not.toContain("gh-secret");

    await edge.ingest(ep.id, "{}");
    const got = await edge.api("GET", `/api/endpoints/${ep.id}`);
    expect(got.status).toBe(200);
    expect(got.body.endpoint.queue_depth).toBe(1);

    const list = await edge.api("GET", "/api/endpoints");
    expect(list.body.endpoints.map((e: { id: string; queue_depth: number }) => [e.id, e.queue_depth])).toEqual([[ep.id, 1]]);

    edge.clock.ms += 60_000;
    const patched = await edge.api("PATCH", `/api/endpoints/${ep.id}`, {
      body: { name: "GitHub prod", muted: true, signature_secret: null, provider_type: "stripe" },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.endpoint).toMatchObject({
      name: "GitHub prod",
      muted: true,
      has_signature_secret: false,
      signature_secret_count: 0,
      provider_type: "stripe",
      updated_at: new Date(edge.clock.now()).toISOString(),
      queue_depth: 1,
    });

    const deleted = await edge.api("DELETE", `/api/endpoints/${ep.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect((await edge.api("GET", `/api/endpoints/${ep.id}`)).status).toBe(404);
    expect((await edge.api("GET", "/api/endpoints")).body.endpoints).toEqual([]);
  });

  const valid = { name: "x", provider_type: "generic", destination_url: "http://a.local/" };
  it.each<[string, { body?: unknown; rawBody?: string }, RegExp]>([
    ["missing name", { body: { provider_type: "generic", destination_url: "http://a/" } }, /^name is required$/],
    ["blank name", { body: { ...valid, name: "  " } }, /^name is required$/],
    ["numeric name", { body: { ...valid, name: 5 } }, /^name must be a string$/],
    ["unknown provider", { body: { ...valid, provider_type: "paypal" } }, /^provider_type must be one of generic, stripe, github, telegram$/],
    ["upper-case provider", { body: { ...valid, provider_type: "STRIPE" } }, /provider_type must be one of/],
    [
      "missing destination",
      { body: { name: "x", provider_type: "generic" } },
      /^an endpoint needs at least one destination \(destination_url or destinations\)$/,
    ],
    ["relative destination", { body: { ...valid, destination_url: "/hooks" } }, /destination_url "\/hooks" is not an absolute URL/],
    ["ftp destination", { body: { ...valid, destination_url: "ftp://a/" } }, /destination_url must use http or https/],
    ["muted as a string", { body: { ...valid, muted: "yes" } }, /^muted must be true or false$/],
    ["camelCase field", { body: { ...valid, destinationUrl: "http://a/" } }, /^unknown field "destinationUrl"$/],
    ["an array body", { body: [valid] }, /^body must be a JSON object$/],
    ["invalid JSON", { rawBody: "{name:" }, /^body is not valid JSON$/],
    ["two bad fields", { body: { name: 1, provider_type: "x", destination_url: "http://a/" } }, /name must be a string; provider_type must be one of/],
  ])("POST /api/endpoints with %s → 400", async (_name, req, message) => {
    const res = await edge.api("POST", "/api/endpoints", req);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_argument");
    expect(res.body.error.message).toMatch(message);
  });

  it.each<[string, unknown, RegExp]>([
    [
      "an empty body",
      {},
      /^body must set at least one of name, provider_type, signature_secret, signature_secrets, destination_url, event_type_header, muted, dedup_window_ms$/,
    ],
    ["a bad provider", { provider_type: "gitlab" }, /^provider_type must be one of/],
    ["a bad url", { destination_url: "nope" }, /destination_url "nope" is not an absolute URL/],
    ["an unknown field", { enabled: true }, /^unknown field "enabled"$/],
  ])("PATCH /api/endpoints/:id with %s → 400", async (_name, body, message) => {
    const ep = await createEndpoint();
    const res = await edge.api("PATCH", `/api/endpoints/${ep.id}`, { body });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(message);
  });
});

describe("not found", () => {
  it.each<[string, string, unknown?]>([
    ["GET", `/api/endpoints/${UNKNOWN_EP}`],
    ["PATCH", `/api/endpoints/${UNKNOWN_EP}`, { muted: true }],
    ["DELETE", `/api/endpoints/${UNKNOWN_EP}`],
    ["POST", `/api/endpoints/${UNKNOWN_EP}/replay`],
    ["GET", `/api/endpoints/not-an-id`],
    ["GET", `/api/webhooks/${UNKNOWN_WH}`],
    ["GET", `/api/webhooks/not-an-id`],
    ["GET", `/api/webhooks/${UNKNOWN_WH}/payload`],
    ["POST", `/api/webhooks/${UNKNOWN_WH}/replay`],
    ["GET", `/api/webhooks?endpoint_id=${UNKNOWN_EP}`],
    ["GET", "/api/nothing-here"],
  ])("%s %s → 404", async (method, path, body) => {
    const res = await edge.api(method, path, { body });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: "not_found", message: expect.any(String) } });
  });

  it("answers a wrong method on a known path with 405 and Allow, as every other path does", async () => {
    const res = await edge.api("PUT", "/api/endpoints", { body: {} });
    expect(res.status).toBe(405);
    expect(res.body).toEqual({ error: { code: "method_not_allowed", message: "PUT is not allowed on /api/endpoints" } });
    expect(res.headers.get("allow")).toBe("GET, HEAD, POST");
  });
});

describe("webhooks", () => {
  it.each<[string, RegExp]>([
    ["status=bogus", /^status must be one of pending, delivered, failed, dead_letter, partial, filtered$/],
    ["status=DELIVERED", /^status must be one of/],
    ["verified=maybe", /^verified must be true or false$/],
    ["since=yesterday", /^since must be an ISO-8601 time/],
    ["until=2025-13-45T00:00:00Z", /^until must be an ISO-8601 time/],
    ["since=2025-03-01T10:00:00", /^since must be an ISO-8601 time/],
    ["since=2025-03-02T00:00:00Z&until=2025-03-01T00:00:00Z", /^since must be before until$/],
    ["limit=0", /^limit must be an integer from 1 to 500$/],
    ["limit=501", /^limit must be an integer from 1 to 500$/],
    ["limit=ten", /^limit must be an integer from 1 to 500$/],
    ["limit=-1", /^limit must be an integer from 1 to 500$/],
    ["page_token=!!!", /^page_token is not valid/],
    ["page_token=MA", /^page_token is not valid/],
    ["endpoint_id=orders", /^endpoint_id "orders" is not an endpoint id/],
    ["foo=1", /^unknown query parameter "foo"$/],
    ["limit=5&limit=6", /^query parameter "limit" is given more than once$/],
  ])("GET /api/webhooks?%s → 400", async (query, message) => {
    const res = await edge.api("GET", `/api/webhooks?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_argument");
    expect(res.body.error.message).toMatch(message);
  });

  it("filters and pages through a few hundred webhooks", async () => {
    const secret = "the-github-secret";
    const gh = await createEndpoint({ name: "gh", provider_type: "github", signature_secret: secret });
    edge.clock.ms += 1;
    const plain = await createEndpoint({ name: "plain" });
    const start = edge.clock.now();
    const sent: { id: string; ep: string; verified: boolean; at: number }[] = [];
    // note: posted in parallel batches (one group commit each); their order within a batch is whatever arrived first.
    for (let batch = 0; batch < 6; batch++) {
      edge.clock.ms = start + batch * 3_600_000;
      const posts = Array.from({ length: 50 }, (_, i) => {
        const n = batch * 50 + i;
        const body = JSON.stringify({ n });
        const toGh = n % 2 === 0;
        const verified = toGh && n % 3 !== 0;
        const headers: Record<string, string> = toGh ? { "X-Hub-Signature-256": githubSignature(verified ? secret : "nope", body) } : {};
        return edge.ingest(toGh ? gh.id : plain.id, body, headers).then((id) => ({ id, ep: toGh ? gh.id : plain.id, verified, at: edge.clock.ms }));
      });
      sent.push(...(await Promise.all(posts)));
    }
    const failed = new Set(sent.filter((_, i) => i % 7 === 0).map((s) => s.id));
    const dead = new Set(sent.filter((_, i) => i % 11 === 5).map((s) => s.id));
    for (const id of failed) settle(id, "failed");
    for (const id of dead) if (!failed.has(id)) settle(id, "dead_letter");

    const everything = await edge.api("GET", "/api/webhooks?limit=500");
    expect(everything.status).toBe(200);
    expect(everything.body.next_page_token).toBe("");
    const order: string[] = everything.body.webhooks.map((w: { id: string }) => w.id);
    expect(new Set(order)).toEqual(new Set(sent.map((s) => s.id)));
    const times = everything.body.webhooks.map((w: { received_at: string }) => Date.parse(w.received_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const byId = new Map(sent.map((s) => [s.id, s]));
    const statusOf = (id: string) => (failed.has(id) ? "failed" : dead.has(id) ? "dead_letter" : "pending");
    const hour = (h: number) => new Date(start + h * 3_600_000).toISOString();

    const cases: [string, (id: string) => boolean][] = [
      [`endpoint_id=${gh.id}`, (id) => byId.get(id)!.ep === gh.id],
      ["status=failed", (id) => statusOf(id) === "failed"],
      ["status=dead_letter", (id) => statusOf(id) === "dead_letter"],
      [`status=pending&endpoint_id=${plain.id}`, (id) => statusOf(id) === "pending" && byId.get(id)!.ep === plain.id],
      ["verified=true", (id) => byId.get(id)!.verified],
      [`verified=false&endpoint_id=${gh.id}`, (id) => !byId.get(id)!.verified && byId.get(id)!.ep === gh.id],
      [`since=${hour(2)}&until=${hour(4)}`, (id) => byId.get(id)!.at >= start + 2 * 3_600_000 && byId.get(id)!.at < start + 4 * 3_600_000],
      [`since=${hour(5)}`, (id) => byId.get(id)!.at >= start + 5 * 3_600_000],
      [`until=${hour(1)}&status=failed`, (id) => byId.get(id)!.at < start + 3_600_000 && statusOf(id) === "failed"],
    ];
    for (const [query, keep] of cases) {
      const expected = order.filter(keep);
      expect(expected.length, query).toBeGreaterThan(0);
      const seen: string[] = [];
      let token = "";
      let pages = 0;
      do {
        const res = await edge.api("GET", `/api/webhooks?${query}&limit=13${token ? `&page_token=${token}` : ""}`);
        expect(res.status, query).toBe(200);
        expect(res.body.webhooks.length, query).toBeLessThanOrEqual(13);
        seen.push(...res.body.webhooks.map((w: { id: string }) => w.id));
        token = res.body.next_page_token;
        pages++;
      } while (token);
      expect(seen, query).toEqual(expected);
      expect(pages, query).toBe(Math.ceil(expected.length / 13));
    }

    const page = await edge.api("GET", "/api/webhooks");
    expect(page.body.webhooks).toHaveLength(50);
    const w = page.body.webhooks[0];
    expect(Object.keys(w).sort()).toEqual(
      [
        "id",
        "endpoint_id",
        "received_at",
        "method",
        "query",
        "payload_size",
        "content_type",
        "source_ip",
        "signature_valid",
        "signature_reason",
        "event_type",
        "status",
        "attempts",
        "last_attempt_at",
        "delivered_at",
        "next_attempt_at",
        "deliver_by",
        "error_message",
        "replay_of",
        "duplicate_of",
        "superseded_by",
        "resigned",
      ].sort(),
    );
    expect(w).not.toHaveProperty("payload");
  });

  it("gets one webhook with its payload as base64 and text, headers and attempts", async () => {
    const ep = await createEndpoint();
    const textId = await edge.ingest(ep.id, '{"ok":"✓"}', { "X-Request-Id": "r-1" }, "page=2");
    const binary = new Uint8Array([0xff, 0x00, 0xfe, 0x41]);
    const binId = await edge.ingest(ep.id, binary, { "content-type": "application/octet-stream" });
    const seq = (edge.app.db.prepare(`SELECT seq FROM webhook WHERE id = ?`).get(textId) as { seq: number }).seq;
    edge.app.db
      .prepare(
        `INSERT INTO attempt (id, webhook_seq, number, started_at, duration_ms, status_code, outcome, error, response_excerpt)
         VALUES ('att_a000000000000000000', ?, 1, ?, 42, 502, 'response', 'HTTP 502', 'bad gateway')`,
      )
      .run(seq, edge.clock.now());

    // The payload itself: the bytes as received, with their content type, as a download never rendered.
    for (const [id, bytes, type, name] of [
      [textId, Buffer.from('{"ok":"✓"}'), "application/json", `${textId}.json`],
      [binId, Buffer.from(binary), "application/octet-stream", `${binId}.bin`],
    ] as const) {
      const raw = await fetch(`${edge.url}/api/webhooks/${id}/payload`, { headers: { authorization: `Bearer ${TEST_SECRETS.ADMIN_TOKEN}` } });
      expect(raw.status).toBe(200);
      expect(Buffer.from(await raw.arrayBuffer()).equals(bytes)).toBe(true);
      expect(raw.headers.get("content-type")).toBe(type);
      expect(raw.headers.get("content-length")).toBe(String(bytes.length));
      expect(raw.headers.get("content-disposition")).toBe(`attachment; filename="${name}"`);
      expect(raw.headers.get("x-content-type-options")).toBe("nosniff");
      expect(raw.headers.get("content-security-policy")).toMatch(/^sandbox/);
    }

    const res = await edge.api("GET", `/api/webhooks/${textId}`);
    expect(res.status).toBe(200);
    expect(res.body.webhook).toMatchObject({
      id: textId,
      endpoint_id: ep.id,
      method: "POST",
      query: "page=2",
      status: "pending",
      signature_valid: false,
      payload: Buffer.from('{"ok":"✓"}').toString("base64"),
      payload_text: '{"ok":"✓"}',
      payload_size: Buffer.byteLength('{"ok":"✓"}'),
      received_at: new Date(edge.clock.now()).toISOString(),
      deliver_by: new Date(edge.clock.now() + edge.app.config.deadLetterAfterMs).toISOString(),
      replay_of: null,
    });
    expect(res.body.webhook.headers).toContainEqual({ name: "X-Request-Id", value: "r-1" });
    expect(res.body.attempts).toEqual([
      {
        id: "att_a000000000000000000",
        webhook_id: textId,
        destination_id: null,
        number: 1,
        started_at: new Date(edge.clock.now()).toISOString(),
        duration_ms: 42,
        status_code: 502,
        outcome: "response",
        error: "HTTP 502",
        response_excerpt: "bad gateway",
      },
    ]);

    const bin = await edge.api("GET", `/api/webhooks/${binId}`);
    expect(bin.body.webhook.payload).toBe(Buffer.from(binary).toString("base64"));
    expect(bin.body.webhook.payload_text).toBeNull();
    expect(bin.body.attempts).toEqual([]);
  });

  it("replays one webhook to the tail of its queue", async () => {
    const ep = await createEndpoint();
    const original = await edge.ingest(ep.id, "one");
    const second = await edge.ingest(ep.id, "two");
    settle(original, "dead_letter");
    edge.clock.ms += 5_000;
    const res = await edge.api("POST", `/api/webhooks/${original}/replay`);
    expect(res.status).toBe(201);
    const copy = res.body.webhook;
    expect(copy).toMatchObject({ replay_of: original, status: "pending", endpoint_id: ep.id, attempts: 0 });
    expect(copy.id).not.toBe(original);
    expect(res.headers.get("location")).toBe(`/api/webhooks/${copy.id}`);
    expect(copy.received_at).toBe(new Date(edge.clock.now()).toISOString());
    const queue = await edge.api("GET", `/api/webhooks?endpoint_id=${ep.id}&status=pending`);
    expect(queue.body.webhooks.map((w: { id: string }) => w.id)).toEqual([copy.id, second]);
    expect((await edge.api("GET", `/api/webhooks/${copy.id}`)).body.webhook.payload_text).toBe("one");
  });

  it("bulk-replays an endpoint's failed and dead-lettered webhooks", async () => {
    const ep = await createEndpoint();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await edge.ingest(ep.id, `n${i}`));
    settle(ids[0]!, "failed");
    settle(ids[3]!, "dead_letter");
    settle(ids[4]!, "delivered");
    const res = await edge.api("POST", `/api/endpoints/${ep.id}/replay`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ replayed: 2 });
    const pending = await edge.api("GET", `/api/webhooks?endpoint_id=${ep.id}&status=pending`);
    expect(pending.body.webhooks.map((w: { replay_of: string | null }) => w.replay_of)).toEqual([ids[3], ids[0], null, null]);
    expect((await edge.api("POST", `/api/endpoints/${(await createEndpoint({ name: "empty" })).id}/replay`)).body).toEqual({
      replayed: 0,
    });
  });
});

describe("status", () => {
  it("reports hub, queues, last-24h counts and the oldest pending webhook", async () => {
    const ep = await createEndpoint({ name: "q" });
    const empty = await createEndpoint({ name: "muted", muted: true });
    const oldest = edge.clock.now();
    await edge.ingest(ep.id, "a");
    edge.clock.ms += 1_000;
    const b = await edge.ingest(ep.id, "b");
    settle(b, "delivered");
    const res = await edge.api("GET", "/api/status");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      hub: {
        connected: false,
        since: expect.any(String),
        hub_id: "hub_bootstrap",
        hub_version: null,
        last_seen_at: null,
        in_flight: 0,
      },
      hubs: [expect.objectContaining({ id: "hub_bootstrap", bootstrap: true, connected: false, destinations: 2, queue_depth: 1 })],
      queues: expect.arrayContaining([
        { endpoint_id: ep.id, name: "q", depth: 1, oldest_pending_at: new Date(oldest).toISOString(), muted: false },
        { endpoint_id: empty.id, name: "muted", depth: 0, oldest_pending_at: null, muted: true },
      ]),
      last_24h: { received: 2, delivered: 1, failed: 0, dead_letter: 0, pending: 1 },
      oldest_pending_at: new Date(oldest).toISOString(),
      edge_version: edge.app.settings.edgeVersion,
      storage: expect.objectContaining({ healthy: true, delivery_paused: false, min_free_bytes: 64 * 1_048_576, faults: [] }),
    });
    const endpoint = await edge.api("GET", `/api/endpoints/${ep.id}`);
    expect(endpoint.body.endpoint.last_delivered_at).toBe(new Date(edge.clock.now()).toISOString());
  });
});
