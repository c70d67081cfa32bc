import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { DeliveryStatus } from "@hookly/proto/gen/admin_pb";
import { DELIVERY_ACTIONS, deliveryActions, deliveryOutcome, heldSince, settledNote, type DeliveryLike } from "./delivery-actions";

const NOW = Date.parse("2025-03-01T12:00:00Z");

const delivery = (over: Partial<DeliveryLike> = {}): DeliveryLike => ({
  destinationId: "dst_a",
  status: DeliveryStatus.PENDING,
  queueHead: false,
  nextAttemptAt: undefined,
  settledBy: "",
  heldAt: undefined,
  ...over,
});

describe("which actions a delivery offers", () => {
  it.each([
    ["the head, waiting for a retry", { queueHead: true, nextAttemptAt: timestampFromMs(NOW + 30_000) }, ["retry_now", "skip"]],
    ["the head, due now (never tried, or its retry fell due)", { queueHead: true, nextAttemptAt: timestampFromMs(NOW - 1) }, ["skip"]],
    ["the head, with no next attempt recorded", { queueHead: true }, ["skip"]],
    ["behind the head", { queueHead: false, nextAttemptAt: timestampFromMs(NOW) }, ["cancel"]],
    ["behind the head, waiting for a retry", { queueHead: false, nextAttemptAt: timestampFromMs(NOW + 1000) }, ["retry_now", "cancel"]],
    ["delivered", { status: DeliveryStatus.DELIVERED, queueHead: false }, []],
    ["failed (replay it instead)", { status: DeliveryStatus.FAILED }, []],
    ["dead-lettered", { status: DeliveryStatus.DEAD_LETTER }, []],
    ["filtered", { status: DeliveryStatus.FILTERED }, []],
    [
      "held (unverified): release or cancel, never skip or retry",
      { heldAt: timestampFromMs(NOW - 60_000), nextAttemptAt: timestampFromMs(NOW + 1000) },
      ["release", "cancel"],
    ],
    ["held at the head? still only release or cancel", { heldAt: timestampFromMs(NOW - 60_000), queueHead: true }, ["release", "cancel"]],
    ["released and failed since (held_at left over)", { heldAt: timestampFromMs(NOW - 60_000), status: DeliveryStatus.FAILED }, []],
  ] as const)("%s", (_, over, expected) => {
    expect(deliveryActions(delivery(over), NOW)).toEqual(expected);
  });

  it("sends each action's wire value", () => {
    expect(Object.values(DELIVERY_ACTIONS).map((a) => a.value)).toEqual([1, 2, 3, 4]);
  });

  it("says since when a pending delivery is held, and nothing once it is not pending", () => {
    expect(heldSince(delivery({ heldAt: timestampFromMs(NOW) }))?.getTime()).toBe(NOW);
    expect(heldSince(delivery())).toBeUndefined();
    expect(heldSince(delivery({ heldAt: timestampFromMs(NOW), status: DeliveryStatus.DELIVERED }))).toBeUndefined();
  });
});

describe("who settled a delivery", () => {
  const settled = delivery({ status: DeliveryStatus.FAILED, settledBy: "admin" });

  it("says skipped or cancelled, from the newest audit entry at its destination", () => {
    const audit = [
      { action: "cancel", destinationId: "dst_b" },
      { action: "skip", destinationId: "dst_a" },
      { action: "cancel", destinationId: "dst_a" },
    ];
    expect(settledNote(settled, audit)).toBe("Skipped by admin");
    expect(settledNote({ ...settled, destinationId: "dst_b" }, audit)).toBe("Cancelled by admin");
  });

  it("names the actor for a person, and says settled while the trail is not known", () => {
    expect(settledNote({ ...settled, settledBy: "github:mona" }, [])).toBe("Settled by mona (GitHub)");
    expect(settledNote({ ...settled, settledBy: "token:tok_1" }, [{ action: "replay", destinationId: "dst_a" }])).toBe("Settled by API token tok_1");
  });

  it("says nothing for a delivery nobody settled by hand", () => {
    expect(settledNote(delivery({ status: DeliveryStatus.FAILED }), [{ action: "skip", destinationId: "dst_a" }])).toBeUndefined();
  });
});

describe("what an action did", () => {
  it("after a retry now: the stalled reason when the queue is not being sent", () => {
    const out = deliveryOutcome("retry_now", { status: DeliveryStatus.PENDING, inFlight: false, stalled: "the destination is muted" });
    expect(out.tone).toBe("warning");
    expect(out.notes.join(" ")).toContain("not being sent now: the destination is muted");
    expect(deliveryOutcome("retry_now", { status: DeliveryStatus.PENDING, inFlight: false, stalled: "" }).tone).toBe("default");
  });

  it("after a skip or a cancel: the queue moves on, and an attempt under way may still arrive", () => {
    const skipped = deliveryOutcome("skip", { status: DeliveryStatus.FAILED, inFlight: false, stalled: "" });
    expect(skipped).toMatchObject({ title: "Skipped", tone: "default" });
    expect(skipped.notes.join(" ")).toContain("queue moves on");
    const cancelled = deliveryOutcome("cancel", { status: DeliveryStatus.FAILED, inFlight: true, stalled: "" });
    expect(cancelled).toMatchObject({ title: "Cancelled", tone: "warning" });
    expect(cancelled.notes.join(" ")).toContain("may still get it once");
  });

  it("after a release: it joins the end of the queue, and why that queue waits if it does", () => {
    const released = deliveryOutcome("release", { status: DeliveryStatus.PENDING, inFlight: false, stalled: "" });
    expect(released).toMatchObject({ title: "Released", tone: "default" });
    expect(released.notes.join(" ")).toContain("joins the end of its destination's queue");
    const stalled = deliveryOutcome("release", { status: DeliveryStatus.PENDING, inFlight: false, stalled: "the hub is offline" });
    expect(stalled.tone).toBe("warning");
    expect(stalled.notes.join(" ")).toContain("not being sent now: the hub is offline");
  });
});
