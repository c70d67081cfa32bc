/**
 * What the storage service measures: free space on the database's filesystem
 * (statfs) and a probe write that needs real room — new pages in the
 * database and new frames in the WAL — the way an ingest commit does.
 */
import { statfsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Db } from "../db/db.js";

/** Bytes the probe commits (16 pages of 4 KiB): about one small webhook with its delivery rows. */
export const PROBE_BYTES = 64 * 1024;

/** Busy timeout of the probe, so a lock held elsewhere cannot stall the event loop for long. */
export const PROBE_BUSY_TIMEOUT_MS = 100;

/** Storage measurements of one database. */
export type StorageStore = ReturnType<typeof createStorageStore>;

/** Prepares the probe statements for `db`. */
export function createStorageStore(db: Db) {
  const insert = db.prepare<[number, number]>("INSERT INTO storage_probe (written_at, filler) VALUES (?, zeroblob(?))");
  const clear = db.prepare("DELETE FROM storage_probe");
  const readEndpoints = db.prepare("SELECT count(*) FROM endpoint");
  const busyTimeout = db.pragma("busy_timeout", { simple: true }) as number;
  const folder = db.memory ? undefined : dirname(resolve(db.name));
  return {
    /**
     * Commits a row of PROBE_BYTES, then deletes it (two commits). Throws what
     * SQLite throws (SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY, SQLITE_BUSY…).
     */
    probe(now: number): void {
      db.pragma(`busy_timeout = ${PROBE_BUSY_TIMEOUT_MS}`);
      try {
        insert.run(now, PROBE_BYTES);
        clear.run();
      } finally {
        db.pragma(`busy_timeout = ${busyTimeout}`);
      }
    },
    /** Reads a table and returns the schema version: throws when the database cannot be read (for /readyz). */
    schemaVersion(): number {
      readEndpoints.get();
      return db.pragma("user_version", { simple: true }) as number;
    },
    /** Free and total bytes of the filesystem holding the database (undefined in memory). */
    space(): { freeBytes: number; totalBytes: number } | undefined {
      if (!folder) return undefined;
      const s = statfsSync(folder);
      // note: bavail is what an unprivileged writer may use (root's reserve excluded), as df reports it.
      return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
    },
  };
}
