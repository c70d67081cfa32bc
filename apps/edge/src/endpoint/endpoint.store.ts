/**
 * SQL for endpoints. Statements are prepared once; callers get plain rows.
 */
import type { Db } from "../db/db.js";
import type { ProviderType } from "../verify/verify.service.js";

/** An endpoint row as stored (the secret still sealed). */
export interface EndpointRecord {
  id: string;
  name: string;
  providerType: ProviderType;
  sealedSecret: string | null;
  /** generic endpoints: the header that names the event type (null: the JSON body's `type`). */
  eventTypeHeader: string | null;
  muted: boolean;
  /** Opt-in deduplication: a webhook whose provider id arrived within this many ms is stored as a duplicate, not delivered; 0: off. */
  dedupWindowMs: number;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  id: string;
  name: string;
  provider_type: ProviderType;
  signature_secret: string | null;
  event_type_header: string | null;
  muted: number;
  dedup_window_ms: number;
  created_at: number;
  updated_at: number;
}

const toRecord = (r: Row): EndpointRecord => ({
  id: r.id,
  name: r.name,
  providerType: r.provider_type,
  sealedSecret: r.signature_secret,
  eventTypeHeader: r.event_type_header,
  muted: r.muted === 1,
  dedupWindowMs: r.dedup_window_ms,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Endpoint persistence. */
export type EndpointStore = ReturnType<typeof createEndpointStore>;

/** Prepares the endpoint statements. */
export function createEndpointStore(db: Db) {
  const insert = db.prepare<[string, string, string, string | null, string | null, number, number, number, number]>(
    `INSERT INTO endpoint (id, name, provider_type, signature_secret, event_type_header, muted, dedup_window_ms, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const byId = db.prepare<[string], Row>(`SELECT * FROM endpoint WHERE id = ?`);
  const all = db.prepare<[], Row>(`SELECT * FROM endpoint ORDER BY created_at, id`);
  const update = db.prepare<[string, string, string | null, string | null, number, number, number, string]>(
    `UPDATE endpoint SET name = ?, provider_type = ?, signature_secret = ?, event_type_header = ?, muted = ?, dedup_window_ms = ?, updated_at = ?
     WHERE id = ?`,
  );
  const remove = db.prepare<[string]>(`DELETE FROM endpoint WHERE id = ?`);
  const webhookCount = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM webhook WHERE endpoint_id = ?`);

  return {
    insert(e: EndpointRecord): void {
      insert.run(e.id, e.name, e.providerType, e.sealedSecret, e.eventTypeHeader, e.muted ? 1 : 0, e.dedupWindowMs, e.createdAt, e.updatedAt);
    },
    get(id: string): EndpointRecord | undefined {
      const row = byId.get(id);
      return row && toRecord(row);
    },
    list(): EndpointRecord[] {
      return all.all().map(toRecord);
    },
    update(e: EndpointRecord): void {
      update.run(e.name, e.providerType, e.sealedSecret, e.eventTypeHeader, e.muted ? 1 : 0, e.dedupWindowMs, e.updatedAt, e.id);
    },
    /** Deletes the endpoint and (by cascade) its webhooks and attempts. */
    delete(id: string): boolean {
      return db.transaction(() => remove.run(id).changes > 0)();
    },
    /** Runs `fn` in one transaction. */
    atomically: db.transaction(<T>(fn: () => T): T => fn()) as <T>(fn: () => T) => T,
    webhookCount(id: string): number {
      return webhookCount.get(id)?.n ?? 0;
    },
  };
}
