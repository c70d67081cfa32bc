/**
 * Operations on the edge's database that run beside (or instead of) the edge:
 * fresh secrets, an online backup, a restore, and re-sealing endpoint secrets
 * and hub credentials after an ENCRYPTION_KEY rotation. The CLI (cli.ts) calls these; they throw
 * MaintenanceError with a message meant for the operator.
 */
import { type DestinationStore, policyHeadersAad } from "../destination/destination.store.js";
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { SecretBox } from "../crypto/secret-box.js";
import { readMigrations, type Db } from "../db/db.js";
import type { EndpointStore } from "../endpoint/endpoint.store.js";
import { payloadDirOf } from "../payload/payload.files.js";
import {
  createMaintenanceStore,
  type DatabaseSummary,
  type HubCredentialStore,
  type SealedHeaderStore,
  type SealedHubCredentials,
} from "./maintenance.store.js";
import { resealHeaders } from "../webhook/webhook.headers.js";

/** A failed maintenance operation; the message says what to do. */
export class MaintenanceError extends Error {
  override name = "MaintenanceError";
}

/** The secrets a new installation needs, as .env lines. */
export interface FreshSecrets {
  ENCRYPTION_KEY: string;
  HOME_HUB_SECRET: string;
  ADMIN_TOKEN: string;
}

/**
 * Fresh random secrets: ENCRYPTION_KEY as 64 hex characters (32 bytes),
 * HOME_HUB_SECRET and ADMIN_TOKEN as 43 base64url characters (32 bytes each).
 */
export function generateSecrets(random: (n: number) => Buffer = randomBytes): FreshSecrets {
  return {
    ENCRYPTION_KEY: random(32).toString("hex"),
    HOME_HUB_SECRET: random(32).toString("base64url"),
    ADMIN_TOKEN: random(32).toString("base64url"),
  };
}

/** The newest schema version this edge knows. */
export function latestSchemaVersion(): number {
  return readMigrations().at(-1)?.version ?? 0;
}

/**
 * Opens an existing Hookly database without migrating it (the running edge,
 * if any, owns migrations). Throws when the file is missing or not a Hookly
 * database, or (with `minSchemaVersion`) older than a command needs.
 */
export function openExisting(path: string, opts: { readonly?: boolean; minSchemaVersion?: number } = {}): Db {
  if (!existsSync(path)) throw new MaintenanceError(`no database at ${path} (check DATABASE_PATH)`);
  let db: Db;
  try {
    db = new Database(path, { fileMustExist: true, readonly: opts.readonly ?? false });
    db.pragma("busy_timeout = 5000");
    db.pragma("foreign_keys = ON");
  } catch (err) {
    throw new MaintenanceError(`cannot open ${path}: ${(err as Error).message}`);
  }
  let version: number;
  try {
    version = db.pragma("user_version", { simple: true }) as number;
  } catch (err) {
    db.close();
    throw new MaintenanceError(`${path} is not an SQLite database: ${(err as Error).message}`);
  }
  if (version < 1) {
    db.close();
    throw new MaintenanceError(`${path} is not a Hookly database (schema version 0)`);
  }
  if (opts.minSchemaVersion !== undefined && version < opts.minSchemaVersion) {
    db.close();
    throw new MaintenanceError(
      `${path} has schema version ${version}; this command needs ${opts.minSchemaVersion}: start the edge of this release once, which migrates it`,
    );
  }
  return db;
}

/** Integrity check and row counts of the database file at `path`. */
export function inspectDatabase(path: string): DatabaseSummary {
  const db = openExisting(path);
  try {
    return createMaintenanceStore(db).summary();
  } finally {
    db.close();
  }
}

/** Payload files (bodies over 1 MiB) a backup or restore carried over. */
export interface PayloadFilesCopied {
  /** Files the database names that were copied (or linked). */
  payloadFiles: number;
  /** Files it names that were not there (a webhook retention deleted meanwhile, or a damaged store). */
  missingPayloadFiles: number;
}

/** What a backup produced. */
export interface BackupResult extends DatabaseSummary, PayloadFilesCopied {
  file: string;
  bytes: number;
}

