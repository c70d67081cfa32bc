// Unit tests for the lane state machine (lane.ts): a table per decision, then a
// seeded randomized simulation of the shell (relay.service.ts) driving it against a
// fake hub that behaves like apps/hub/src/lane.ts, checking the ordering, window,
// nothing-lost and attempt-numbering invariants over thousands of event sequences.
import { beforeAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../../../../test/random.js";
import {
  type BackoffPolicy,
  type LaneLimits,
  type LaneState,
  type QueuedItem,
  RESTART_AFTER_SKIP_MS,
  type Verdict,
  markDispatched,
  markPassed,
  newLane,
  onResult,
  planRefill,
  refillRequest,
  resetLane,
  retryDelayMs,
} from "./lane.js";

const FAR = 10 ** 12;

function item(seq: number, over: Partial<QueuedItem> = {}): QueuedItem {
  return { seq, attempts: 0, nextAttemptAt: 0, deliverBy: FAR, payloadSize: 100, ...over };
}

/** A lane with one flight per size, seqs 1…n, dispatch ids d1…dn. */
function laneWith(sizes: number[]): LaneState {
  const lane = newLane();
  sizes.forEach((payloadSize, i) => {
    markDispatched(lane, item(i + 1, { payloadSize }), `d${i + 1}`);
  });
  return lane;
}

function snapshot(lane: LaneState) {
  return { epoch: lane.epoch, cursor: lane.cursor, inflightBytes: lane.inflightBytes, inflight: [...lane.inflight.entries()] };
}

describe("newLane and resetLane", () => {
  it("a fresh lane is at epoch 1 with nothing in flight and the cursor before the head", () => {
    expect(snapshot(newLane())).toEqual({ epoch: 1, cursor: 0, inflightBytes: 0, inflight: [] });
  });

  it("resetLane returns what was in flight in dispatch order, bumps the epoch and rewinds the cursor", () => {
    const lane = laneWith([10, 20, 30]);
    const dropped = resetLane(lane);
    expect(dropped.map((f) => f.dispatchId)).toEqual(["d1", "d2", "d3"]);
    expect(snapshot(lane)).toEqual({ epoch: 2, cursor: 0, inflightBytes: 0, inflight: [] });
  });

  it("after resetLane the next refill reads from the head of the queue", () => {
    const lane = laneWith([10, 20]);
    resetLane(lane);
    expect(refillRequest(lane, { window: 4, windowBytes: 1000 })).toEqual({ after: 0, limit: 4 });
  });
});

describe("refillRequest", () => {
  const cases: { name: string; limits: LaneLimits; inflight: number[]; want: { after: number; limit: number } | undefined }[] = [
    { name: "fresh lane, window 1", limits: { window: 1, windowBytes: 1000 }, inflight: [], want: { after: 0, limit: 1 } },
    { name: "window 1 with one in flight", limits: { window: 1, windowBytes: 1000 }, inflight: [10], want: undefined },
    { name: "window 2 with one in flight (slack 1)", limits: { window: 2, windowBytes: 1000 }, inflight: [10], want: { after: 1, limit: 1 } },
    { name: "window 8 with 7 in flight (slack 1)", limits: { window: 8, windowBytes: 10_000 }, inflight: [1, 1, 1, 1, 1, 1, 1], want: { after: 7, limit: 1 } },
    { name: "window 8 full", limits: { window: 8, windowBytes: 10_000 }, inflight: [1, 1, 1, 1, 1, 1, 1, 1], want: undefined },
    { name: "window 16 with 14 in flight (slack 2)", limits: { window: 16, windowBytes: 10_000 }, inflight: Array(14).fill(1), want: { after: 14, limit: 2 } },
    { name: "window 16 with 15 in flight waits for a second slot", limits: { window: 16, windowBytes: 10_000 }, inflight: Array(15).fill(1), want: undefined },
    { name: "window 64 with 56 in flight (slack 8)", limits: { window: 64, windowBytes: 10_000 }, inflight: Array(56).fill(1), want: { after: 56, limit: 8 } },
    { name: "window 64 with 57 in flight", limits: { window: 64, windowBytes: 10_000 }, inflight: Array(57).fill(1), want: undefined },
    { name: "bytes in flight just under the byte limit", limits: { window: 8, windowBytes: 1000 }, inflight: [999], want: { after: 1, limit: 7 } },
    { name: "bytes in flight at the byte limit", limits: { window: 8, windowBytes: 1000 }, inflight: [1000], want: undefined },
    { name: "one oversized delivery in flight", limits: { window: 8, windowBytes: 1000 }, inflight: [50_000], want: undefined },
    { name: "empty lane with a zero byte limit still refills", limits: { window: 8, windowBytes: 0 }, inflight: [], want: { after: 0, limit: 8 } },
  ];
  it.each(cases)("$name", ({ limits, inflight, want }) => {
    expect(refillRequest(laneWith(inflight), limits)).toEqual(want);
  });

  it("reads after the cursor, which a dead letter moved past the last dispatch", () => {
    const lane = laneWith([10]);
    markPassed(lane, 5);
    expect(refillRequest(lane, { window: 4, windowBytes: 1000 })).toEqual({ after: 5, limit: 3 });
  });

  it("does not change the lane", () => {
    const lane = laneWith([10, 20]);
    const before = snapshot(lane);
    refillRequest(lane, { window: 4, windowBytes: 1000 });
    expect(snapshot(lane)).toEqual(before);
  });
});

describe("planRefill", () => {
  const now = 1_000_000;
  type Want = { steps: string[]; wakeAt?: number; more: boolean };
  const cases: { name: string; limits: LaneLimits; inflight: number[]; batch: QueuedItem[]; want: Want }[] = [
    {
      name: "an empty batch: nothing to do, no more to read",
      limits: { window: 4, windowBytes: 1000 },
      inflight: [],
      batch: [],
      want: { steps: [], more: false },
    },
    {
      name: "a short batch of due items is dispatched and the shell reads again",
      limits: { window: 4, windowBytes: 1000 },
      inflight: [],
      batch: [item(1), item(2)],
      want: { steps: ["dispatch 1", "dispatch 2"], more: true },
    },
    {
      name: "an item due exactly now is dispatched",
      limits: { window: 4, windowBytes: 1000 },
      inflight: [],
      batch: [item(1, { nextAttemptAt: now })],
      want: { steps: ["dispatch 1"], more: true },
    },
    {
      name: "overdue items are dead-lettered and the plan goes on behind them",
      limits: { window: 4, windowBytes: 1000 },
      inflight: [],
      batch: [item(1), item(2, { deliverBy: now - 1 }), item(3)],
      want: { steps: ["dispatch 1", "dead_letter 2", "dispatch 3"], more: true },
    },
    {
      name: "a deadline of exactly now is overdue",
      limits: { window: 4, windowBytes: 1000 },
      inflight: [],
      batch: [item(1, { deliverBy: now })],
      want: { steps: ["dead_letter 1"], more: true },
    },
    {
      name: "a batch of dead letters only still asks for more",
      limits: { window: 2, windowBytes: 1000 },
      inflight: [],
      batch: [item(1, { deliverBy: 5 }), item(2, { deliverBy: 6 })],
      want: { steps: ["dead_letter 1", "dead_letter 2"], more: true },
    },
    {
      name: "dead letters do not take window slots",
      limits: { window: 1, windowBytes: 1000 },
      inflight: [],
      batch: [item(1, { deliverBy: 5 }), item(2, { deliverBy: 6 }), item(3)],
      want: { steps: ["dead_letter 1", "dead_letter 2", "dispatch 3"], more: false },
    },
    {
      name: "an overdue head waiting for a retry is dead-lettered, not waited for",
      limits: { window: 4, windowBytes: 1000 },
      inflight: [],
      batch: [item(1, { attempts: 3, nextAttemptAt: now + 5000, deliverBy: now }), item(2)],
      want: { steps: ["dead_letter 1", "dispatch 2"], more: true },
    },
    {
      name: "a head waiting for its retry stops the plan with wakeAt = nextAttemptAt",
      limits: { window: 4, windowBytes: 1000 },
      inflight: [],
      batch: [item(1, { attempts: 1, nextAttemptAt: now + 500, deliverBy: now + 10_000 }), item(2)],
      want: { steps: [], wakeAt: now + 500, more: false },
    },
    {
      name: "wakeAt is the deadline when it comes before the retry",
      limits: { window: 4, windowBytes: 1000 },
      inflight: [],
      batch: [item(1, { attempts: 1, nextAttemptAt: now + 5000, deliverBy: now + 2000 }), item(2)],
      want: { steps: [], wakeAt: now + 2000, more: false },
    },
    {
      name: "a dead letter in front of a waiting item is applied before the wait",
      limits: { window: 4, windowBytes: 1000 },
      inflight: [],
      batch: [item(1, { deliverBy: now - 1 }), item(2, { attempts: 1, nextAttemptAt: now + 300 }), item(3)],
      want: { steps: ["dead_letter 1"], wakeAt: now + 300, more: false },
    },
    {
      name: "nothing behind a waiting item is dispatched",
      limits: { window: 8, windowBytes: 10_000 },
      inflight: [],
      batch: [item(1), item(2, { attempts: 2, nextAttemptAt: now + 1 }), item(3), item(4)],
      want: { steps: ["dispatch 1"], wakeAt: now + 1, more: false },
    },
    {
      name: "the plan stops when the window is full",
      limits: { window: 3, windowBytes: 10_000 },
      inflight: [100],
      batch: [item(2), item(3), item(4), item(5)],
      want: { steps: ["dispatch 2", "dispatch 3"], more: false },
    },
    {
      name: "a batch that exactly fills the window asks for no more",
      limits: { window: 2, windowBytes: 10_000 },
      inflight: [],
      batch: [item(1), item(2)],
      want: { steps: ["dispatch 1", "dispatch 2"], more: false },
    },
    {
      name: "the byte limit stops the plan before an item that would exceed it",
      limits: { window: 8, windowBytes: 1000 },
      inflight: [],
      batch: [item(1, { payloadSize: 600 }), item(2, { payloadSize: 600 }), item(3, { payloadSize: 1 })],
      want: { steps: ["dispatch 1"], more: false },
    },
    {
      name: "filling the byte limit exactly is allowed",
      limits: { window: 8, windowBytes: 1000 },
      inflight: [400],
      batch: [item(2, { payloadSize: 600 }), item(3, { payloadSize: 1 })],
      want: { steps: ["dispatch 2"], more: false },
    },
    {
      name: "one item larger than the byte limit is sent alone on an empty lane",
      limits: { window: 8, windowBytes: 1000 },
      inflight: [],
      batch: [item(1, { payloadSize: 50_000 }), item(2, { payloadSize: 1 })],
      want: { steps: ["dispatch 1"], more: false },
    },
    {
      name: "a lone oversized item is the whole batch: the shell reads again",
      limits: { window: 8, windowBytes: 1000 },
      inflight: [],
      batch: [item(1, { payloadSize: 50_000 })],
      want: { steps: ["dispatch 1"], more: true },
    },
    {
      name: "an oversized item waits while anything is in flight",
      limits: { window: 8, windowBytes: 1000 },
      inflight: [10],
      batch: [item(2, { payloadSize: 50_000 })],
      want: { steps: [], more: false },
    },
  ];
  it.each(cases)("$name", ({ limits, inflight, batch, want }) => {
    const plan = planRefill(laneWith(inflight), limits, batch, now);
    const got: Want = { steps: plan.steps.map((s) => `${s.kind} ${s.item.seq}`), more: plan.more };
    if (plan.wakeAt !== undefined) got.wakeAt = plan.wakeAt;
    expect(got).toEqual(want);
  });

  it("does not change the lane: the shell applies the steps", () => {
    const lane = laneWith([10]);
    const before = snapshot(lane);
    planRefill(lane, { window: 4, windowBytes: 1000 }, [item(2), item(3, { deliverBy: 0 })], now);
    expect(snapshot(lane)).toEqual(before);
  });

  it("steps carry the caller's own item objects", () => {
    const row = { ...item(1), webhookId: "wh_1" };
    const plan = planRefill(newLane(), { window: 4, windowBytes: 1000 }, [row], now);
    expect(plan.steps[0]?.item).toBe(row);
  });
});

describe("markDispatched and markPassed", () => {
  it("markDispatched records a flight for the next attempt under the lane's epoch", () => {
    const lane = newLane();
    resetLane(lane);
    const f = markDispatched(lane, item(7, { attempts: 2, payloadSize: 321, deliverBy: 99 }), "dlv_a");
    expect(f).toEqual({ dispatchId: "dlv_a", seq: 7, epoch: 2, attempt: 3, bytes: 321, deliverBy: 99 });
    expect(snapshot(lane)).toEqual({ epoch: 2, cursor: 7, inflightBytes: 321, inflight: [["dlv_a", f]] });
  });

  it("in-flight bytes add up over dispatches", () => {
    const lane = laneWith([100, 250, 1]);
    expect(lane.inflightBytes).toBe(351);
  });

  it("markPassed moves the cursor past a dead-lettered item", () => {
    const lane = newLane();
    markPassed(lane, 4);
    expect(lane.cursor).toBe(4);
  });

  it("the cursor never moves back", () => {
    const lane = newLane();
    markDispatched(lane, item(9), "d9");
    markPassed(lane, 3);
    markDispatched(lane, item(5), "d5");
    expect(lane.cursor).toBe(9);
  });

  it("markPassed does not touch what is in flight", () => {
    const lane = laneWith([10, 20]);
    markPassed(lane, 3);
    expect([lane.inflight.size, lane.inflightBytes]).toEqual([2, 30]);
  });
});

describe("retryDelayMs", () => {
  const policy: BackoffPolicy = { initialMs: 1000, maxMs: 3_600_000 };
  const cases: { name: string; attempts: number; retryAfter?: number; want: number }[] = [
    { name: "attempt 0 (never tried) waits the initial delay", attempts: 0, want: 1000 },
    { name: "after the first attempt: 1 s", attempts: 1, want: 1000 },
    { name: "after the second: 2 s", attempts: 2, want: 2000 },
    { name: "after the third: 4 s", attempts: 3, want: 4000 },
    { name: "after the tenth: 512 s", attempts: 10, want: 512_000 },
    { name: "after the twelfth: 2048 s, under the cap", attempts: 12, want: 2_048_000 },
    { name: "after the thirteenth: capped at maxMs", attempts: 13, want: 3_600_000 },
    { name: "a huge attempt count stays capped (no overflow)", attempts: 10_000, want: 3_600_000 },
    { name: "Retry-After wins over the backoff", attempts: 1, retryAfter: 30, want: 30_000 },
    { name: "Retry-After wins over a shorter backoff cap", attempts: 20, retryAfter: 7200, want: 7_200_000 },
    { name: "fractional Retry-After", attempts: 1, retryAfter: 1.5, want: 1500 },
    { name: "Retry-After is capped at one day", attempts: 1, retryAfter: 200_000, want: 86_400_000 },
    { name: "Retry-After of exactly one day", attempts: 1, retryAfter: 86_400, want: 86_400_000 },
    { name: "Retry-After 0 means none", attempts: 3, retryAfter: 0, want: 4000 },
    { name: "a negative Retry-After is ignored", attempts: 3, retryAfter: -5, want: 4000 },
  ];
  it.each(cases)("$name", ({ attempts, retryAfter, want }) => {
    expect(retryDelayMs(attempts, policy, retryAfter)).toBe(want);
  });

  it("a cap below the initial delay wins", () => {
    expect(retryDelayMs(1, { initialMs: 5000, maxMs: 2000 })).toBe(2000);
  });
});

describe("onResult", () => {
  const now = 50_000;
  const backoff: BackoffPolicy = { initialMs: 1000, maxMs: 60_000 };
  const ctx = { now, backoff };

  it("delivered settles the flight and leaves the rest of the window in flight", () => {
    const lane = laneWith([10, 20, 30]);
    const f = lane.inflight.get("d1");
    expect(onResult(lane, "d1", "delivered", ctx)).toEqual({ kind: "settle", flight: f, status: "delivered" });
    expect(snapshot(lane)).toMatchObject({ epoch: 1, cursor: 3, inflightBytes: 50 });
    expect([...lane.inflight.keys()]).toEqual(["d2", "d3"]);
  });

  it("failed settles the flight for good and the lane goes on", () => {
    const lane = laneWith([10, 20]);
    const f = lane.inflight.get("d1");
    expect(onResult(lane, "d1", "failed", ctx)).toEqual({ kind: "settle", flight: f, status: "failed" });
    expect(snapshot(lane)).toMatchObject({ epoch: 1, cursor: 2, inflightBytes: 20 });
  });

  it("retry schedules the backoff of the attempt made", () => {
    const lane = newLane();
    const f = markDispatched(lane, item(1, { attempts: 2 }), "d1");
    expect(onResult(lane, "d1", "retry", ctx)).toEqual({ kind: "retry", flight: f, nextAttemptAt: now + 4000, held: false });
  });

  it("retry voids everything in flight behind it: the failed item becomes the head", () => {
    const lane = laneWith([10, 20, 30]);
    onResult(lane, "d1", "retry", ctx);
    expect(snapshot(lane)).toEqual({ epoch: 2, cursor: 0, inflightBytes: 0, inflight: [] });
  });

  it("retry uses the destination's Retry-After", () => {
    const lane = laneWith([10]);
    const d = onResult(lane, "d1", "retry", { ...ctx, retryAfterSeconds: 120 });
    expect(d).toMatchObject({ kind: "retry", nextAttemptAt: now + 120_000 });
  });

  it("retry is never scheduled past the delivery's deadline", () => {
    const lane = newLane();
    markDispatched(lane, item(1, { deliverBy: now + 500 }), "d1");
    expect(onResult(lane, "d1", "retry", ctx)).toMatchObject({ kind: "retry", nextAttemptAt: now + 500 });
  });

  it("held is a retry flagged held, on the backoff", () => {
    const lane = laneWith([10]);
    const f = lane.inflight.get("d1");
    expect(onResult(lane, "d1", "held", ctx)).toEqual({ kind: "retry", flight: f, nextAttemptAt: now + 1000, held: true });
  });

  it("held ignores a Retry-After", () => {
    const lane = laneWith([10]);
    expect(onResult(lane, "d1", "held", { ...ctx, retryAfterSeconds: 600 })).toMatchObject({ nextAttemptAt: now + 1000 });
  });

  it("held voids everything in flight", () => {
    const lane = laneWith([10, 20]);
    onResult(lane, "d2", "held", ctx);
    expect(snapshot(lane)).toEqual({ epoch: 2, cursor: 0, inflightBytes: 0, inflight: [] });
  });

  it("held is capped at the deadline too", () => {
    const lane = newLane();
    markDispatched(lane, item(1, { attempts: 5, deliverBy: now + 10 }), "d1");
    expect(onResult(lane, "d1", "held", ctx)).toMatchObject({ nextAttemptAt: now + 10 });
  });

  it("skipped for a current flight restarts the lane shortly", () => {
    const lane = laneWith([10, 20]);
    expect(onResult(lane, "d2", "skipped", ctx)).toEqual({ kind: "restart", wakeAt: now + RESTART_AFTER_SKIP_MS });
  });

  it("skipped voids everything in flight", () => {
    const lane = laneWith([10, 20]);
    onResult(lane, "d2", "skipped", ctx);
    expect(snapshot(lane)).toEqual({ epoch: 2, cursor: 0, inflightBytes: 0, inflight: [] });
  });

  it("an unknown dispatch id is stale and changes nothing", () => {
    const lane = laneWith([10, 20]);
    const before = snapshot(lane);
    expect(onResult(lane, "nope", "delivered", ctx)).toEqual({ kind: "stale" });
    expect(snapshot(lane)).toEqual(before);
  });

  it("a result for a dispatch voided by a hub disconnect is stale", () => {
    const lane = laneWith([10]);
    resetLane(lane);
    markDispatched(lane, item(1), "d1-again");
    expect(onResult(lane, "d1", "delivered", ctx)).toEqual({ kind: "stale" });
  });

  it("a stale result leaves the new epoch's flight in place", () => {
    const lane = laneWith([10]);
    resetLane(lane);
    markDispatched(lane, item(1), "d1-again");
    onResult(lane, "d1", "retry", ctx);
    expect(snapshot(lane)).toMatchObject({ epoch: 2, cursor: 1, inflightBytes: 100 });
  });

  it("the hub's skip of a flight voided by an earlier retry is stale", () => {
    const lane = laneWith([10, 20, 30]);
    onResult(lane, "d1", "retry", ctx);
    expect(onResult(lane, "d2", "skipped", ctx)).toEqual({ kind: "stale" });
  });

  it("a flight recorded under an older epoch is stale", () => {
    const lane = laneWith([10]);
    lane.epoch += 1; // as if the lane moved on without clearing this flight
    expect(onResult(lane, "d1", "delivered", ctx)).toEqual({ kind: "stale" });
  });

  it("a second answer for the same dispatch is stale: a flight settles once", () => {
    const lane = laneWith([10, 20]);
    onResult(lane, "d1", "delivered", ctx);
    expect(onResult(lane, "d1", "delivered", ctx)).toEqual({ kind: "stale" });
  });
});

// ---------------------------------------------------------------------------
// Randomized simulation.
//
// The shell below copies what relay.service.ts does with the lane (refill loop,
// dead letters, dispatches, results, voiding the lane on a hub disconnect); the
// fake hub copies apps/hub/src/lane.ts (one delivery at a time, in order; after a
// retry/held verdict every delivery of that epoch or an older one is SKIPPED). The
// stream is ordered: results reach the edge in the order the hub produced them; a
// disconnect delivers a random prefix of the results in transit and loses the rest.

type Invariant = "order" | "window" | "nothing lost" | "attempts" | "shell";

class Violation extends Error {
  constructor(
    readonly invariant: Invariant,
    message: string,
  ) {
    super(message);
  }
}

interface StoredItem extends QueuedItem {
  status: "pending" | "delivered" | "failed" | "dead_letter";
}

interface HubJob {
  dispatchId: string;
  seq: number;
  epoch: number;
}

interface HubAnswer {
  dispatchId: string;
  verdict: Verdict;
  retryAfterSeconds: number;
}

/** What the sequences exercised, so the invariants are not checked vacuously. */
const exercised = {
  sequences: 0,
  tries: 0,
  delivered: 0,
  failed: 0,
  retries: 0,
  retriesWithRetryAfter: 0,
  held: 0,
  skipped: 0,
  deadLetters: 0,
  disconnects: 0,
  lostResults: 0,
  staleResults: 0,
  waits: 0,
  byteLimitedPlans: 0,
  fullWindows: 0,
  oversizedAlone: 0,
  retriesCappedAtDeadline: 0,
};

class Simulation {
  readonly rnd: () => number;
  readonly limits: LaneLimits;
  readonly backoff: BackoffPolicy;
  now = 1_700_000_000_000;
  readonly store: StoredItem[] = [];
  readonly lane = newLane();
  connected = true;
  hubQueue: HubJob[] = [];
  hubBlockedEpoch = 0;
  outbox: HubAnswer[] = [];
  /** The hub's last verdict for each seq it tried. */
  readonly hubLast = new Map<number, Verdict>();
  /** Attempt numbers the edge recorded, per seq. */
  readonly recorded = new Map<number, number[]>();
  /** How many times each seq left pending. */
  readonly settled = new Map<number, number>();
  wake = Number.POSITIVE_INFINITY;
  nextDispatch = 0;
  healthy = false;
  readonly trace: string[] = [];

  constructor(readonly seed: number) {
    this.rnd = mulberry32(seed);
    this.limits = { window: this.pick([1, 1, 2, 3, 4, 8, 9, 16, 17]), windowBytes: this.pick([1, 300, 1000, 2500, 1e9]) };
    this.backoff = { initialMs: this.pick([100, 500, 1000]), maxMs: this.pick([2000, 8000, 60_000]) };
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)] as T;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }

  check(cond: boolean, invariant: Invariant, what: string): asserts cond {
    if (!cond) {
      throw new Violation(
        invariant,
        `seed ${this.seed} (window ${this.limits.window}, windowBytes ${this.limits.windowBytes}): ${what}\n  last events: ${this.trace.slice(-25).join(" | ")}`,
      );
    }
  }

  note(event: string): void {
    this.trace.push(event);
  }

  // --- the queue ---------------------------------------------------------

  arrive(): void {
    const seq = this.store.length + 1;
    const ttl = this.rnd() < 0.15 ? this.int(1, 3000) : this.int(30_000, 600_000);
    const maxSize = Math.max(2, Math.min(this.limits.windowBytes * 1.5, 4000));
    const payloadSize = this.rnd() < 0.05 ? 0 : this.int(1, maxSize);
    this.store.push({ seq, attempts: 0, nextAttemptAt: this.now, deliverBy: this.now + ttl, payloadSize, status: "pending" });
    this.note(`arrive ${seq} (${payloadSize} B, ttl ${ttl})`);
  }

  pendingAfter(after: number, limit: number): StoredItem[] {
    return this.store
      .filter((s) => s.status === "pending" && s.seq > after)
      .slice(0, limit)
      .map((s) => ({ ...s }));
  }

  leavePending(seq: number, status: StoredItem["status"]): void {
    const s = this.store[seq - 1];
    this.check(s !== undefined, "shell", `no item ${seq}`);
    this.check(s.status === "pending", "nothing lost", `item ${seq} settled again (${s.status} → ${status})`);
    s.status = status;
    this.settled.set(seq, (this.settled.get(seq) ?? 0) + 1);
  }

  recordAttempt(seq: number, attempt: number): void {
    const list = this.recorded.get(seq) ?? [];
    this.check(attempt === list.length + 1, "attempts", `item ${seq} recorded attempt ${attempt} after [${list.join(",")}]`);
    list.push(attempt);
    this.recorded.set(seq, list);
  }

  // --- the shell (relay.service.ts pump / settle) --------------------------

  pump(): void {
    if (!this.connected) return;
    for (let rounds = 0; ; rounds++) {
      this.check(rounds < 1000, "shell", "the refill loop does not end");
      const req = refillRequest(this.lane, this.limits);
      if (!req) return;
      this.check(
        req.limit >= 1 && this.lane.inflight.size + req.limit <= this.limits.window,
        "window",
        `refill asks for ${req.limit} with ${this.lane.inflight.size} in flight`,
      );
      const batch = this.pendingAfter(req.after, req.limit);
      const plan = planRefill(this.lane, this.limits, batch, this.now);
      let dispatched = 0;
      for (const step of plan.steps) {
        if (step.kind === "dead_letter") {
          this.check(step.item.deliverBy <= this.now, "shell", `item ${step.item.seq} dead-lettered before its deadline`);
          this.leavePending(step.item.seq, "dead_letter");
          markPassed(this.lane, step.item.seq);
          exercised.deadLetters++;
          this.note(`dead_letter ${step.item.seq}`);
        } else {
          const dispatchId = `d${++this.nextDispatch}`;
          const f = markDispatched(this.lane, step.item, dispatchId);
          dispatched++;
          this.checkWindow();
          this.hubQueue.push({ dispatchId, seq: f.seq, epoch: f.epoch });
          this.note(`dispatch ${f.seq}#${f.attempt}@${f.epoch}`);
        }
      }
      if (this.lane.inflight.size === 1 && this.lane.inflightBytes > this.limits.windowBytes) exercised.oversizedAlone++;
      if (this.lane.inflight.size === this.limits.window && dispatched > 0) exercised.fullWindows++;
      const next = batch[plan.steps.length];
      if (plan.wakeAt === undefined && !plan.more && next !== undefined && this.lane.inflight.size < this.limits.window) exercised.byteLimitedPlans++;
      if (plan.wakeAt !== undefined) {
        this.check(plan.wakeAt > this.now, "shell", `wakeAt ${plan.wakeAt} is not in the future (now ${this.now})`);
        this.wake = Math.min(this.wake, plan.wakeAt);
        exercised.waits++;
        return;
      }
      if (!plan.more) return;
    }
  }

  checkWindow(): void {
    const { inflight, inflightBytes } = this.lane;
    let sum = 0;
    for (const f of inflight.values()) sum += f.bytes;
    this.check(sum === inflightBytes, "window", `inflightBytes ${inflightBytes} but the flights add up to ${sum}`);
    this.check(inflight.size <= this.limits.window, "window", `${inflight.size} in flight, window ${this.limits.window}`);
    this.check(
      inflight.size <= 1 || inflightBytes <= this.limits.windowBytes,
      "window",
      `${inflight.size} in flight with ${inflightBytes} B, windowBytes ${this.limits.windowBytes}`,
    );
  }

  /** The edge takes the next result off the stream. */
  receive(): void {
    const r = this.outbox.shift();
    if (!r) return;
    const flight = this.lane.inflight.get(r.dispatchId);
    const decision = onResult(this.lane, r.dispatchId, r.verdict, { now: this.now, retryAfterSeconds: r.retryAfterSeconds, backoff: this.backoff });
    this.note(`result ${r.dispatchId} ${r.verdict} → ${decision.kind}`);
    switch (decision.kind) {
      case "stale":
        exercised.staleResults++;
        return;
      case "restart":
        this.check(decision.wakeAt > this.now, "shell", "restart in the past");
        this.wake = Math.min(this.wake, decision.wakeAt);
        return;
      case "settle": {
        this.check(flight !== undefined && decision.flight === flight, "shell", `settled a flight that was not in flight (${r.dispatchId})`);
        this.recordAttempt(flight.seq, flight.attempt);
        const s = this.store[flight.seq - 1];
        this.check(s !== undefined, "shell", `no item ${flight.seq}`);
        s.attempts = flight.attempt;
        this.leavePending(flight.seq, decision.status);
        this.pump();
        return;
      }
      case "retry": {
        this.check(flight !== undefined && decision.flight === flight, "shell", `retried a flight that was not in flight (${r.dispatchId})`);
        this.recordAttempt(flight.seq, flight.attempt);
        const s = this.store[flight.seq - 1];
        this.check(s !== undefined && s.status === "pending", "nothing lost", `item ${flight.seq} retried while ${s?.status}`);
        this.check(decision.nextAttemptAt <= s.deliverBy, "shell", `retry of ${s.seq} at ${decision.nextAttemptAt} past its deadline ${s.deliverBy}`);
        if (decision.nextAttemptAt === s.deliverBy) exercised.retriesCappedAtDeadline++;
        s.attempts = flight.attempt;
        s.nextAttemptAt = decision.nextAttemptAt;
        this.check(this.lane.inflight.size === 0 && this.lane.cursor === 0, "shell", "a retry left flights behind it");
        this.wake = Math.min(this.wake, decision.nextAttemptAt);
        return;
      }
    }
  }

  // --- the fake hub (apps/hub/src/lane.ts) ---------------------------------

  hubStep(): void {
    const job = this.hubQueue.shift();
    if (!job) return;
    if (job.epoch <= this.hubBlockedEpoch) {
      exercised.skipped++;
      this.outbox.push({ dispatchId: job.dispatchId, verdict: "skipped", retryAfterSeconds: 0 });
      return;
    }
    // Invariant (a): k+1 is never tried before k is settled.
    for (const k of this.store) {
      if (k.seq >= job.seq) break;
      const last = this.hubLast.get(k.seq);
      this.check(
        k.status !== "pending" || last === "delivered" || last === "failed",
        "order",
        `the hub tries ${job.seq} while ${k.seq} is pending and its last hub verdict is ${last ?? "none (never tried)"}`,
      );
    }
    exercised.tries++;
    let verdict: Verdict = "delivered";
    let retryAfterSeconds = 0;
    if (!this.healthy) {
      const x = this.rnd();
      verdict = x < 0.5 ? "delivered" : x < 0.6 ? "failed" : x < 0.92 ? "retry" : "held";
      if (verdict === "retry" && this.rnd() < 0.3) retryAfterSeconds = this.int(1, 20);
    }
    exercised[verdict === "retry" ? "retries" : verdict === "held" ? "held" : verdict === "failed" ? "failed" : "delivered"]++;
    if (retryAfterSeconds > 0) exercised.retriesWithRetryAfter++;
    this.hubLast.set(job.seq, verdict);
    if (verdict === "retry" || verdict === "held") this.hubBlockedEpoch = job.epoch;
    this.note(`hub tries ${job.seq}@${job.epoch}: ${verdict}`);
    this.outbox.push({ dispatchId: job.dispatchId, verdict, retryAfterSeconds });
  }

  disconnect(): void {
    exercised.disconnects++;
    // Results that already arrived still count (detach settles them first); the rest is lost.
    const arrived = this.int(0, this.outbox.length);
    for (let i = 0; i < arrived; i++) this.receive();
    const lost = this.outbox.length;
    exercised.lostResults += lost;
    this.outbox = [];
    this.connected = false;
    resetLane(this.lane);
    // A new stream gets new hub lanes.
    this.hubQueue = [];
    this.hubBlockedEpoch = 0;
    this.note(`disconnect (lost ${lost})`);
  }

  reconnect(): void {
    this.connected = true;
    this.note("reconnect");
    this.pump();
  }

  advance(ms: number): void {
    this.now += ms;
    if (this.now >= this.wake) {
      this.wake = Number.POSITIVE_INFINITY;
      this.pump();
    }
  }

  // --- phases ---------------------------------------------------------------

  randomPhase(steps: number): void {
    for (let i = 0; i < steps; i++) {
      const x = this.rnd();
      if (x < 0.16) {
        this.arrive();
        this.pump(); // webhook.committed
      } else if (x < 0.24) this.pump();
      else if (x < 0.5) this.hubStep();
      else if (x < 0.72) this.receive();
      else if (x < 0.9) this.advance(this.rnd() < 0.1 ? this.int(10_000, 120_000) : this.int(0, 2500));
      else if (x < 0.94) {
        if (this.connected) this.disconnect();
      } else if (!this.connected) this.reconnect();
      else this.hubStep();
    }
  }

  healthyPhase(): void {
    this.healthy = true;
    if (!this.connected) this.reconnect();
    for (let round = 0; round < 500; round++) {
      this.pump();
      while (this.hubQueue.length > 0 || this.outbox.length > 0) {
        this.hubStep();
        this.receive();
      }
      const pending = this.store.filter((s) => s.status === "pending");
      if (pending.length === 0) return;
      // Jump to the next retry (or timer) due, past every nextAttemptAt in turn.
      const due = Math.min(...pending.map((s) => s.nextAttemptAt).filter((t) => t > this.now), this.wake);
      this.advance(Number.isFinite(due) ? Math.max(1, due - this.now) : 1000);
    }
    const left = this.store.filter((s) => s.status === "pending").map((s) => s.seq);
    this.check(false, "nothing lost", `not quiescent after the healthy phase; still pending: ${left.join(",")}; in flight ${this.lane.inflight.size}`);
  }

  finalChecks(): void {
    for (const s of this.store) {
      this.check(s.status !== "pending", "nothing lost", `item ${s.seq} still pending at the end`);
      this.check(this.settled.get(s.seq) === 1, "nothing lost", `item ${s.seq} settled ${this.settled.get(s.seq) ?? 0} times`);
      const list = this.recorded.get(s.seq) ?? [];
      this.check(
        list.every((a, i) => a === i + 1),
        "attempts",
        `item ${s.seq} attempts [${list.join(",")}]`,
      );
      this.check(s.attempts === list.length, "attempts", `item ${s.seq} stores ${s.attempts} attempts but ${list.length} were recorded`);
    }
    this.check(this.lane.inflight.size === 0 && this.lane.inflightBytes === 0, "nothing lost", "flights left at the end");
  }
}

