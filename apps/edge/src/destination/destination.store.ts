/**
 * SQL for destinations: where an endpoint's webhooks go, each on one hub,
 * each its own queue.
 */
import type { SecretBox } from "../crypto/secret-box.js";
import type { Db } from "../db/db.js";
import type { DestinationFilter } from "./destination.filter.js";
import { DEFAULT_POLICY, type DeliveryPolicy } from "./destination.policy.js";

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
  /** How its queue is sent (destination.policy.ts); the default unless set. */
  policy: DeliveryPolicy;
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
  policy: string | null;
  policy_headers: string | null;
  position: number;
  created_at: number;
  updated_at: number;
}

/** What the sealed policy headers of destination `id` are bound to. */
export const policyHeadersAad = (id: string) => `${id}/policy-headers`;

/** The policy of a row: its JSON over the defaults, with its headers opened (none without a box). */
function policyOf(r: Row, box: SecretBox | undefined): DeliveryPolicy {
  if (r.policy === null && r.policy_headers === null) return DEFAULT_POLICY;
  const stored = r.policy ? (JSON.parse(r.policy) as Partial<DeliveryPolicy>) : {};
  const headers = r.policy_headers && box ? (JSON.parse(box.open(r.policy_headers, policyHeadersAad(r.id))) as [string, string][]) : [];
  return { ...DEFAULT_POLICY, ...stored, headers };
}

