import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DestinationSchema, EndpointSchema, QueueFailureSchema } from "@hookly/proto/gen/admin_pb";
import { describe, expect, it } from "vitest";
import { awaitsStuck, durationInWords, failureView, hasStuckDestination, lastAnswer, pendingHref, stuckQueues, type QueueFailureLike } from "./queue-failure";

const NOW = Date.parse("2026-12-02T07:30:00.000Z");
const ago = (ms: number) => timestampFromDate(new Date(NOW - ms));
const MIN = 60_000;

/** A failing streak: 12 min, 8 attempts, HTTP 500 last, stuck 2 min ago. */
const stuck: QueueFailureLike = { since: ago(12 * MIN), attempts: 8, webhookId: "wh_head", statusCode: 500, error: "HTTP 500", stuckSince: ago(2 * MIN) };

describe("durations in words", () => {
  it.each([
    [0, "under a minute"],
    [59_999, "under a minute"],
    [-5_000, "under a minute"],
    [MIN, "1 min"],
    [12 * MIN + 40_000, "12 min"],
    [60 * MIN, "1 h"],
    [65 * MIN, "1 h 5 min"],
    [23 * 60 * MIN + 59 * MIN, "23 h 59 min"],
    [24 * 60 * MIN, "1 day"],
    [(2 * 24 + 4) * 60 * MIN + 30 * MIN, "2 days 4 h"],
    [7 * 24 * 60 * MIN, "7 days"],
  ])("%d ms is %s", (ms, words) => {
    expect(durationInWords(ms)).toBe(words);
  });
});

describe("the last answer", () => {
  it.each([
    [{ statusCode: 500, error: "HTTP 500" }, "HTTP 500"],
    [{ statusCode: 503, error: "" }, "HTTP 503"],
    [{ statusCode: 502, error: "upstream closed" }, "HTTP 502 (upstream closed)"],
    [{ statusCode: 0, error: "timeout" }, "timeout"],
    [{ statusCode: 0, error: "  " }, ""],
  ])("%o reads %s", (f, text) => {
    expect(lastAnswer(f)).toBe(text);
  });
});

describe("what a failing destination shows", () => {
  it("nothing when its queue is healthy", () => {
    expect(failureView(undefined, "ep_1", NOW)).toBeUndefined();
    expect(failureView({ attempts: 0, webhookId: "", statusCode: 0, error: "" }, "ep_1", NOW)).toBeUndefined();
  });

  it("Stuck, for how long, how often, the last answer, and where to act", () => {
    expect(failureView(stuck, "ep_1", NOW)).toEqual({
      stuck: true,
      label: "Stuck",
      detail: "failing for 12 min, 8 attempts, last HTTP 500",
      sentence: "Stuck: failing for 12 min, 8 attempts, last HTTP 500",
      lastError: "HTTP 500",
      stuckSince: new Date(NOW - 2 * MIN),
      webhookHref: "/webhooks/wh_head",
      pendingHref: "/webhooks?endpoint=ep_1&status=pending",
    });
  });

  it("Failing, quieter, before it counts as stuck; an error without an answer", () => {
    const view = failureView(
      { since: ago(30_000), attempts: 1, webhookId: "wh_a", statusCode: 0, error: "connect ECONNREFUSED 192.168.1.20:8080" },
      "ep_2",
      NOW,
    );
    expect(view).toMatchObject({
      stuck: false,
      label: "Failing",
      detail: "failing for under a minute, 1 attempt, last error: connect ECONNREFUSED 192.168.1.20:8080",
      sentence: "Failing for under a minute, 1 attempt, last error: connect ECONNREFUSED 192.168.1.20:8080",
    });
    expect(view?.stuckSince).toBeUndefined();
  });

  it("stuck since it became stuck when the failing head has left the queue (no streak now), with no webhook to link", () => {
    const view = failureView({ attempts: 0, webhookId: "", statusCode: 500, error: "HTTP 500", stuckSince: ago(90 * MIN) }, "ep_1", NOW);
    expect(view).toMatchObject({ stuck: true, detail: "stuck for 1 h 30 min, last HTTP 500" });
    expect(view?.webhookHref).toBeUndefined();
  });

  it("reads the edge's messages", () => {
    const f = create(QueueFailureSchema, { since: ago(3 * MIN), attempts: 2, webhookId: "wh_x", statusCode: 500, error: "HTTP 500" });
    expect(failureView(f, "ep_1", NOW)?.detail).toBe("failing for 3 min, 2 attempts, last HTTP 500");
    expect(failureView(create(QueueFailureSchema), "ep_1", NOW)).toBeUndefined();
  });

  it("links the pending list of the endpoint", () => {
    expect(pendingHref("ep_a b")).toBe("/webhooks?endpoint=ep_a+b&status=pending");
  });
});

describe("stuck queues across endpoints", () => {
  const endpoints = [
    create(EndpointSchema, {
      id: "ep_1",
      name: "stripe",
      destinations: [
        create(DestinationSchema, { id: "dst_ok", url: "http://nas.lan/ok" }),
        create(DestinationSchema, { id: "dst_new", url: "http://nas.lan/new", failing: { ...stuck, stuckSince: ago(MIN) } }),
      ],
    }),
    create(EndpointSchema, {
      id: "ep_2",
      name: "github",
      destinations: [
        create(DestinationSchema, { id: "dst_old", name: "CI", url: "http://ci.lan/", failing: { ...stuck, stuckSince: ago(40 * MIN) } }),
        create(DestinationSchema, {
          id: "dst_failing",
          url: "http://x.lan/",
          failing: { since: ago(MIN), attempts: 1, webhookId: "wh_1", statusCode: 500, error: "" },
        }),
      ],
    }),
    create(EndpointSchema, { id: "ep_3", name: "calm", destinations: [create(DestinationSchema, { id: "dst_calm", url: "http://calm.lan/" })] }),
  ];

  it("lists only stuck destinations, the longest stuck first, named or by URL", () => {
    expect(stuckQueues(endpoints, NOW).map((q) => [q.endpointName, q.destination, q.destinationId, q.view.detail])).toEqual([
      ["github", "CI", "dst_old", "failing for 12 min, 8 attempts, last HTTP 500"],
      ["stripe", "http://nas.lan/new", "dst_new", "failing for 12 min, 8 attempts, last HTTP 500"],
    ]);
    expect(stuckQueues([endpoints[2]!], NOW)).toEqual([]);
  });

  it("marks an endpoint with a stuck destination", () => {
    expect(endpoints.map(hasStuckDestination)).toEqual([true, true, false]);
  });

  it("reloads only while a destination is failing but not stuck yet (becoming stuck by time is not announced)", () => {
    expect(awaitsStuck(endpoints)).toBe(true);
    expect(awaitsStuck([endpoints[0]!, endpoints[2]!])).toBe(false);
  });
});
