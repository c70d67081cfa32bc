// The concurrent lane (lane.ts, planConcurrent / onConcurrentResult): tables,
// then seeded random sequences of pumps, answers and time that check its
// invariants: never more than the limit in flight, never one delivery twice at
// once, attempts numbered 1, 2, 3…, the policy's attempt limit kept, a
// failure holding back nothing else, and nothing lost once the hub is healthy.
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../../../test/random.js";
import { type QueuedItem, RESTART_AFTER_SKIP_MS, type Verdict, markConcurrentDispatched, newLane, onConcurrentResult, planConcurrent } from "./lane.js";

const FAR = 10 ** 12;
const backoff = { initialMs: 1_000, maxMs: 60_000 };
const item = (seq: number, over: Partial<QueuedItem> = {}): QueuedItem => ({ seq, attempts: 0, nextAttemptAt: 0, deliverBy: FAR, payloadSize: 10, ...over });

describe("planConcurrent", () => {
  it("sends due items in order up to the limit, passing over those in flight and those not due, dead-lettering overdue ones", () => {
    const lane = newLane();
    markConcurrentDispatched(lane, item(2), "a");
    const plan = planConcurrent(lane, 3, [item(1, { deliverBy: 5 }), item(2), item(3, { nextAttemptAt: 50 }), item(4), item(5), item(6)], 10);
    expect(plan.steps.map((s) => `${s.kind}:${s.item.seq}`)).toEqual(["dead_letter:1", "dispatch:4", "dispatch:5"]);
    expect(plan.wakeAt).toBe(50);
  });

  it("keeps to the byte window past the first one in flight", () => {
    const lane = newLane();
    const plan = planConcurrent(lane, 10, [item(1, { payloadSize: 600 }), item(2, { payloadSize: 600 }), item(3, { payloadSize: 10 })], 0, 1_000);
    expect(plan.steps.map((s) => s.item.seq)).toEqual([1]);
    const big = planConcurrent(newLane(), 10, [item(1, { payloadSize: 5_000 })], 0, 1_000);
    expect(big.steps.map((s) => s.item.seq)).toEqual([1]);
  });

  it("gives each dispatch an epoch of its own, so the hub never holds one back for another", () => {
    const lane = newLane();
    const a = markConcurrentDispatched(lane, item(1), "a");
    const b = markConcurrentDispatched(lane, item(2), "b");
    expect(b.epoch).toBeGreaterThan(a.epoch);
  });
});

describe("onConcurrentResult", () => {
  it("retries only the one that failed; the others stay in flight", () => {
    const lane = newLane();
    markConcurrentDispatched(lane, item(1), "a");
    markConcurrentDispatched(lane, item(2), "b");
    const d = onConcurrentResult(lane, "a", "retry", { now: 100, backoff });
    expect(d).toMatchObject({ kind: "retry", nextAttemptAt: 1_100 });
    expect([...lane.inflight.keys()]).toEqual(["b"]);
    expect(onConcurrentResult(lane, "b", "delivered", { now: 100, backoff })).toMatchObject({ kind: "settle", status: "delivered" });
    expect(onConcurrentResult(lane, "b", "delivered", { now: 100, backoff })).toEqual({ kind: "stale" });
  });

  it("gives up at the policy's attempt limit, and sends a SKIPPED one again soon without counting an attempt", () => {
    const lane = newLane();
    markConcurrentDispatched(lane, item(1, { attempts: 2 }), "a");
    expect(onConcurrentResult(lane, "a", "retry", { now: 0, backoff, maxAttempts: 3 })).toMatchObject({ kind: "give_up" });
    markConcurrentDispatched(lane, item(2), "b");
    expect(onConcurrentResult(lane, "b", "skipped", { now: 7, backoff })).toMatchObject({ kind: "again", wakeAt: 7 + RESTART_AFTER_SKIP_MS });
    // A held destination (its hub refuses the URL) is not the webhook's fault: no limit then.
    markConcurrentDispatched(lane, item(3, { attempts: 9 }), "c");
    expect(onConcurrentResult(lane, "c", "held", { now: 0, backoff, maxAttempts: 3 })).toMatchObject({ kind: "retry", held: true });
  });
});

describe("concurrent lane invariants over random sequences", () => {
  it("holds for 2000 seeded sequences", () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const rand = mulberry32(seed);
      const limit = 2 + Math.floor(rand() * 6);
      const maxAttempts = rand() < 0.4 ? 1 + Math.floor(rand() * 4) : null;
      type Item = QueuedItem & { status: "pending" | "delivered" | "failed" | "dead_letter" };
      const items: Item[] = [];
      const lane = newLane();
      let now = 0;
      let nextSeq = 1;
      const flights = new Map<string, number>();
      let dispatches = 0;
      const ctx = () => ({ now, backoff, maxAttempts });
      const pump = () => {
        const due = items.filter((i) => i.status === "pending" && i.nextAttemptAt <= now).sort((a, b) => a.seq - b.seq);
        const plan = planConcurrent(lane, limit, due.slice(0, limit + lane.inflight.size), now);
        for (const step of plan.steps) {
          const it = items.find((i) => i.seq === step.item.seq)!;
          if (step.kind === "dead_letter") {
            it.status = "dead_letter";
            continue;
          }
          expect([...flights.values()], `seed ${seed}: ${it.seq} sent twice at once`).not.toContain(it.seq);
          const id = `d${++dispatches}`;
          const f = markConcurrentDispatched(lane, it, id);
          expect(f.attempt, `seed ${seed}: attempt numbering`).toBe(it.attempts + 1);
          flights.set(id, it.seq);
        }
        expect(lane.inflight.size, `seed ${seed}: over the limit`).toBeLessThanOrEqual(limit);
      };
      const answer = (healthy: boolean) => {
        const ids = [...flights.keys()];
        if (ids.length === 0) return;
        const id = ids[Math.floor(rand() * ids.length)]!;
        const seq = flights.get(id)!;
        flights.delete(id);
        const it = items.find((i) => i.seq === seq)!;
        const r = rand();
        const verdict: Verdict = healthy ? "delivered" : r < 0.4 ? "delivered" : r < 0.75 ? "retry" : r < 0.85 ? "failed" : "skipped";
        const d = onConcurrentResult(lane, id, verdict, ctx());
        if (d.kind === "settle") it.status = d.status;
        else if (d.kind === "give_up") {
          expect(d.flight.attempt, `seed ${seed}: gave up before max_attempts`).toBe(maxAttempts);
          it.status = "dead_letter";
        } else if (d.kind === "retry") {
          it.attempts = d.flight.attempt;
          it.nextAttemptAt = d.nextAttemptAt;
          if (maxAttempts) expect(d.flight.attempt).toBeLessThan(maxAttempts);
        } else if (d.kind === "again") it.nextAttemptAt = d.wakeAt;
        else throw new Error(`seed ${seed}: unexpected ${d.kind}`);
      };
      for (let step = 0; step < 200; step++) {
        const r = rand();
        if (r < 0.25) items.push({ ...item(nextSeq++), status: "pending" });
        else if (r < 0.55) pump();
        else if (r < 0.9) answer(false);
        else now += Math.floor(rand() * 5_000);
      }
      // Healthy from now on: everything ends settled, and nothing waits on another's failure.
      for (let guard = 0; guard < 10_000 && items.some((i) => i.status === "pending"); guard++) {
        pump();
        answer(true);
        now += 1_000;
      }
      expect(
        items.filter((i) => i.status === "pending"),
        `seed ${seed}: left pending`,
      ).toEqual([]);
      expect(lane.inflight.size).toBe(0);
    }
  });
});
