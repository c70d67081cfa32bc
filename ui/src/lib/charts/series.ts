/**
 * A chart's buckets as uPlot reads them: one array of x values (seconds since the epoch, uPlot's
 * default time unit) and one array per series, `null` where a bucket has no value (uPlot draws a
 * gap there rather than a made-up zero). Pure, so tests pass plain objects.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type uPlot from "uplot";

/** The fields of a `StatsPoint` the series read. */
export interface PointLike {
  start?: Timestamp;
  received: bigint;
  delivered: bigint;
  failed: bigint;
  p50Ms?: bigint;
  p95Ms?: bigint;
}

/** A time in seconds (0 when unset, which the edge never sends). */
function seconds(ts: Timestamp | undefined): number {
  return ts ? Number(ts.seconds) + ts.nanos / 1e9 : 0;
}

/**
 * Received, delivered and failed per bucket: `[x, received, delivered, failed]`, for steps that
 * hold each bucket's count across its width. With `to` (the end of the last bucket) one more x
 * repeats the last counts there, so the last (current) bucket has a width too.
 */
export function countSeries(points: readonly PointLike[], to?: Timestamp): uPlot.AlignedData {
  const rows = points.map((p) => [seconds(p.start), Number(p.received), Number(p.delivered), Number(p.failed)] as const);
  const last = rows.at(-1);
  if (to && last) rows.push([seconds(to), last[1], last[2], last[3]]);
  return [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])];
}

/**
 * End-to-end latency p50 and p95 per bucket in ms: `[x, p50, p95]`, null where nothing was
 * delivered. With `to`, the x axis reaches the end of the last bucket (with no value there).
 */
export function latencySeries(points: readonly PointLike[], to?: Timestamp): uPlot.AlignedData {
  const ms = (v: bigint | undefined) => (v === undefined ? null : Number(v));
  const xs = points.map((p) => seconds(p.start));
  const p50 = points.map((p) => ms(p.p50Ms));
  const p95 = points.map((p) => ms(p.p95Ms));
  if (to && points.length > 0) {
    xs.push(seconds(to));
    p50.push(null);
    p95.push(null);
  }
  return [xs, p50, p95];
}

/** Whether any series has a value other than null or 0 (else the chart says "nothing yet"). */
export function hasValues(data: uPlot.AlignedData): boolean {
  return data.slice(1).some((series) => Array.from(series).some((v) => v !== null && v !== undefined && v !== 0));
}

/**
 * The y range of a count chart: from 0, to the largest value (at least `floor`, so a quiet
 * period does not draw "1" as a full-height spike).
 */
export function countRange(max: number | null | undefined, floor = 4): [number, number] {
  return [0, Math.max(floor, Math.ceil(max ?? 0))];
}

/** The y range of a latency chart: from 0, with room above the largest value for its point. */
export function latencyRange(max: number | null | undefined, floor = 10): [number, number] {
  return [0, Math.max(floor, Math.ceil((max ?? 0) * 1.15))];
}

/** Tick steps for counts: whole numbers only (no "0.5 webhooks"). */
export const COUNT_INCREMENTS: number[] = [1, 2, 5].flatMap((m) => [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000].map((p) => m * p)).sort((a, b) => a - b);

/** Tick steps for latency in ms, with the round values a person expects (250 ms, 1 s, 5 min…). */
export const LATENCY_INCREMENTS: number[] = [
  1, 2, 5, 10, 20, 50, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000,
  21_600_000, 43_200_000, 86_400_000,
];