const toRecord = (r: Row, box: SecretBox | undefined): DestinationRecord => ({
  id: r.id,
  endpointId: r.endpoint_id,
  hubId: r.hub_id,
  url: r.url,
  name: r.name,
  enabled: r.enabled === 1,
  muted: r.muted === 1,
  filter: r.filter ? (JSON.parse(r.filter) as DestinationFilter) : null,
  policy: policyOf(r, box),
  position: r.position,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toParams = (d: DestinationRecord, box: SecretBox | undefined) => ({
  id: d.id,
  endpointId: d.endpointId,
  hubId: d.hubId,
  url: d.url,
  name: d.name,
  enabled: d.enabled ? 1 : 0,
  muted: d.muted ? 1 : 0,
  filter: d.filter ? JSON.stringify(d.filter) : null,
  policy: policyJson(d.policy),
  policyHeaders: sealHeaders(d, box),
  position: d.position,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

/** A policy's JSON without its headers; null for the default one. */
function policyJson(p: DeliveryPolicy): string | null {
  const { headers: _headers, ...rest } = p;
  const { headers: _h, ...defaults } = DEFAULT_POLICY;
  return JSON.stringify(rest) === JSON.stringify(defaults) ? null : JSON.stringify(rest);
}

function sealHeaders(d: DestinationRecord, box: SecretBox | undefined): string | null {
  if (d.policy.headers.length === 0) return null;
  if (!box) throw new Error("sealing a destination's policy headers needs the secret box");
  return box.seal(JSON.stringify(d.policy.headers), policyHeadersAad(d.id));
}

/** Queue numbers of one destination. */
export interface DestinationQueueStats {
  destinationId: string;
  pending: number;
  /** Of those, held out of the queue (unverified, at a destination that holds those). */
  held: number;
  oldestPendingAt: number | null;
  lastDeliveredAt: number | null;
}

/** Destination persistence. */
export type DestinationStore = ReturnType<typeof createDestinationStore>;

/** Prepares the destination statements. */
export function createDestinationStore(db: Db, box?: SecretBox) {
  const insert = db.prepare(
    `INSERT INTO destination (id, endpoint_id, hub_id, url, name, enabled, muted, filter, policy, policy_headers, position, created_at, updated_at)
     VALUES (@id, @endpointId, @hubId, @url, @name, @enabled, @muted, @filter, @policy, @policyHeaders, @position, @createdAt, @updatedAt)`,
  );
  const update = db.prepare(
    `UPDATE destination SET hub_id = @hubId, url = @url, name = @name, enabled = @enabled, muted = @muted, filter = @filter,
       policy = @policy, policy_headers = @policyHeaders, updated_at = @updatedAt WHERE id = @id`,
  );
  // note: a changed maximum age applies to what is queued already, from each webhook's arrival.
  const reAge = db.prepare<[number, string]>(
    `UPDATE delivery SET deliver_by = (SELECT w.received_at FROM webhook w WHERE w.seq = delivery.webhook_seq) + ?
     WHERE destination_id = ? AND status = 'pending'`,
  );
  const sealedHeaders = db.prepare<[], { id: string; policy_headers: string }>(`SELECT id, policy_headers FROM destination WHERE policy_headers IS NOT NULL`);
  const setSealedHeaders = db.prepare<[string, string]>(`UPDATE destination SET policy_headers = ? WHERE id = ?`);
  const byId = db.prepare<[string], Row>(`SELECT * FROM destination WHERE id = ?`);
  const byEndpoint = db.prepare<[string], Row>(`SELECT * FROM destination WHERE endpoint_id = ? ORDER BY position, created_at`);
  const all = db.prepare<[], Row>(`SELECT * FROM destination ORDER BY endpoint_id, position`);
  const byHub = db.prepare<[string], Row>(`SELECT * FROM destination WHERE hub_id = ? ORDER BY endpoint_id, position`);
  const nextPosition = db.prepare<[string], { p: number }>(`SELECT coalesce(max(position) + 1, 0) AS p FROM destination WHERE endpoint_id = ?`);
  const remove = db.prepare<[string]>(`DELETE FROM destination WHERE id = ?`);
  // note: webhooks that were waiting only for the deleted destination's queue are settled by the aggregate.
  const touchedWebhooks = db.prepare<[string], { webhook_seq: number }>(`SELECT webhook_seq FROM delivery WHERE destination_id = ? AND status = 'pending'`);
  const queueStats = db.prepare<{ d: string }, { pending: number; held: number; oldest: number | null; last_delivered: number | null }>(
    `SELECT
       (SELECT count(*) FROM delivery WHERE destination_id = @d AND status = 'pending') AS pending,
       (SELECT count(*) FROM delivery WHERE destination_id = @d AND held_at IS NOT NULL AND status = 'pending') AS held,
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
      insert.run(toParams(d, box));
    },
    update(d: DestinationRecord): void {
      update.run(toParams(d, box));
    },
    /** Sets the dead-letter deadline of its pending deliveries to their arrival + `maxAgeMs`. */
    reAge(id: string, maxAgeMs: number): void {
      reAge.run(maxAgeMs, id);
    },
    /** Every destination's sealed policy headers (for rotate-key). */
    sealedHeaders(): { id: string; sealed: string }[] {
      return sealedHeaders.all().map((r) => ({ id: r.id, sealed: r.policy_headers }));
    },
    /** Replaces one destination's sealed policy headers (rotate-key). */
    setSealedHeaders(id: string, sealed: string): void {
      setSealedHeaders.run(sealed, id);
    },
    get(id: string): DestinationRecord | undefined {
      const row = byId.get(id);
      return row && toRecord(row, box);
    },
    /** An endpoint's destinations in their order. */
    ofEndpoint(endpointId: string): DestinationRecord[] {
      return byEndpoint.all(endpointId).map((r) => toRecord(r, box));
    },
    ofHub(hubId: string): DestinationRecord[] {
      return byHub.all(hubId).map((r) => toRecord(r, box));
    },
    all(): DestinationRecord[] {
      return all.all().map((r) => toRecord(r, box));
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
      return {
        destinationId: id,
        pending: r?.pending ?? 0,
        held: r?.held ?? 0,
        oldestPendingAt: r?.oldest ?? null,
        lastDeliveredAt: r?.last_delivered ?? null,
      };
    },
  };
}
