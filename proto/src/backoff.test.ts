import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../test/random.js";
import { type BackoffJitter, MAX_DOUBLINGS, backoffDelay } from "./backoff.js";

const always = (r: number) => () => r;
const ALMOST_ONE = 1 - 2 ** -53;

describe("backoffDelay", () => {
  const cases: { name: string; initialMs: number; maxMs: number; attempt: number; jitter?: BackoffJitter; want: number }[] = [
    { name: "attempt 1 waits the initial delay", initialMs: 1000, maxMs: 3_600_000, attempt: 1, want: 1000 },
    { name: "attempt 2 doubles it", initialMs: 1000, maxMs: 3_600_000, attempt: 2, want: 2000 },
    { name: "attempt 3 doubles again", initialMs: 1000, maxMs: 3_600_000, attempt: 3, want: 4000 },
    { name: "attempt 12 is still under a 1 h cap", initialMs: 1000, maxMs: 3_600_000, attempt: 12, want: 2_048_000 },
    { name: "attempt 13 is capped at 1 h", initialMs: 1000, maxMs: 3_600_000, attempt: 13, want: 3_600_000 },
    { name: "attempt 0 (never tried) counts as attempt 1", initialMs: 1000, maxMs: 3_600_000, attempt: 0, want: 1000 },
    { name: "a negative attempt counts as attempt 1", initialMs: 1000, maxMs: 3_600_000, attempt: -3, want: 1000 },
    { name: "a huge attempt stays capped (no overflow)", initialMs: 1000, maxMs: 3_600_000, attempt: 1e9, want: 3_600_000 },
    { name: "a cap below the initial delay wins", initialMs: 5000, maxMs: 2000, attempt: 1, want: 2000 },
    { name: "a zero initial delay stays zero (no 0 · ∞)", initialMs: 0, maxMs: 1000, attempt: 1e9, want: 0 },
    {
      name: "the doublings stop at MAX_DOUBLINGS",
      initialMs: 1,
      maxMs: Number.MAX_VALUE,
      attempt: MAX_DOUBLINGS + 10,
      want: 2 ** MAX_DOUBLINGS,
    },
    { name: "storage retry: 1 s, 2 s, 4 s, then 5 s", initialMs: 1000, maxMs: 5000, attempt: 4, want: 5000 },
    { name: "Telegram sender: capped at 5 min", initialMs: 1000, maxMs: 300_000, attempt: 10, want: 300_000 },
    {
      name: "full jitter with random 0 waits nothing",
      initialMs: 500,
      maxMs: 30_000,
      attempt: 3,
      jitter: { kind: "full", random: always(0) },
      want: 0,
    },
    {
      name: "full jitter rounds down",
      initialMs: 500,
      maxMs: 30_000,
      attempt: 1,
      jitter: { kind: "full", random: always(0.9999) },
      want: 499,
    },
    {
      name: "full jitter draws from the capped delay",
      initialMs: 500,
      maxMs: 30_000,
      attempt: 20,
      jitter: { kind: "full", random: always(0.5) },
      want: 15_000,
    },
    {
      name: "equal jitter with random 0 waits half",
      initialMs: 500,
      maxMs: 30_000,
      attempt: 1,
      jitter: { kind: "equal", random: always(0) },
      want: 250,
    },
    {
      name: "equal jitter with random → 1 waits the whole delay",
      initialMs: 500,
      maxMs: 30_000,
      attempt: 3,
      jitter: { kind: "equal", random: always(ALMOST_ONE) },
      want: 2000,
    },
    {
      name: "equal jitter rounds to the nearest millisecond",
      initialMs: 3,
      maxMs: 30_000,
      attempt: 1,
      jitter: { kind: "equal", random: always(0) },
      want: 2,
    },
  ];
  it.each(cases)("$name", ({ initialMs, maxMs, attempt, jitter, want }) => {
    expect(backoffDelay({ initialMs, maxMs, attempt, jitter })).toBe(want);
  });
});

describe("backoffDelay over random schedules", () => {
  const SCHEDULES = 2000;
  const FIRST_SEED = 0xbac0;

  /** Runs `check` on random schedules and attempt sequences; returns the first failure, with its seed. */
  const firstFailure = (check: (s: { initialMs: number; maxMs: number; rnd: () => number }) => string | undefined) => {
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SCHEDULES; seed++) {
      const rnd = mulberry32(seed);
      const initialMs = Math.floor(rnd() * 10_000);
      const maxMs = Math.floor(rnd() * 100_000_000);
      const failure = check({ initialMs, maxMs, rnd });
      if (failure) return `seed ${seed} (initialMs ${initialMs}, maxMs ${maxMs}): ${failure}`;
    }
    return undefined;
  };

  it("without jitter, never shrinks from one attempt to the next", () => {
    const failure = firstFailure(({ initialMs, maxMs }) => {
      let before = 0;
      for (let attempt = 0; attempt <= 80; attempt++) {
        const d = backoffDelay({ initialMs, maxMs, attempt });
        if (d < before) return `attempt ${attempt} waits ${d}, less than ${before} before it`;
        before = d;
      }
      return undefined;
    });
    expect(failure).toBeUndefined();
  });

  it("never waits longer than the cap, nor less than nothing", () => {
    const failure = firstFailure(({ initialMs, maxMs, rnd }) => {
      for (let i = 0; i < 50; i++) {
        const attempt = Math.floor(rnd() * 1e6) - 10;
        const d = backoffDelay({ initialMs, maxMs, attempt });
        if (!(d >= 0 && d <= maxMs)) return `attempt ${attempt} waits ${d}`;
      }
      return undefined;
    });
    expect(failure).toBeUndefined();
  });

  it("a jittered wait lies within [0, the wait without jitter]; the equal one in its upper half", () => {
    const failure = firstFailure(({ initialMs, maxMs, rnd }) => {
      for (let i = 0; i < 50; i++) {
        const attempt = Math.floor(rnd() * 60);
        const delay = backoffDelay({ initialMs, maxMs, attempt });
        const full = backoffDelay({ initialMs, maxMs, attempt, jitter: { kind: "full", random: rnd } });
        const equal = backoffDelay({ initialMs, maxMs, attempt, jitter: { kind: "equal", random: rnd } });
        if (!(full >= 0 && full <= delay)) return `full jitter of ${delay} gave ${full}`;
        if (!(equal >= Math.floor(delay / 2) && equal <= delay)) return `equal jitter of ${delay} gave ${equal}`;
        if (!Number.isInteger(full) || !Number.isInteger(equal)) return `jittered waits ${full}, ${equal} are not whole ms`;
      }
      return undefined;
    });
    expect(failure).toBeUndefined();
  });
});
