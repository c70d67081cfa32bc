import { create } from "@bufbuild/protobuf";
import { TimestampSchema, timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_EPOCH, TestClock, buildEdge, type BuiltEdge } from "../../../../test/harness.js";
import { statusFromProto } from "../admin/admin.mapping.js";
import { AppError } from "../errors.js";
import { decodePageToken, encodePageToken } from "./webhook.service.js";
import { DAY_MS, LIST_CASES, seedWebhooks, seededRow, type ListRequest } from "../../../../test/seed.js";
import { WEBHOOK_STATUSES } from "./webhook.store.js";

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
  // note: how fast these answer is measured by `npm run bench -- admin`; here, what they answer.
  const ROWS = 100_000;
  let edge: BuiltEdge<TestClock>;
  let endpointIds: string[];
  let start: number;
  let step: number;

  beforeAll(async () => {
    edge = await buildEdge({ clock: new TestClock(TEST_EPOCH) });
    ({ endpointIds, start, step } = await seedWebhooks(edge, ROWS));
  }, 60_000);

  afterAll(async () => {
    await edge?.close();
  });

  /** The ids a request must return, newest first, worked out from the seeded pattern instead of the database. */
  function expectedIds(req: ListRequest): string[] {
    const status = req.status ? statusFromProto(req.status) : undefined;
    const since = req.since ? timestampMs(create(TimestampSchema, req.since)) : -Infinity;
    const until = req.until ? timestampMs(create(TimestampSchema, req.until)) : Infinity;
    const ids: string[] = [];
    for (let i = ROWS - 1; i >= 0; i--) {
      const row = seededRow(i);
      const at = start + i * step;
      if (req.endpointId && endpointIds[i % 4] !== req.endpointId) continue;
      if (status && row.status !== status) continue;
      if (req.verified !== undefined && row.verified !== req.verified) continue;
      if (at < since || at >= until) continue;
      ids.push(`wh_bulk${String(i).padStart(14, "0")}`);
    }
    return ids;
  }

  it.each(LIST_CASES)("answers %s: the right rows, newest first, and the next page after them", async (name, request) => {
    const req = request({ endpointIds, start, step }, edge.clock.now());
    const want = expectedIds(req);
    const limit = req.limit ?? 50;
    expect(want.length, `${name} matches more than a page`).toBeGreaterThan(limit);
    const first = await edge.client.listWebhooks(req);
    expect(
      first.webhooks.map((w) => w.id),
      name,
    ).toEqual(want.slice(0, limit));
    expect(first.nextPageToken).not.toBe("");
    const second = await edge.client.listWebhooks({ ...req, pageToken: first.nextPageToken });
    expect(
      second.webhooks.map((w) => w.id),
      name,
    ).toEqual(want.slice(limit, 2 * limit));
  });

  it("uses an index for every filter combination (EXPLAIN QUERY PLAN)", () => {
    const ep = endpointIds[0]!;
    const variants: [string, Parameters<BuiltEdge["app"]["webhooks"]["explainList"]>[0], RegExp][] = [
      ["none", {}, /USING INTEGER PRIMARY KEY \(rowid<\?\)/],
      ["endpoint", { endpointId: ep }, /USING INDEX webhook_by_endpoint \(endpoint_id=\? AND seq<\?\)/],
      ["status", { status: "failed" }, /USING INDEX webhook_by_status \(status=\? AND seq<\?\)/],
      ["endpoint + status", { endpointId: ep, status: "failed" }, /USING INDEX webhook_by_endpoint_status \(endpoint_id=\? AND status=\? AND seq<\?\)/],
      ["verified", { verified: true }, /USING INTEGER PRIMARY KEY/],
      [
        "old narrow window",
        { since: start + 7 * 86_400_000, until: start + 8 * 86_400_000 },
        /USING INDEX webhook_by_received_status \(received_at>\? AND received_at<\?\)/,
      ],
      // more than a page in the last hour: walking newest first finds a page at once
      ["recent hour", { since: edge.clock.now() - 3_600_000 }, /USING INTEGER PRIMARY KEY/],
      // fewer than a page: walking would go on to the oldest row, the window is read instead
      ["last minute", { since: edge.clock.now() - 60_000 }, /USING INDEX webhook_by_received_status \(received_at>\?/],
      ["wide window", { since: start + 86_400_000 }, /USING INTEGER PRIMARY KEY/],
      [
        "endpoint + status + window",
        { endpointId: ep, status: "pending", since: start + 1, until: start + 86_400_000 },
        /USING INDEX webhook_by_received_status/,
      ],
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

  it("counts the queues and the last 24 hours in GetStatus and ListEndpoints", async () => {
    const status = await edge.client.getStatus({});
    const list = await edge.client.listEndpoints({});
    expect(status.queues.reduce((n, q) => n + q.depth, 0n)).toBe(BigInt(ROWS / 10));
    expect(list.endpoints.reduce((n, e) => n + e.queueDepth, 0n)).toBe(BigInt(ROWS / 10));
    const dayAgo = edge.clock.now() - DAY_MS;
    const lastDay = Array.from({ length: ROWS }, (_, i) => i).filter((i) => start + i * step >= dayAgo);
    expect(status.last24h!.received).toBe(BigInt(lastDay.length));
    expect(status.last24h!.delivered).toBe(BigInt(lastDay.filter((i) => seededRow(i).status === "delivered").length));
  });
});
