/**
 * SQL for destinations: where an endpoint's webhooks go, each on one hub,
 * each its own queue.
 */
import type { Db } from "../db/db.js";
import type { DestinationFilter } from "./destination.filter.js";

/** A destination row. */
export interface DestinationRecord {
  id: string;
  endpointId: string;
  hubId: string;
  url: string;
  name: string;
  /** Disabled: new webhooks are not routed to it (what is queued waits). */
  enabled: boolean;
  /** Muted: its queue fills, nothing is dispatched. */
  muted: boolean;
  filter: DestinationFilter | null;
  position: number;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  id: string;
  endpoint_id: string;
  hub_id: string;
  url: string;
  name: string;
  enabled: number;
  muted: number;
  filter: string | null;
  position: number;
  created_at: number;
  updated_at: number;
}

const toRecord = (r: Row): DestinationRecord => ({
  id: r.id,
  endpointId: r.endpoint_id,
  hubId: r.hub_id,
  url: r.url,
  name: r.name,
  enabled: r.enabled === 1,
  muted: r.muted === 1,
  filter: r.filter ? (JSON.parse(r.filter) as DestinationFilter) : null,
  position: r.position,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toParams = (d: DestinationRecord) => ({
  id: d.id,
  endpointId: d.endpointId,
  hubId: d.hubId,
  url: d.url,
  name: d.name,
  enabled: d.enabled ? 1 : 0,
  muted: d.muted ? 1 : 0,
  filter: d.filter ? JSON.stringify(d.filter) : null,
  position: d.position,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

/** Queue numbers of one destination. */
export interface DestinationQueueStats {
  destinationId: string;
  pending: number;
  oldestPendingAt: number | null;
  lastDeliveredAt: number | null;
}

/** Destination persistence. */
export type DestinationStore = ReturnType<typeof createDestinationStore>;

/** Prepares the destination statements. */
export function createDestinationStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO destination (id, endpoint_id, hub_id, url, name, enabled, muted, filter, position, created_at, updated_at)
     VALUES (@id, @endpointId, @hubId, @url, @name, @enabled, @muted, @filter, @position, @createdAt, @updatedAt)`,
  );
  const update = db.prepare(
    `UPDATE destination SET hub_id = @hubId, url = @url, name = @name, enabled = @enabled, muted = @muted, filter = @filter,
       updated_at = @updatedAt WHERE id = @id`,
  );
  const byId = db.prepare<[string], Row>(`SELECT * FROM destination WHERE id = ?`);
  const byEndpoint = db.prepare<[string], Row>(`SELECT * FROM destination WHERE endpoint_id = ? ORDER BY position, created_at`);
  const all = db.prepare<[], Row>(`SELECT * FROM destination ORDER BY endpoint_id, position`);
  const byHub = db.prepare<[string], Row>(`SELECT * FROM destination WHERE hub_id = ? ORDER BY endpoint_id, position`);
  const nextPosition = db.prepare<[string], { p: number }>(`SELECT coalesce(max(position) + 1, 0) AS p FROM destination WHERE endpoint_id = ?`);
  const remove = db.prepare<[string]>(`DELETE FROM destination WHERE id = ?`);
  // note: webhooks that were waiting only for the deleted destination's queue are settled by the aggregate.
  const touchedWebhooks = db.prepare<[string], { webhook_seq: number }>(`SELECT webhook_seq FROM delivery WHERE destination_id = ? AND status = 'pending'`);
  const queueStats = db.prepare<{ d: string }, { pending: number; oldest: number | null; last_delivered: number | null }>(
    `SELECT
       (SELECT count(*) FROM delivery WHERE destination_id = @d AND status = 'pending') AS pending,
       (SELECT w.received_at FROM delivery d JOIN webhook w ON w.seq = d.webhook_seq
          WHERE d.destination_id = @d AND d.status = 'pending' ORDER BY d.seq LIMIT 1) AS oldest,
       (SELECT delivered_at FROM delivery WHERE destination_id = @d AND status = 'delivered' ORDER BY seq DESC LIMIT 1) AS last_delivered`,
  );

  const perHub = db.prepare<[], { hub_id: string; destinations: number; pending: number }>(
    // note: one pass over the pending part of delivery_by_destination, instead of a queue query per destination.
    `SELECT x.hub_id, count(DISTINCT x.id) AS destinations, count(d.seq) AS pending
     FROM destination x LEFT JOIN delivery d ON d.destination_id = x.id AND d.status = 'pending'
     GROUP BY x.hub_id`,
  );

  return {
    insert(d: DestinationRecord): void {
      insert.run(toParams(d));
    },
    update(d: DestinationRecord): void {
      update.run(toParams(d));
    },
    get(id: string): DestinationRecord | undefined {
      const row = byId.get(id);
      return row && toRecord(row);
    },
    /** An endpoint's destinations in their order. */
    ofEndpoint(endpointId: string): DestinationRecord[] {
      return byEndpoint.all(endpointId).map(toRecord);
    },
    ofHub(hubId: string): DestinationRecord[] {
      return byHub.all(hubId).map(toRecord);
    },
    all(): DestinationRecord[] {
      return all.all().map(toRecord);
    },
    nextPosition(endpointId: string): number {
      return nextPosition.get(endpointId)?.p ?? 0;
    },
    /** Deletes a destination and its deliveries; returns the webhooks whose aggregate must be recomputed. */
    delete(id: string): number[] {
      const seqs = touchedWebhooks.all(id).map((r) => r.webhook_seq);
      remove.run(id);
      return seqs;
    },
    /** Per hub: how many destinations it has and how many deliveries wait in their queues. */
    perHub(): Map<string, { destinations: number; pending: number }> {
      return new Map(perHub.all().map((r) => [r.hub_id, { destinations: r.destinations, pending: r.pending }]));
    },
    queueStats(id: string): DestinationQueueStats {
      const r = queueStats.get({ d: id });
      return { destinationId: id, pending: r?.pending ?? 0, oldestPendingAt: r?.oldest ?? null, lastDeliveredAt: r?.last_delivered ?? null };
    },
  };
}
