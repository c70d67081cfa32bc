import { create } from "@bufbuild/protobuf";
import { TimestampSchema, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { ProviderType, WebhookStatus } from "@hookly/proto/gen/admin_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_EPOCH, TestClock, buildEdge, type BuiltEdge } from "../../../../test/harness.js";
import { statusFromProto } from "../admin/admin.mapping.js";
import { AppError } from "../errors.js";
import { decodePageToken, encodePageToken } from "./webhook.service.js";
import { WEBHOOK_STATUSES, type WebhookStatusName } from "./webhook.store.js";

describe("page tokens", () => {
  it.each([1, 42, 99_999, 2 ** 40])("round-trips seq %i", (seq) => {
    const token = encodePageToken(seq);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token)).toBe(seq);
  });

  it.each(["", "!!", "MA", "LTE", "MDE", "YWJj", `${encodePageToken(5)}=`, "A".repeat(40)])("rejects %j", (token) => {
    expect(() => decodePageToken(token)).toThrow(AppError);
    expect(() => decodePageToken(token)).toThrow(/page_token is not valid/);
  });
});

describe("ListWebhooks at 100,000 rows", () => {
  const ROWS = 100_000;
  const DAY = 86_400_000;
  let edge: BuiltEdge<TestClock>;
  let endpointIds: string[];
  let start: number;

  beforeAll(async () => {
    edge = await buildEdge({ clock: new TestClock(TEST_EPOCH) });
    endpointIds = [];
    for (const name of ["stripe", "github", "telegram", "generic"]) {
      const { endpoint } = await edge.client.createEndpoint({
        name,
        providerType: ProviderType.GENERIC,
        destinationUrl: `http://10.0.0.1/${name}`,
      });
      endpointIds.push(endpoint!.id);
    }
    // 100,000 webhooks over 30 days, one transaction; the clock ends just after the last.
    start = edge.clock.now();
    const step = Math.floor((30 * DAY) / ROWS);
    const insertWebhook = edge.app.db.prepare(
      `INSERT INTO webhook (id, endpoint_id, received_at, method, query, payload_size, content_type, source_ip,
         signature_valid, signature_reason, status, attempts, delivered_at, settled_at)
       VALUES (?, ?, ?, 'POST', '', 2, 'application/json', '203.0.113.9', ?, ?, ?, ?, ?, ?)`,
    );
    const insertDelivery = edge.app.db.prepare(
      `INSERT INTO delivery (webhook_seq, destination_id, status, attempts, next_attempt_at, deliver_by, delivered_at, settled_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const destinationOf = new Map(endpointIds.map((id) => [id, edge.app.destinations.ofEndpoint(id)[0]!.id]));
    const insertBody = edge.app.db.prepare(`INSERT INTO webhook_body (webhook_seq, headers, payload) VALUES (?, '[]', ?)`);
    const payload = Buffer.from("{}");
    const t0 = performance.now();
    edge.app.db.transaction(() => {
      for (let i = 0; i < ROWS; i++) {
        const at = start + i * step;
        const r = (i * 7919) % 100;
        const status: WebhookStatusName = r < 80 ? "delivered" : r < 90 ? "pending" : r < 95 ? "failed" : "dead_letter";
        const verified = i % 10 !== 3;
        const settled = status === "pending" ? null : at + 500;
        const { lastInsertRowid } = insertWebhook.run(
          `wh_bulk${String(i).padStart(14, "0")}`,
          endpointIds[i % 4]!,
          at,
          verified ? 1 : 0,
          verified ? null : "signature mismatch",
          status,
          status === "pending" ? 0 : 1,
          status === "delivered" ? settled : null,
          settled,
        );
        insertBody.run(lastInsertRowid, payload);
        insertDelivery.run(
          lastInsertRowid,
          destinationOf.get(endpointIds[i % 4]!)!,
          status,
          status === "pending" ? 0 : 1,
          at,
          at + 7 * DAY,
          status === "delivered" ? settled : null,
          settled,
        );
      }
    })();
    edge.clock.ms = start + ROWS * step + 1000;
    console.log(`inserted ${ROWS} webhooks in ${(performance.now() - t0).toFixed(0)} ms`);
  }, 60_000);

  afterAll(async () => {
    await edge?.close();
  });

  const days = (n: number) => timestampFromMs(start + n * DAY);

  const cases: [string, () => Parameters<BuiltEdge["client"]["listWebhooks"]>[0]][] = [
    ["newest page, no filter", () => ({})],
    ["one endpoint", () => ({ endpointId: endpointIds[1] })],
    ["failed", () => ({ status: WebhookStatus.FAILED })],
    ["endpoint + dead_letter", () => ({ endpointId: endpointIds[2], status: WebhookStatus.DEAD_LETTER })],
    ["endpoint + pending + unverified", () => ({ endpointId: endpointIds[1], status: WebhookStatus.PENDING, verified: false })],
    ["unverified, 500 per page", () => ({ verified: false, limit: 500 })],
    ["a day three weeks ago", () => ({ since: days(7), until: days(8) })],
    ["endpoint + failed in an old week", () => ({ endpointId: endpointIds[3], status: WebhookStatus.FAILED, since: days(2), until: days(9) })],
    ["the last hour", () => ({ since: timestampFromMs(edge.clock.now() - 3_600_000) })],
    ["until the second day", () => ({ until: days(1), status: WebhookStatus.DELIVERED })],
    ["since day one (wide window)", () => ({ since: days(1) })],
  ];

  it.each(cases)("answers %s quickly", async (name, request) => {
    const req = request();
    await edge.client.listWebhooks(req); // warm the statement and the page cache
    const t0 = performance.now();
    const first = await edge.client.listWebhooks(req);
    const firstMs = performance.now() - t0;
    expect(first.webhooks.length).toBeGreaterThan(0);
    const t1 = performance.now();
    const second = first.nextPageToken ? await edge.client.listWebhooks({ ...req, pageToken: first.nextPageToken }) : undefined;
    const secondMs = performance.now() - t1;
    const t2 = performance.now();
    edge.app.webhooks.list({
      endpointId: req.endpointId,
      status: req.status ? statusFromProto(req.status) : undefined,
      verified: req.verified,
      since: req.since ? timestampMs(create(TimestampSchema, req.since)) : undefined,
      until: req.until ? timestampMs(create(TimestampSchema, req.until)) : undefined,
      limit: req.limit,
    });
    const serviceMs = performance.now() - t2;
    console.log(
      `ListWebhooks ${name}: ${first.webhooks.length} rows in ${firstMs.toFixed(1)} ms in memory (${serviceMs.toFixed(2)} ms in the service)` +
        (second ? `, next page ${second.webhooks.length} rows in ${secondMs.toFixed(1)} ms` : ""),
    );
    expect(firstMs).toBeLessThan(250);
    expect(secondMs).toBeLessThan(250);
    if (second) expect(second.webhooks[0]!.id < first.webhooks.at(-1)!.id).toBe(true);
  });

  it("uses an index for every filter combination (EXPLAIN QUERY PLAN)", () => {
    const ep = endpointIds[0]!;
    const variants: [string, Parameters<BuiltEdge["app"]["webhooks"]["explainList"]>[0], RegExp][] = [
      ["none", {}, /USING INTEGER PRIMARY KEY \(rowid<\?\)/],
      ["endpoint", { endpointId: ep }, /USING INDEX webhook_by_endpoint \(endpoint_id=\? AND seq<\?\)/],
      ["status", { status: "failed" }, /USING INDEX webhook_by_status \(status=\? AND seq<\?\)/],
      ["endpoint + status", { endpointId: ep, status: "failed" }, /USING INDEX webhook_by_endpoint_status \(endpoint_id=\? AND status=\? AND seq<\?\)/],
      ["verified", { verified: true }, /USING INTEGER PRIMARY KEY/],
      ["old narrow window", { since: start + 7 * 86_400_000, until: start + 8 * 86_400_000 }, /USING INDEX webhook_by_received_status \(received_at>\? AND received_at<\?\)/],
      // more than a page in the last hour: walking newest first finds a page at once
      ["recent hour", { since: edge.clock.now() - 3_600_000 }, /USING INTEGER PRIMARY KEY/],
      // fewer than a page: walking would go on to the oldest row, the window is read instead
      ["last minute", { since: edge.clock.now() - 60_000 }, /USING INDEX webhook_by_received_status \(received_at>\?/],
      ["wide window", { since: start + 86_400_000 }, /USING INTEGER PRIMARY KEY/],
      ["endpoint + status + window", { endpointId: ep, status: "pending", since: start + 1, until: start + 86_400_000 }, /USING INDEX webhook_by_received_status/],
    ];
    for (const [name, filter, expected] of variants) {
      const { detail } = edge.app.webhooks.explainList(filter);
      const plan = detail.join(" | ");
      expect(plan, name).toMatch(expected);
      expect(plan, name).not.toMatch(/SCAN webhook(?! USING COVERING)/);
    }
    for (const status of WEBHOOK_STATUSES) {
      expect(edge.app.webhooks.explainList({ status, endpointId: ep }).detail.join(" ")).toContain("webhook_by_endpoint_status");
    }
  });

  it("keeps GetStatus and ListEndpoints fast too", async () => {
    await edge.client.getStatus({});
    const t0 = performance.now();
    const status = await edge.client.getStatus({});
    const statusMs = performance.now() - t0;
    const t1 = performance.now();
    const list = await edge.client.listEndpoints({});
    const listMs = performance.now() - t1;
    console.log(`GetStatus in ${statusMs.toFixed(1)} ms, ListEndpoints in ${listMs.toFixed(1)} ms`);
    expect(status.queues.reduce((n, q) => n + q.depth, 0n)).toBe(BigInt(ROWS / 10));
    expect(list.endpoints.reduce((n, e) => n + e.queueDepth, 0n)).toBe(BigInt(ROWS / 10));
    expect(status.last24h!.received).toBeGreaterThan(3000n);
    expect(statusMs).toBeLessThan(250);
    expect(listMs).toBeLessThan(250);
  });
});
