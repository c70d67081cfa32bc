/**
 * SQL behind the queue gauges, read at scrape time so they are right after a
 * restart and cost nothing between scrapes.
 */
import type { Db } from "../db/db.js";

/** One endpoint's queue. */
export interface QueueGauge {
  endpointId: string;
  /** The endpoint's name (for hookly_endpoint_info). */
  name: string;
  /** Pending webhooks. */
  depth: number;
  /** received_at (ms) of the head of the queue (lowest seq pending), null when empty. */
  headReceivedAt: number | null;
}

/** Metrics persistence. */
export type MetricsStore = ReturnType<typeof createMetricsStore>;

/** Prepares the metrics statements. */
export function createMetricsStore(db: Db) {
  // note: both subqueries use the index webhook_by_endpoint_status (endpoint_id, status, seq);
  // the head is found by seq, so it costs one index step however long the queue is.
  const queues = db.prepare<[], QueueGauge>(
    `SELECT e.id AS endpointId, e.name AS name,
            (SELECT count(*) FROM webhook w WHERE w.endpoint_id = e.id AND w.status = 'pending') AS depth,
            (SELECT w.received_at FROM webhook w WHERE w.endpoint_id = e.id AND w.status = 'pending'
              ORDER BY w.seq LIMIT 1) AS headReceivedAt
       FROM endpoint e
      ORDER BY e.id`,
  );
  const destinationQueues = db.prepare<[], { destinationId: string; hubId: string; depth: number }>(
    `SELECT x.id AS destinationId, x.hub_id AS hubId,
            (SELECT count(*) FROM delivery d WHERE d.destination_id = x.id AND d.status = 'pending') AS depth
       FROM destination x ORDER BY x.id`,
  );
  return {
    /** Every destination's queue, with its hub. */
    destinationQueues(): { destinationId: string; hubId: string; depth: number }[] {
      return destinationQueues.all();
    },
    /** Every endpoint's queue, including empty ones (so a drained queue reads 0, not "no data"). */
    queues(): QueueGauge[] {
      return queues.all();
    },
  };
}
