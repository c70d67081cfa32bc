/** Is a queue stuck? The rule as tables, then random sequences checking one alert per incident and a recovery for each. */
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../../../test/random.js";
import { type AttemptOutcome, HEALTHY, type LastFailure, type QueueHealth, onAttempt, onTick } from "./queue.health.js";

const t = { afterMs: 60_000, afterAttempts: 3 };
const fail = (at: number, webhookId = "wh_1"): LastFailure => ({ webhookId, eventType: null, statusCode: 500, error: "HTTP 500", responseExcerpt: null, at });

describe("queue health", () => {
  it("is stuck at the third failed attempt in a row, and recovers at the next delivery", () => {
    let h = HEALTHY;
    const changes: (string | undefined)[] = [];
    for (const [outcome, at] of [
      ["retry", 0],
      ["retry", 10],
      ["retry", 20],
      ["retry", 30],
      ["delivered", 40],
    ] as const) {
      const r = onAttempt(h, outcome, fail(at), t);
      h = r.health;
      changes.push(r.change);
    }
    expect(changes).toEqual([undefined, undefined, "stuck", undefined, "recovered"]);
    expect(h).toEqual(HEALTHY);
  });

  it("is stuck once the streak lasts afterMs, even between two attempts (a tick)", () => {
    let h = onAttempt(HEALTHY, "retry", fail(1_000), t).health;
    expect(onTick(h, t, 60_999).change).toBeUndefined();
    const r = onTick(h, t, 61_000);
    expect(r.change).toBe("stuck");
    h = r.health;
    expect(h.stuckSince).toBe(61_000);
    expect(onTick(h, t, 99_000).change).toBeUndefined();
  });

  it("a head that leaves the queue for good ends the streak but not the incident: no second alert before a delivery", () => {
    let h: QueueHealth = HEALTHY;
    for (let i = 0; i < 3; i++) h = onAttempt(h, "retry", fail(i), t).health;
    expect(h.stuckSince).not.toBeNull();
    h = onAttempt(h, "failed", fail(5), t).health;
    expect(h.failingSince).toBeNull();
    for (let i = 0; i < 5; i++) {
      const r = onAttempt(h, "retry", fail(10 + i, "wh_2"), t);
      expect(r.change).toBeUndefined();
      h = r.health;
    }
    expect(onAttempt(h, "delivered", fail(20), t).change).toBe("recovered");
  });

  it("random sequences: stuck and recovered alternate, stuck only past a threshold, recovered only at a delivery", () => {
    for (let seed = 1; seed <= 500; seed++) {
      const rand = mulberry32(seed);
      let h = HEALTHY;
      let now = 0;
      let last: string | undefined;
      for (let step = 0; step < 200; step++) {
        now += Math.floor(rand() * 20_000);
        let r: ReturnType<typeof onTick>;
        let outcome: AttemptOutcome | "tick" = "tick";
        if (rand() < 0.2) r = onTick(h, t, now);
        else {
          const x = rand();
          outcome = x < 0.5 ? "retry" : x < 0.8 ? "delivered" : x < 0.9 ? "failed" : "dead_letter";
          r = onAttempt(h, outcome, fail(now), t);
        }
        if (r.change) {
          expect(r.change, `seed ${seed}: two ${r.change} in a row`).not.toBe(last);
          last = r.change;
        }
        if (r.change === "stuck")
          expect(h.attempts + (outcome === "retry" ? 1 : 0) >= t.afterAttempts || now - (h.failingSince ?? now) >= t.afterMs).toBe(true);
        if (r.change === "recovered") expect(outcome).toBe("delivered");
        if (outcome === "delivered") expect(r.health).toEqual(HEALTHY);
        h = r.health;
      }
    }
  });
});
