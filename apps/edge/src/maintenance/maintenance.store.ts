/**
 * SQL the maintenance commands (backup, restore, key rotation) need beyond the
 * feature stores: an integrity check, a short summary of a database file, and
 * the sealed hub credentials a key rotation re-seals.
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
  /** Registered hubs, the bootstrap hub included; null in a database from before hubs (schema < 6). */
  hubs: number | null;
  /** Destinations of all endpoints; null in a database from before destinations (schema < 6). */
  destinations: number | null;
}

/** Maintenance persistence. */
export type MaintenanceStore = ReturnType<typeof createMaintenanceStore>;

/**
 * Prepares the maintenance statements (the schema must exist: user_version ≥
 * 1). Works on databases of every schema version, so backups from older
 * releases can be verified and restored.
 */
export function createMaintenanceStore(db: Db) {
  const tables = new Set(
    db
      .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`)
      .all()
      .map((r) => r.name),
  );
  const countOf = (table: "hub" | "destination") => (tables.has(table) ? `(SELECT count(*) FROM ${table})` : "NULL");
  const counts = db.prepare<[], Omit<DatabaseSummary, "integrity" | "schemaVersion">>(
    `SELECT (SELECT count(*) FROM endpoint) AS endpoints,
            (SELECT count(*) FROM webhook) AS webhooks,
            (SELECT count(*) FROM webhook WHERE status = 'pending') AS pending,
            ${countOf("hub")} AS hubs,
            ${countOf("destination")} AS destinations`,
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

/** A hub's credentials as stored: sealed with ENCRYPTION_KEY, the hub id as associated data. */
export interface SealedHubCredentials {
  id: string;
  /** Sealed current credential (null for the bootstrap hub and revoked hubs). */
  secret: string | null;
  /** Sealed credential from before a rotation, valid until retired. */
  previousSecret: string | null;
}

/** Sealed hub credentials, for re-sealing after a key rotation. */
export type HubCredentialStore = ReturnType<typeof createHubCredentialStore>;

/** Prepares the hub credential statements (schema ≥ 6: the hub table). */
export function createHubCredentialStore(db: Db) {
  const sealed = db.prepare<[], SealedHubCredentials>(
    `SELECT id, secret, previous_secret AS previousSecret FROM hub
     WHERE secret IS NOT NULL OR previous_secret IS NOT NULL ORDER BY id`,
  );
  const reseal = db.prepare<{ id: string; secret: string | null; previousSecret: string | null }>(
    `UPDATE hub SET secret = @secret, previous_secret = @previousSecret WHERE id = @id`,
  );
  return {
    /** Every hub holding a sealed credential. */
    list(): SealedHubCredentials[] {
      return sealed.all();
    },
    /** Replaces a hub's sealed credentials; updated_at and rotated_at stay (the credential did not change, only its encryption). */
    update(h: SealedHubCredentials): void {
      reseal.run(h);
    },
  };
}

/** Stored webhook headers holding sealed values (webhook/webhook.headers.ts), for re-sealing after a key rotation. */
export type SealedHeaderStore = ReturnType<typeof createSealedHeaderStore>;

/** Prepares the statements over webhook_body.headers. */
export function createSealedHeaderStore(db: Db) {
  // note: in the stored JSON the NUL that marks a sealed value is written as the six characters \u0000.
  const marked = db.prepare<[string], { seq: number; headers: string }>(
    `SELECT webhook_seq AS seq, headers FROM webhook_body WHERE instr(headers, ?) > 0 ORDER BY webhook_seq`,
  );
  const update = db.prepare<[string, number]>(`UPDATE webhook_body SET headers = ? WHERE webhook_seq = ?`);
  return {
    /** Every stored webhook whose headers hold a sealed value. */
    list(): { seq: number; headers: [string, string][] }[] {
      return marked.all(JSON.stringify("\u0000hookly-sealed:").slice(1, -1)).map((r) => ({ seq: r.seq, headers: JSON.parse(r.headers) as [string, string][] }));
    },
    update(seq: number, headers: readonly [string, string][]): void {
      update.run(JSON.stringify(headers), seq);
    },
  };
}
