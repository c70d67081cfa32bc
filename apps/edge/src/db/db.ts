/**
 * Opens the edge's SQLite database once and applies migrations.
 *
 * note: busy_timeout comes first so the pragmas that follow wait for a lock
 * instead of failing; WAL lets readers (the UI) run beside the writer.
 * The connection default is synchronous=NORMAL (queue bookkeeping may be
 * replayed after a power cut: delivery is at least once); ingest fsyncs the WAL
 * before a provider gets its 2xx (see ingest.store.ts), and checkpoints run in
 * a worker thread (see checkpointer.ts).
 */
import Database from "better-sqlite3";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { MIGRATIONS_DIR } from "../install.js";

/** The database handle type used by every store. */
export type Db = Database.Database;

/** Default of DATABASE_BUSY_TIMEOUT_MS. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating if needed) the database at `path` and migrates it. A write
 * waits up to `busyTimeoutMs` for a lock another process holds.
 */
export function openDatabase(path: string, opts: { busyTimeoutMs?: number } = {}): Db {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS}`);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  try {
    migrate(db);
  } catch (err) {
    // note: start-up may try again (a full disk, see storage.startup.ts): leave no handle open.
    db.close();
    throw err;
  }
  return db;
}

/** A migration file: `NNN_name.sql`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads the numbered migrations in order. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f, sql: readFileSync(join(dir, f), "utf8") }));
}

/** First-line marker of a migration that must run with foreign keys off (a table rebuild). */
const FOREIGN_KEYS_OFF = /^-- hookly: foreign_keys=off\s*$/m;

/**
 * Applies every migration newer than `PRAGMA user_version`, each in its own
 * transaction. A failing migration throws (start-up stops) and leaves the
 * database at the last good version.
 *
 * note: a migration marked `-- hookly: foreign_keys=off` rebuilds a table the
 * way SQLite documents it (create new, copy, drop old, rename): foreign keys
 * are off meanwhile (the pragma is a no-op inside a transaction, so it is set
 * around it) and `foreign_key_check` must come back empty before the commit.
 */
export function migrate(db: Db, migrations = readMigrations()): number {
  const current = db.pragma("user_version", { simple: true }) as number;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new Error(`database is at schema version ${current}, newer than this edge knows (${latest}): upgrade the edge`);
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    const fkOff = FOREIGN_KEYS_OFF.test(m.sql);
    const wasOn = db.pragma("foreign_keys", { simple: true }) === 1;
    if (fkOff) db.pragma("foreign_keys = OFF");
    try {
      db.transaction(() => {
        db.exec(m.sql);
        if (fkOff) {
          const broken = db.pragma("foreign_key_check") as unknown[];
          if (broken.length > 0) throw new Error(`migration ${m.name} left ${broken.length} broken foreign key(s)`);
        }
        db.pragma(`user_version = ${m.version}`);
      })();
    } finally {
      if (fkOff && wasOn) db.pragma("foreign_keys = ON");
    }
  }
  return db.pragma("user_version", { simple: true }) as number;
}
