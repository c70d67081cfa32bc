/**
 * SQL for the hub registry: one row per hub, its sealed credentials and what
 * was last seen of its connection.
 */
import type { Db } from "../db/db.js";

/** A hub row as stored (credentials still sealed). */
export interface HubRecord {
  id: string;
  name: string;
  /** The hub whose credential is HOME_HUB_SECRET (from the environment, never stored). */
  bootstrap: boolean;
  sealedSecret: string | null;
  sealedPreviousSecret: string | null;
  createdAt: number;
  updatedAt: number;
  revokedAt: number | null;
  rotatedAt: number | null;
  lastConnectedAt: number | null;
  lastDisconnectedAt: number | null;
  lastSeenAt: number | null;
  version: string | null;
  transport: string | null;
  remoteAddress: string | null;
  reportedId: string | null;
  /** What the hub said at its last open: it forwards only to HUB_ALLOWED_DESTINATIONS ("set") or anywhere ("none"); null: never said. */
  allowlist: "set" | "none" | null;
}

interface Row {
  id: string;
  name: string;
  bootstrap: number;
  secret: string | null;
  previous_secret: string | null;
  created_at: number;
  updated_at: number;
  revoked_at: number | null;
  rotated_at: number | null;
  last_connected_at: number | null;
  last_disconnected_at: number | null;
  last_seen_at: number | null;
  version: string | null;
  transport: string | null;
  remote_address: string | null;
  reported_id: string | null;
  allowlist: "set" | "none" | null;
}

const toRecord = (r: Row): HubRecord => ({
  id: r.id,
  name: r.name,
  bootstrap: r.bootstrap === 1,
  sealedSecret: r.secret,
  sealedPreviousSecret: r.previous_secret,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  revokedAt: r.revoked_at,
  rotatedAt: r.rotated_at,
  lastConnectedAt: r.last_connected_at,
  lastDisconnectedAt: r.last_disconnected_at,
  lastSeenAt: r.last_seen_at,
  version: r.version,
  transport: r.transport,
  remoteAddress: r.remote_address,
  reportedId: r.reported_id,
  allowlist: r.allowlist,
});

/** What a connection tells about its hub. */
export interface HubConnectionInfo {
  at: number;
  version: string;
  transport: string;
  remoteAddress: string;
  reportedId: string;
  allowlist: "set" | "none" | null;
}

/** Hub persistence. */
export type HubStore = ReturnType<typeof createHubStore>;

/** Prepares the hub statements. */
export function createHubStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO hub (id, name, bootstrap, secret, previous_secret, created_at, updated_at)
     VALUES (@id, @name, 0, @secret, NULL, @at, @at)`,
  );
  const byId = db.prepare<[string], Row>(`SELECT * FROM hub WHERE id = ?`);
  const all = db.prepare<[], Row>(`SELECT * FROM hub ORDER BY bootstrap DESC, created_at, id`);
  const rename = db.prepare<[string, number, string]>(`UPDATE hub SET name = ?, updated_at = ? WHERE id = ?`);
  const revoke = db.prepare<[number, number, string]>(
    `UPDATE hub SET revoked_at = ?, updated_at = ?, secret = NULL, previous_secret = NULL WHERE id = ? AND revoked_at IS NULL`,
  );
  const rotate = db.prepare<[string, number, number, string]>(
    `UPDATE hub SET previous_secret = secret, secret = ?, rotated_at = ?, updated_at = ? WHERE id = ? AND revoked_at IS NULL`,
  );
  const retire = db.prepare<[number, string]>(`UPDATE hub SET previous_secret = NULL, updated_at = ? WHERE id = ?`);
  const connected = db.prepare(
    `UPDATE hub SET last_connected_at = @at, last_seen_at = @at, version = @version, transport = @transport,
       remote_address = @remoteAddress, reported_id = @reportedId, allowlist = @allowlist WHERE id = @id`,
  );
  const seen = db.prepare<[number, string]>(`UPDATE hub SET last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE id = ?`);
  const disconnected = db.prepare<[number, number, string]>(
    `UPDATE hub SET last_disconnected_at = ?, last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE id = ?`,
  );

  return {
    insert(h: { id: string; name: string; sealedSecret: string; at: number }): void {
      insert.run({ id: h.id, name: h.name, secret: h.sealedSecret, at: h.at });
    },
    get(id: string): HubRecord | undefined {
      const row = byId.get(id);
      return row && toRecord(row);
    },
    /** Every hub, the bootstrap hub first, then oldest first. */
    list(): HubRecord[] {
      return all.all().map(toRecord);
    },
    rename(id: string, name: string, at: number): boolean {
      return rename.run(name, at, id).changes > 0;
    },
    /** Revokes a hub and forgets its credentials; false when it was already revoked. */
    revoke(id: string, at: number): boolean {
      return revoke.run(at, at, id).changes > 0;
    },
    /** Makes `sealedSecret` current; the current one stays valid as the previous. */
    rotate(id: string, sealedSecret: string, at: number): boolean {
      return rotate.run(sealedSecret, at, at, id).changes > 0;
    },
    /** Stops accepting the previous credential. */
    retire(id: string, at: number): boolean {
      return retire.run(at, id).changes > 0;
    },
    connected(id: string, info: HubConnectionInfo): void {
      connected.run({ id, ...info });
    },
    seen(id: string, at: number): void {
      seen.run(at, id);
    },
    disconnected(id: string, at: number, lastSeenAt: number): void {
      disconnected.run(at, lastSeenAt, id);
    },
  };
}
