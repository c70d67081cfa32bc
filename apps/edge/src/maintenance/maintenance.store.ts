/**
 * SQL the maintenance commands (backup, restore, key rotation) need beyond the
 * feature stores: an integrity check and a short summary of a database file.
 */
import type { Db } from "../db/db.js";

/** What a database holds, in brief. */
export interface DatabaseSummary {
  /** `PRAGMA integrity_check`: "ok", or the problems found (first 20). */
  integrity: string;
  /** `PRAGMA user_version`: the last migration applied. */
  schemaVersion: number;
  endpoints: number;
  webhooks: number;
  pending: number;
}

/** Maintenance persistence. */
export type MaintenanceStore = ReturnType<typeof createMaintenanceStore>;

/** Prepares the maintenance statements (the schema must exist: user_version ≥ 1). */
export function createMaintenanceStore(db: Db) {
  const counts = db.prepare<[], { endpoints: number; webhooks: number; pending: number }>(
    `SELECT (SELECT count(*) FROM endpoint) AS endpoints,
            (SELECT count(*) FROM webhook) AS webhooks,
            (SELECT count(*) FROM webhook WHERE status = 'pending') AS pending`,
  );
  return {
    /** Checks every page and index, then counts rows. */
    summary(): DatabaseSummary {
      const problems = (db.pragma("integrity_check(20)") as { integrity_check: string }[]).map((r) => r.integrity_check);
      return {
        integrity: problems.join("; "),
        schemaVersion: db.pragma("user_version", { simple: true }) as number,
        ...counts.get()!,
      };
    },
  };
}
