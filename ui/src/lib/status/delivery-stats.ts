/**
 * The delivery charts as people read them (`GetStats`): the range kept in the page's URL, the
 * totals and success rate above the charts, latencies in words, what a screen reader hears for a
 * chart, and an endpoint's 24 h line on the endpoints list. Pure functions of plain objects.
 */
import { formatCount } from "$lib/format/bytes";
import { formatDuration } from "$lib/format/time.svelte";

/** The ranges the edge charts, shortest first. */
export const STATS_RANGES = ["1h", "24h", "7d"] as const;

/** One of {@link STATS_RANGES}. */
export type StatsRange = (typeof STATS_RANGES)[number];

/** What the Status page shows without `?range=`. */
export const DEFAULT_STATS_RANGE: StatsRange = "24h";

/** The URL search parameter that holds the range. */
export const RANGE_PARAM = "range";

/**
 * How often a chart is reloaded without events (ms): the buckets move on with the clock, and the
 * edge writes its rollups every 5 s, so a quiet page is at most this much behind.
 */
export const STATS_REFRESH_MS = 30_000;

/** "Last hour", "Last 24 hours", "Last 7 days". */
export const RANGE_LABELS: Record<StatsRange, string> = { "1h": "Last hour", "24h": "Last 24 hours", "7d": "Last 7 days" };

/** The short labels of the range switch. */
export const RANGE_SHORT: Record<StatsRange, string> = { "1h": "1 h", "24h": "24 h", "7d": "7 d" };

/** The range a URL asks for; a missing or unknown value is the default. */
export function rangeFromUrl(url: URL): StatsRange {
  const value = url.searchParams.get(RANGE_PARAM);
  return (STATS_RANGES as readonly string[]).includes(value ?? "") ? (value as StatsRange) : DEFAULT_STATS_RANGE;
}

/** The link to `range` from `url`: its other parameters and hash kept, the default range left out. */
export function rangeHref(url: URL, range: StatsRange): string {
  const params = new URLSearchParams(url.searchParams);
  if (range === DEFAULT_STATS_RANGE) params.delete(RANGE_PARAM);
  else params.set(RANGE_PARAM, range);
  const query = params.toString();
  return `${url.pathname}${query ? `?${query}` : ""}${url.hash}`;
}

/** A bucket size in words: "minute", "15 minutes", "hour". */
export function bucketWords(bucketMs: number): string {
  if (bucketMs === 60_000) return "minute";
  if (bucketMs === 3_600_000) return "hour";
  if (bucketMs === 86_400_000) return "day";
  if (bucketMs % 3_600_000 === 0) return `${bucketMs / 3_600_000} hours`;
  if (bucketMs % 60_000 === 0) return `${bucketMs / 60_000} minutes`;
  return formatDuration(bucketMs);
}

/**
 * A share delivered (0 to 1) as a percentage: "100%" only when nothing failed (rounded down
 * otherwise, so 99.96% reads "99.9%", never "100%"), "—" when nothing settled.
 */
export function formatRate(rate: number | undefined | null): string {
  if (rate === undefined || rate === null || Number.isNaN(rate)) return "—";
  if (rate >= 1) return "100%";
  if (rate <= 0) return "0%";
  const tenths = Math.floor(rate * 1000) / 10;
  return `${Number.isInteger(tenths) ? tenths.toFixed(0) : tenths.toFixed(1)}%`;
}

/** A latency for a person: "850 ms", "1.2 s", "42 s", "5 min"; "—" when unknown. */
export function formatLatency(ms: bigint | number | undefined | null): string {
  if (ms === undefined || ms === null) return "—";
  const n = Number(ms);
  if (n < 1000) return `${Math.max(0, Math.round(n))} ms`;
  if (n < 10_000) return `${(Math.floor(n / 100) / 10).toFixed(1)} s`;
  return formatDuration(n);
}

/** The fields of a `StatsTotals` these functions read. */
export interface TotalsLike {
  received: bigint;
  delivered: bigint;
  failed: bigint;
  successRate?: number;
  p50Ms?: bigint;
  p95Ms?: bigint;
}