/** The payload files a database names (none before migration 008). */
function namedPayloadFiles(path: string): Set<string> {
  const db = openExisting(path, { readonly: true });
  try {
    const has = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('webhook_body') WHERE name = 'payload_file'`).get();
    if (!has) return new Set();
    return new Set(
      db
        .prepare<[], { f: string }>(`SELECT payload_file AS f FROM webhook_body WHERE payload_file IS NOT NULL`)
        .all()
        .map((r) => r.f),
    );
  } finally {
    db.close();
  }
}

/** How many payload files the database at `path` names, and how many of those are missing from `<path>-payloads/`. */
export function checkPayloadFiles(path: string): PayloadFilesCopied {
  const dir = payloadDirOf(path);
  let missingPayloadFiles = 0;
  const named = namedPayloadFiles(path);
  for (const name of named) if (!existsSync(join(dir, name))) missingPayloadFiles++;
  return { payloadFiles: named.size - missingPayloadFiles, missingPayloadFiles };
}

/**
 * Gives `toDir` the files of `fromDir` that are in `names` (all of them when undefined): hard
 * links when both are on one file system (payload files never change once written), else copies.
 */
function carryPayloadFiles(fromDir: string, toDir: string, names: ReadonlySet<string> | undefined): PayloadFilesCopied {
  mkdirSync(toDir, { recursive: true });
  const present = existsSync(fromDir) ? new Set(readdirSync(fromDir).filter((n) => n.startsWith("wh_"))) : new Set<string>();
  let payloadFiles = 0;
  let missingPayloadFiles = 0;
  for (const name of names ?? present) {
    if (!present.has(name)) {
      missingPayloadFiles++;
      continue;
    }
    const to = join(toDir, name);
    if (existsSync(to)) {
      payloadFiles++;
      continue;
    }
    try {
      linkSync(join(fromDir, name), to);
    } catch {
      copyFileSync(join(fromDir, name), to);
    }
    payloadFiles++;
  }
  return { payloadFiles, missingPayloadFiles };
}

/**
 * Copies the database at `source` to `target` while the edge keeps running,
 * then verifies the copy.
 *
 * SQLite's online backup runs on a separate connection; with WAL the edge's
 * writes go on meanwhile. The pages are copied in one step, i.e. inside one
 * read transaction, so the copy is a consistent snapshot of one moment (a
 * copy in small steps would restart whenever the edge commits, and might
 * never finish under load). The copy is written next to the target, switched
 * to a self-contained rollback-journal file, checked with `PRAGMA
 * integrity_check`, and only then renamed to `target`. The payload files it
 * names (bodies over 1 MiB) go to `<target>-payloads/`, as hard links when on
 * the same file system (they never change once written), else copies.
 *
 * Refuses to overwrite an existing `target` unless `force`.
 */
export async function backupDatabase(source: string, target: string, opts: { force?: boolean } = {}): Promise<BackupResult> {
  if (resolve(target) === resolve(source)) throw new MaintenanceError("the backup file must not be the database itself");
  if (existsSync(target) && !opts.force) throw new MaintenanceError(`${target} exists; choose another file or pass --force`);
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  removeDatabaseFiles(partial);
  const partialFiles = payloadDirOf(partial);
  carryPayloadFiles(payloadDirOf(source), partialFiles, undefined);
  const db = openExisting(source);
  try {
    // note: the first step sizes the copy; returning the page count makes the next step copy everything at once.
    await db.backup(partial, { progress: ({ totalPages }) => Math.max(totalPages, 1) * 2 });
  } catch (err) {
    removeDatabaseFiles(partial);
    throw new MaintenanceError(`backup of ${source} failed: ${(err as Error).message}`);
  } finally {
    db.close();
  }
  let summary: DatabaseSummary;
  try {
    const copy = openExisting(partial);
    try {
      copy.pragma("journal_mode = DELETE");
      summary = createMaintenanceStore(copy).summary();
    } finally {
      copy.close();
    }
  } catch (err) {
    removeDatabaseFiles(partial);
    throw err instanceof MaintenanceError ? err : new MaintenanceError(`cannot verify the backup: ${(err as Error).message}`);
  }
  if (summary.integrity !== "ok") {
    removeDatabaseFiles(partial);
    throw new MaintenanceError(`the backup failed its integrity check (${summary.integrity}); the source may be damaged`);
  }
  // note: the files the snapshot names. Most were linked before it was taken (so retention deleting
  // one meanwhile does not lose it); those committed since are linked now.
  const named = namedPayloadFiles(partial);
  const files = carryPayloadFiles(payloadDirOf(source), partialFiles, named);
  for (const name of readdirSync(partialFiles)) if (!named.has(name)) rmSync(join(partialFiles, name), { force: true });
  if (opts.force) removeDatabaseFiles(target);
  renameSync(partialFiles, payloadDirOf(target));
  renameSync(partial, target);
  return { file: target, bytes: statSync(target).size, ...summary, ...files };
}

/** What a restore did. */
export interface RestoreResult extends DatabaseSummary, PayloadFilesCopied {
  /** Where the database that was replaced went, if there was one. */
  previous: string | undefined;
}

/**
 * Puts the backup at `backup` in place of the database at `target`. The edge
 * must be stopped: a database another process has open is refused.
 *
 * The backup is verified first (integrity, a schema this edge knows). An
 * existing `target` is only replaced with `force`, and is kept as
 * `<target>.before-restore-<time>` (with its -wal/-shm, which must never be
 * applied to the restored file, and its payload files). The copy is written
 * beside the target and renamed over it, so a crash leaves either the old or
 * the new database. The payload files the backup names (in
 * `<backup>-payloads/`) come with it.
 */
export function restoreDatabase(backup: string, target: string, opts: { force?: boolean; now?: Date } = {}): RestoreResult {
  if (resolve(backup) === resolve(target)) throw new MaintenanceError("the backup file is the database itself");
  const summary = inspectDatabase(backup);
  if (summary.integrity !== "ok") throw new MaintenanceError(`${backup} failed its integrity check: ${summary.integrity}`);
  const latest = latestSchemaVersion();
  if (summary.schemaVersion > latest) {
    throw new MaintenanceError(`${backup} has schema version ${summary.schemaVersion}, newer than this edge knows (${latest}): restore with a newer edge`);
  }
  let previous: string | undefined;
  if (existsSync(target)) {
    if (!opts.force) throw new MaintenanceError(`${target} exists; pass --force to replace it (it is kept as ${target}.before-restore-…)`);
    assertNotInUse(target);
    const stamp = (opts.now ?? new Date()).toISOString().replace(/[:.]/g, "-");
    previous = `${target}.before-restore-${stamp}`;
    for (const suffix of ["", "-wal", "-shm", "-payloads"]) {
      if (existsSync(target + suffix)) renameSync(target + suffix, previous + suffix);
    }
  } else {
    mkdirSync(dirname(target), { recursive: true });
    // note: a stray -wal of some earlier database would be replayed into the restored one; stray
    // payload files belong to no row of it.
    for (const suffix of ["-wal", "-shm", "-payloads"]) rmSync(target + suffix, { recursive: true, force: true });
  }
  const restoring = `${target}.restoring`;
  removeDatabaseFiles(restoring);
  const files = carryPayloadFiles(payloadDirOf(backup), payloadDirOf(restoring), namedPayloadFiles(backup));
  copyFileSync(backup, restoring);
  renameSync(payloadDirOf(restoring), payloadDirOf(target));
  renameSync(restoring, target);
  return { ...summary, ...files, previous };
}

/**
 * Throws unless no other process has the database open. Leaving WAL mode
 * needs exclusive access, so an edge that is running (even idle) makes it
 * fail; when it succeeds the WAL has been checkpointed into the main file.
 */
export function assertNotInUse(path: string): void {
  let db: Db | undefined;
  try {
    db = new Database(path, { fileMustExist: true });
    db.pragma("busy_timeout = 0");
    const mode = db.pragma("journal_mode = DELETE", { simple: true });
    if (mode !== "delete") throw new Error(`journal mode stayed ${String(mode)}`);
  } catch (err) {
    throw new MaintenanceError(`${path} is in use by another process (${(err as Error).message}); stop the edge first`);
  } finally {
    db?.close();
  }
}

/** How many sealed values of one kind a key rotation found. */
export interface SealedCounts {
  /** Sealed values found. */
  sealed: number;
  /** Re-sealed with the current ENCRYPTION_KEY (or, in a dry run, that would be). */
  resealed: number;
  /** Already sealed with the current key. */
  current: number;
}

/** What a key rotation did. */
export interface RotationResult {
  /** Endpoint signature secrets (one per endpoint that has one). */
  endpoints: SealedCounts;
  /** Hub credentials: a hub's current one and, during a credential rotation, its previous one. */
  hubs: SealedCounts;
  /** Stored webhooks whose secret-bearing headers (Authorization, Telegram's secret token, …) are sealed. */
  headers: SealedCounts;
  /** Destinations whose delivery policy adds headers (their values are sealed). */
  policyHeaders: SealedCounts;
}

/**
 * Re-seals every endpoint secret, hub credential and sealed webhook header not sealed with the
 * current key (`keys[0]` of `box`) so ENCRYPTION_KEY_PREVIOUS can be dropped
 * afterwards; each stays bound to its row's id (the associated data). All or
 * nothing: when any value cannot be opened with the configured keys, nothing
 * is written and the error names the endpoints and hubs. Safe while the edge
 * runs (it reads with both keys); an endpoint or hub edited meanwhile waits
 * for the write lock.
 */
export function rotateEncryptionKey(
  deps: {
    db: Db;
    endpoints: EndpointStore;
    hubs: HubCredentialStore;
    headers: SealedHeaderStore;
    destinations: Pick<DestinationStore, "sealedHeaders" | "setSealedHeaders">;
    box: SecretBox;
  },
  opts: { dryRun?: boolean } = {},
): RotationResult {
  const { db, endpoints, hubs, headers, destinations, box } = deps;
  const run = db.transaction((): RotationResult => {
    const failures: string[] = [];
    /** Re-seals one value; undefined when it was current already or failed (counted and noted). */
    const reseal = (counts: SealedCounts, sealed: string, aad: string, what: string): string | undefined => {
      counts.sealed++;
      if (!box.needsRotation(sealed)) {
        counts.current++;
        return undefined;
      }
      try {
        const fresh = box.reseal(sealed, aad);
        counts.resealed++;
        return fresh;
      } catch (err) {
        failures.push(`${what} (${(err as Error).message})`);
        return undefined;
      }
    };

    const result: RotationResult = {
      endpoints: { sealed: 0, resealed: 0, current: 0 },
      hubs: { sealed: 0, resealed: 0, current: 0 },
      headers: { sealed: 0, resealed: 0, current: 0 },
      policyHeaders: { sealed: 0, resealed: 0, current: 0 },
    };
    const endpointUpdates: Parameters<EndpointStore["update"]>[0][] = [];
    for (const e of endpoints.list()) {
      if (e.sealedSecret === null) continue;
      const fresh = reseal(result.endpoints, e.sealedSecret, e.id, e.id);
      if (fresh !== undefined) endpointUpdates.push({ ...e, sealedSecret: fresh });
    }
    const hubUpdates: SealedHubCredentials[] = [];
    for (const h of hubs.list()) {
      const secret = h.secret === null ? undefined : reseal(result.hubs, h.secret, h.id, h.id);
      const previousSecret = h.previousSecret === null ? undefined : reseal(result.hubs, h.previousSecret, h.id, `${h.id} (previous credential)`);
      if (secret !== undefined || previousSecret !== undefined) {
        hubUpdates.push({ id: h.id, secret: secret ?? h.secret, previousSecret: previousSecret ?? h.previousSecret });
      }
    }
    const headerUpdates: { seq: number; headers: [string, string][] }[] = [];
    for (const w of headers.list()) {
      result.headers.sealed++;
      try {
        const fresh = resealHeaders(box, w.headers);
        if (fresh) {
          headerUpdates.push({ seq: w.seq, headers: fresh });
          result.headers.resealed++;
        } else result.headers.current++;
      } catch (err) {
        failures.push(`the headers of webhook #${w.seq} (${(err as Error).message})`);
      }
    }
    const policyUpdates: { id: string; sealed: string }[] = [];
    for (const d of destinations.sealedHeaders()) {
      const fresh = reseal(result.policyHeaders, d.sealed, policyHeadersAad(d.id), `the policy headers of destination ${d.id}`);
      if (fresh !== undefined) policyUpdates.push({ id: d.id, sealed: fresh });
    }
    if (failures.length > 0) {
      throw new MaintenanceError(
        `cannot open ${failures.length} sealed secret(s): ${failures.join(", ")}. ` +
          "Set ENCRYPTION_KEY to the new key and ENCRYPTION_KEY_PREVIOUS to the key that sealed them; nothing was changed",
      );
    }
    if (!opts.dryRun) {
      // note: updatedAt (and a hub's rotated_at) are kept: nothing changed but the encryption.
      for (const u of endpointUpdates) endpoints.update(u);
      for (const u of hubUpdates) hubs.update(u);
      for (const u of headerUpdates) headers.update(u.seq, u.headers);
      for (const u of policyUpdates) destinations.setSealedHeaders(u.id, u.sealed);
    }
    return result;
  });
  // note: immediate, so no other writer can slip in between reading a secret and writing it back.
  return run.immediate();
}

function removeDatabaseFiles(path: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(path + suffix, { force: true });
  rmSync(payloadDirOf(path), { recursive: true, force: true });
}