const SEQUENCES = 3000;
const FIRST_SEED = 0x5eed;

describe("lane invariants over random sequences", () => {
  const violations = new Map<Invariant, string>();

  beforeAll(() => {
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEQUENCES; seed++) {
      const sim = new Simulation(seed);
      try {
        const initial = sim.int(0, 6);
        for (let i = 0; i < initial; i++) sim.arrive();
        sim.randomPhase(sim.int(20, 160));
        sim.healthyPhase();
        sim.finalChecks();
      } catch (err) {
        const invariant = err instanceof Violation ? err.invariant : "shell";
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        if (!violations.has(invariant)) violations.set(invariant, err instanceof Violation ? err.message : `seed ${seed}: ${message}`);
      }
      exercised.sequences++;
    }
  });

  it("the simulation itself runs every sequence without an unexpected error", () => {
    expect(violations.get("shell")).toBeUndefined();
  });

  it("the hub never tries k+1 before k is delivered, failed or dead-lettered", () => {
    expect(violations.get("order")).toBeUndefined();
  });

  it("in flight never exceeds the window, nor the byte limit with more than one delivery", () => {
    expect(violations.get("window")).toBeUndefined();
  });

  it("nothing is lost: once healthy every delivery ends delivered, failed or dead-lettered, each settled once", () => {
    expect(violations.get("nothing lost")).toBeUndefined();
  });

  it("the attempts recorded for a delivery are numbered 1, 2, 3, …", () => {
    expect(violations.get("attempts")).toBeUndefined();
  });

  it("the sequences exercise every path the invariants are about", () => {
    const { sequences, ...paths } = exercised;
    expect(sequences).toBe(SEQUENCES);
    for (const [path, count] of Object.entries(paths)) expect(count, path).toBeGreaterThan(20);
  });
});
