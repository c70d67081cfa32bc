/**
 * SQL of the delivery rollups (migration 020): per minute and per hour, per
 * endpoint. Writes add to a bucket (UPSERT); reads sum buckets of a period.
 */
import type { Db } from "../db/db.js";
import { emptyHistogram, mergeInto } from "./stats.histogram.js";

/** Counts of one bucket of one endpoint. */
export interface StatsRow {
  bucket: number;
  endpointId: string;
  received: number;
  delivered: number;
  failed: number;
  latency: number[];
}

/** The two granularities. */
export type Grain = "minute" | "hour";

type Row = { bucket: number; endpoint_id: string; received: number; delivered: number; failed: number; latency: string };

/** Rollup persistence. */
export type StatsStore = ReturnType<typeof createStatsStore>;

/** Prepares the rollup statements. */
export function createStatsStore(db: Db) {
  const statementsFor = (t: "stats_minute" | "stats_hour") => ({
    get: db.prepare<[number, string], Row>(`SELECT * FROM ${t} WHERE bucket = ? AND endpoint_id = ?`),
    put: db.prepare<[number, string, number, number, number, string]>(
      `INSERT INTO ${t} (bucket, endpoint_id, received, delivered, failed, latency) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (bucket, endpoint_id) DO UPDATE SET received = excluded.received, delivered = excluded.delivered,
         failed = excluded.failed, latency = excluded.latency`,
    ),
    range: db.prepare<[number, number], Row>(`SELECT * FROM ${t} WHERE bucket >= ? AND bucket < ? ORDER BY bucket`),
    rangeOf: db.prepare<[number, number, string], Row>(`SELECT * FROM ${t} WHERE bucket >= ? AND bucket < ? AND endpoint_id = ? ORDER BY bucket`),
    purge: db.prepare<[number]>(`DELETE FROM ${t} WHERE bucket < ?`),
  });
  const prepared = { minute: statementsFor("stats_minute"), hour: statementsFor("stats_hour") };
  const toRow = (r: Row): StatsRow => ({
    bucket: r.bucket,
    endpointId: r.endpoint_id,
    received: r.received,
    delivered: r.delivered,
    failed: r.failed,
    latency: JSON.parse(r.latency) as number[],
  });

  return {
    /** Adds the given counts into their buckets (minute and hour alike), in one transaction. */
    add: db.transaction((rows: readonly StatsRow[]): void => {
      for (const grain of ["minute", "hour"] as const) {
        const size = grain === "minute" ? 60_000 : 3_600_000;
        for (const r of rows) {
          const bucket = Math.floor(r.bucket / size) * size;
          const old = prepared[grain].get.get(bucket, r.endpointId);
          const base = old ? toRow(old) : { received: 0, delivered: 0, failed: 0, latency: emptyHistogram() };
          prepared[grain].put.run(
            bucket,
            r.endpointId,
            base.received + r.received,
            base.delivered + r.delivered,
            base.failed + r.failed,
            JSON.stringify(mergeInto(base.latency, r.latency)),
          );
        }
      }
    }),
    /** Rows of `[from, to)` at `grain`, oldest first; of one endpoint, or of all. */
    range(grain: Grain, from: number, to: number, endpointId?: string): StatsRow[] {
      const rows = endpointId ? prepared[grain].rangeOf.all(from, to, endpointId) : prepared[grain].range.all(from, to);
      return rows.map(toRow);
    },
    /** Drops minute rows before `minuteBefore` and hour rows before `hourBefore`. */
    purge(minuteBefore: number, hourBefore: number): void {
      prepared.minute.purge.run(minuteBefore);
      prepared.hour.purge.run(hourBefore);
    },
  };
}
