/**
 * Latency histograms of the delivery charts (issue #14): counts in fixed
 * buckets, so rollups of any period merge by addition, and percentiles are
 * estimated from them (linearly inside the bucket that holds the rank).
 * Pure.
 */

/** Upper bounds (ms) of the buckets; the last bucket has no bound. 16 buckets. */
export const LATENCY_BOUNDS_MS = [25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000, 21_600_000] as const;

/** Buckets of a histogram. */
export const BUCKETS = LATENCY_BOUNDS_MS.length + 1;

/** An empty histogram. */
export function emptyHistogram(): number[] {
  return new Array<number>(BUCKETS).fill(0);
}

/** The bucket of a latency. */
export function bucketOf(ms: number): number {
  const i = LATENCY_BOUNDS_MS.findIndex((b) => ms <= b);
  return i === -1 ? BUCKETS - 1 : i;
}

/** Adds `b` into `a` (in place); `a` is returned. */
export function mergeInto(a: number[], b: readonly number[]): number[] {
  for (let i = 0; i < BUCKETS; i++) a[i] = (a[i] ?? 0) + (b[i] ?? 0);
  return a;
}

/**
 * The `q`-quantile (0 < q ≤ 1) of a histogram in ms, interpolated inside its
 * bucket; null when it is empty. The open last bucket reports its lower bound.
 */
export function quantile(h: readonly number[], q: number): number | null {
  const total = h.reduce((n, c) => n + c, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    const c = h[i] ?? 0;
    if (c > 0 && seen + c >= rank) {
      const lo = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      if (i === BUCKETS - 1) return lo;
      const hi = LATENCY_BOUNDS_MS[i]!;
      return Math.round(lo + ((rank - seen) / c) * (hi - lo));
    }
    seen += c;
  }
  return LATENCY_BOUNDS_MS.at(-1)!;
}
