/**
 * SQL of the audit trail: one row per operator action (issue #13), newest
 * first by id, kept for AUDIT_RETENTION_MS.
 */
import type { Db } from "../db/db.js";

/** One recorded action. */
export interface AuditRecord {
  id: number;
  /** ms since the epoch. */
  at: number;
  /** Who: `admin`, `token:<id>`, `github:<login>`, `telegram:<chat id>`. */
  actor: string;
  /** What: retry_now, skip, cancel, replay, … */
  action: string;
  endpointId: string | null;
  webhookId: string | null;
  destinationId: string | null;
  /** What else the action said (a replay's new webhook id, a bulk action's filter and counts). */
  detail: Record<string, unknown> | null;
}

/** A row to insert. */
export type AuditEntry = Omit<AuditRecord, "id">;

/** What to list; every filter optional. */
export interface AuditQuery {
  webhookId?: string | undefined;
  endpointId?: string | undefined;
  /** Only rows with id < beforeId (paging). */
  beforeId?: number | undefined;
  limit: number;
}

type AuditRow = Omit<AuditRecord, "detail"> & { detail: string | null };

/** Audit persistence. */
export type AuditStore = ReturnType<typeof createAuditStore>;

/** Prepares the audit statements. */
export function createAuditStore(db: Db) {
  const insert = db.prepare<[number, string, string, string | null, string | null, string | null, string | null]>(
    `INSERT INTO audit (at, actor, action, endpoint_id, webhook_id, destination_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const cols = `id, at, actor, action, endpoint_id AS endpointId, webhook_id AS webhookId, destination_id AS destinationId, detail`;
  const list = db.prepare<{ webhookId: string | null; endpointId: string | null; before: number; limit: number }, AuditRow>(
    `SELECT ${cols} FROM audit
     WHERE id < @before AND (@webhookId IS NULL OR webhook_id = @webhookId) AND (@endpointId IS NULL OR endpoint_id = @endpointId)
     ORDER BY id DESC LIMIT @limit`,
  );
  const purge = db.prepare<[number]>(`DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? ORDER BY at LIMIT 1000)`);
  return {
    /** Appends entries (in one transaction when called inside one). */
    insert(e: AuditEntry): void {
      insert.run(e.at, e.actor, e.action, e.endpointId, e.webhookId, e.destinationId, e.detail ? JSON.stringify(e.detail) : null);
    },
    list(q: AuditQuery): AuditRecord[] {
      return list
        .all({ webhookId: q.webhookId ?? null, endpointId: q.endpointId ?? null, before: q.beforeId ?? Number.MAX_SAFE_INTEGER, limit: q.limit })
        .map((r) => ({ ...r, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null }));
    },
    /** Deletes rows older than `before` (ms); returns how many. */
    purge(before: number): number {
      let total = 0;
      for (;;) {
        const n = purge.run(before).changes;
        total += n;
        if (n < 1000) return total;
      }
    },
  };
}
