/**
 * Delivery charts (issue #14): counts what happens — webhooks received, and
 * deliveries delivered (with their end-to-end latency, arrival → delivered)
 * or failed (failed or dead-lettered) — into per-minute and per-hour rollups
 * (stats.store.ts), and answers a chart's series from them: received,
 * delivered and failed per bucket with latency p50/p95, over the last hour
 * (1-minute buckets), day (15-minute) or week (1-hour), for all endpoints or
 * one, and each endpoint's totals, success rate and a sparkline.
 *
 * Counts gather in memory and are written every few seconds in one
 * transaction (a chart is a few seconds behind; ingest pays one map update
 * per webhook). What is not yet written when the process dies is lost from
 * the charts, never from the webhooks.
 */
import type { Clock } from "../clock.js";
import { AppError } from "../errors.js";
import type { EdgeEvents } from "../events.js";
import type { Logger } from "../logger.js";
import { bucketOf, emptyHistogram, mergeInto, quantile } from "./stats.histogram.js";
import type { Grain, StatsRow, StatsStore } from "./stats.store.js";

/** The chart ranges, their length, bucket size and the rollup they read. */
export const RANGES = {
  "1h": { lengthMs: 3_600_000, bucketMs: 60_000, grain: "minute" },
  "24h": { lengthMs: 86_400_000, bucketMs: 900_000, grain: "minute" },
  "7d": { lengthMs: 7 * 86_400_000, bucketMs: 3_600_000, grain: "hour" },
} as const satisfies Record<string, { lengthMs: number; bucketMs: number; grain: Grain }>;

/** One of {@link RANGES}. */
export type StatsRange = keyof typeof RANGES;

/** How long the rollups are kept. */
export const KEEP_MINUTES_MS = 48 * 3_600_000;
export const KEEP_HOURS_MS = 90 * 86_400_000;

/** One bucket of a series. */
export interface StatsPoint {
  start: number;
  received: number;
  delivered: number;
  failed: number;
  /** End-to-end latency of what was delivered in it (ms); null when nothing was. */
  p50Ms: number | null;
  p95Ms: number | null;
}

/** The totals of a period: counts, the share delivered, latency. */
export interface StatsTotals {
  received: number;
  delivered: number;
  failed: number;
  /** delivered / (delivered + failed); null when nothing settled. */
  successRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
}

/** One endpoint over a period, for its sparkline. */
export interface EndpointStats extends StatsTotals {
  endpointId: string;
  /** Received per bucket, oldest first. */
  spark: number[];
}

/** What a chart shows. */
export interface StatsView {
  range: StatsRange;
  bucketMs: number;
  from: number;
  to: number;
  points: StatsPoint[];
  totals: StatsTotals;
  endpoints: EndpointStats[];
}

/** How often gathered counts are written (ms). */
export const STATS_FLUSH_MS = 5_000;

const totalsOf = (rows: readonly { received: number; delivered: number; failed: number; latency: number[] }[]): StatsTotals => {
  const h = emptyHistogram();
  let received = 0;
  let delivered = 0;
  let failed = 0;
  for (const r of rows) {
    received += r.received;
    delivered += r.delivered;
    failed += r.failed;
    mergeInto(h, r.latency);
  }
  return {
    received,
    delivered,
    failed,
    successRate: delivered + failed > 0 ? delivered / (delivered + failed) : null,
    p50Ms: quantile(h, 0.5),
    p95Ms: quantile(h, 0.95),
  };
};

/** The stats service. */
export type StatsService = ReturnType<typeof createStatsService>;

/** Creates the stats service; start() listens and writes, stop() writes what is left. */
export function createStatsService(deps: { store: StatsStore; events: EdgeEvents; clock: Clock; log: Logger; flushMs?: number }) {
  const { store, events, clock, log } = deps;
  const pending = new Map<string, StatsRow>();
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void)[] = [];

  const rowOf = (endpointId: string, at: number): StatsRow => {
    const bucket = Math.floor(at / 60_000) * 60_000;
    const key = `${bucket}\u0000${endpointId}`;
    let r = pending.get(key);
    if (!r) {
      r = { bucket, endpointId, received: 0, delivered: 0, failed: 0, latency: emptyHistogram() };
      pending.set(key, r);
    }
    return r;
  };

  const flush = (): void => {
    if (pending.size === 0) return;
    const rows = [...pending.values()];
    pending.clear();
    try {
      store.add(rows);
    } catch (err) {
      // note: a disk that refuses writes: the counts are dropped (the charts miss them), never retried forever.
      log.warn({ err, buckets: rows.length }, "could not write delivery chart counts; they are left out");
    }
  };

  return {
    start(): void {
      unsubscribe = [
        events.on("webhook.received", (e) => {
          rowOf(e.endpointId, clock.now()).received += 1;
        }),
        events.on("webhook.updated", (e) => {
          const d = e.delivery;
          if (!d) return;
          const now = clock.now();
          if (d.outcome === "delivered") {
            const r = rowOf(e.endpointId, now);
            r.delivered += 1;
            if (d.receivedAt !== undefined) r.latency[bucketOf(Math.max(0, now - d.receivedAt))]! += 1;
          } else if (d.outcome === "failed" || d.outcome === "dead_letter") {
            rowOf(e.endpointId, now).failed += 1;
          }
        }),
      ];
      timer = setInterval(() => {
        flush();
        const now = clock.now();
        try {
          store.purge(now - KEEP_MINUTES_MS, now - KEEP_HOURS_MS);
        } catch {
          // note: tried again at the next flush.
        }
      }, deps.flushMs ?? STATS_FLUSH_MS);
      timer.unref();
    },
    stop(): void {
      for (const u of unsubscribe) u();
      unsubscribe = [];
      if (timer) clearInterval(timer);
      flush();
    },
    /** Writes what was gathered now (tests; and before every read). */
    flush,
    /** A chart: `range` ending now, for all endpoints or `endpointId`. */
    view(range: string, endpointId?: string): StatsView {
      if (!Object.hasOwn(RANGES, range)) throw new AppError("invalid_argument", `range must be one of ${Object.keys(RANGES).join(", ")}`);
      const r = RANGES[range as StatsRange];
      flush();
      const to = Math.ceil((clock.now() + 1) / r.bucketMs) * r.bucketMs;
      const from = to - Math.ceil(r.lengthMs / r.bucketMs) * r.bucketMs;
      const rows = store.range(r.grain, from, to, endpointId);
      const n = (to - from) / r.bucketMs;
      const slot = (bucket: number) => Math.floor((bucket - from) / r.bucketMs);
      const byBucket = Array.from({ length: n }, () => [] as StatsRow[]);
      const byEndpoint = new Map<string, StatsRow[]>();
      for (const row of rows) {
        byBucket[slot(row.bucket)]?.push(row);
        const list = byEndpoint.get(row.endpointId) ?? [];
        list.push(row);
        byEndpoint.set(row.endpointId, list);
      }
      const points = byBucket.map((list, i) => {
        const t = totalsOf(list);
        return { start: from + i * r.bucketMs, received: t.received, delivered: t.delivered, failed: t.failed, p50Ms: t.p50Ms, p95Ms: t.p95Ms };
      });
      const endpoints = [...byEndpoint].map(([id, list]) => {
        const spark = new Array<number>(n).fill(0);
        for (const row of list) {
          const i = slot(row.bucket);
          if (i >= 0 && i < n) spark[i]! += row.received;
        }
        return { endpointId: id, ...totalsOf(list), spark };
      });
      return { range: range as StatsRange, bucketMs: r.bucketMs, from, to, points, totals: totalsOf(rows), endpoints };
    },
  };
}