/** The totals row above the charts, as text. */
export interface TotalsView {
  received: string;
  delivered: string;
  failed: string;
  successRate: string;
  /** "98.5% of 200 settled" or "nothing settled yet". */
  successDetail: string;
  p50: string;
  p95: string;
}

/** The totals of a period as the Status page shows them. */
export function totalsView(t: TotalsLike | undefined): TotalsView {
  const received = t?.received ?? 0n;
  const delivered = t?.delivered ?? 0n;
  const failed = t?.failed ?? 0n;
  const settled = delivered + failed;
  return {
    received: formatCount(received),
    delivered: formatCount(delivered),
    failed: formatCount(failed),
    successRate: formatRate(t?.successRate),
    successDetail: settled > 0n ? `of ${formatCount(settled)} settled` : "nothing settled yet",
    p50: formatLatency(t?.p50Ms),
    p95: formatLatency(t?.p95Ms),
  };
}

/**
 * What a screen reader hears for the counts chart (a canvas shows nothing to it): "Webhooks per
 * 15 minutes, last 24 hours: 12 received, 10 delivered, 2 failed; busiest 15 minutes: 5 received."
 */
export function countsChartLabel(range: StatsRange, bucketMs: number, t: TotalsLike | undefined, busiest: number): string {
  const v = totalsView(t);
  const per = bucketWords(bucketMs);
  const peak = busiest > 0 ? `; busiest ${per}: ${formatCount(busiest)} received` : "";
  return `Webhooks per ${per}, ${RANGE_LABELS[range].toLowerCase()}: ${v.received} received, ${v.delivered} delivered, ${v.failed} failed${peak}.`;
}

/** What a screen reader hears for the latency chart: "End-to-end latency per 15 minutes, last 24 hours: p50 850 ms, p95 2.1 s." */
export function latencyChartLabel(range: StatsRange, bucketMs: number, t: TotalsLike | undefined): string {
  const v = totalsView(t);
  const what = `End-to-end latency per ${bucketWords(bucketMs)}, ${RANGE_LABELS[range].toLowerCase()}`;
  return t?.p50Ms === undefined ? `${what}: nothing delivered.` : `${what}: p50 ${v.p50}, p95 ${v.p95}.`;
}

/** The fields of an `EndpointStats` the endpoints list reads. */
export interface EndpointStatsLike {
  endpointId: string;
  totals?: TotalsLike;
  spark: readonly bigint[];
}

/** One endpoint's last 24 hours on the endpoints list. */
export interface EndpointActivity {
  spark: number[];
  received: string;
  /** "99.5%", or "—" when nothing settled. */
  successRate: string;
  /** Whether something failed (the rate is shown as a warning). */
  failing: boolean;
  /** "12 received in 24 h, 99.5% delivered": the sparkline's accessible name. */
  label: string;
}

/**
 * Each endpoint's activity by id, from `GetStats` over 24 h. An endpoint the edge sent nothing
 * for received nothing in the period: it gets a flat line of `buckets` zeros.
 */
export function endpointActivity(
  stats: readonly EndpointStatsLike[] | undefined,
  endpointIds: readonly string[],
  buckets: number,
): Map<string, EndpointActivity> {
  const byId = new Map((stats ?? []).map((s) => [s.endpointId, s]));
  const out = new Map<string, EndpointActivity>();
  for (const id of endpointIds) {
    const s = byId.get(id);
    const totals = s?.totals;
    const received = formatCount(totals?.received ?? 0n);
    const rate = formatRate(totals?.successRate);
    const settled = (totals?.delivered ?? 0n) + (totals?.failed ?? 0n);
    out.set(id, {
      spark: s ? s.spark.map(Number) : new Array<number>(buckets).fill(0),
      received,
      successRate: rate,
      failing: (totals?.failed ?? 0n) > 0n,
      label: `${received} received in 24 h, ${settled > 0n ? `${rate} delivered` : "nothing settled"}`,
    });
  }
  return out;
}
