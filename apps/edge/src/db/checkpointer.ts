/**
 * WAL checkpoints off the event loop.
 *
 * SQLite's automatic checkpoint runs inside whichever commit pushes the WAL
 * past its threshold (1,000 pages): it copies the WAL into the database file
 * and fsyncs both, on the committing thread — here the event loop, which then
 * stalls for tens of milliseconds, many times a second under load. Instead, a
 * worker thread with its own connection runs PASSIVE checkpoints (they never
 * block readers or the writer) every `intervalMs`; the main connection's
 * automatic checkpoint stays as a safety net at a much larger threshold, in
 * case the worker falls behind or dies. When a checkpoint has copied every
 * frame, the next commit starts the WAL over from its beginning, and
 * `journal_size_limit` trims the file.
 *
 * note: the worker is a CommonJS script evaluated from a string, so it runs
 * the same under tsx, vitest and plain node; it loads the very better-sqlite3
 * the edge uses.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Db } from "./db.js";

/** WAL pages after which the main connection checkpoints by itself (~64 MB). */
export const SAFETY_NET_PAGES = 16_384;

/** What one worker checkpoint reported (SQLite's wal_checkpoint columns). */
export interface CheckpointReport {
  busy: number;
  log: number;
  checkpointed: number;
  ms: number;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.sqlite);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma("busy_timeout = 1000");
let running = true;
const tick = () => {
  if (!running) return;
  const started = performance.now();
  try {
    const [r] = db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage({ busy: r.busy, log: r.log, checkpointed: r.checkpointed, ms: performance.now() - started });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err), code: err && typeof err.code === "string" ? err.code : undefined });
  }
  setTimeout(tick, workerData.intervalMs);
};
parentPort.on("message", (m) => {
  if (m !== "stop") return;
  running = false;
  db.close();
  parentPort.close();
});
setTimeout(tick, workerData.intervalMs);
`;

/** A running checkpointer. */
export interface Checkpointer {
  /** Stops the worker and closes its connection (before the main connection closes). */
  stop(): Promise<void>;
}

/**
 * Starts checkpointing `db`'s WAL from a worker thread. Does nothing (returns a
 * no-op) for an in-memory or non-WAL database.
 */
export function startCheckpointer(
  db: Db,
  opts: {
    intervalMs?: number;
    onReport?: (r: CheckpointReport) => void;
    /** The first failure of a run of failures (or the worker's death). */
    onError?: (err: Error) => void;
    /** A checkpoint succeeded again after failures. */
    onRecover?: () => void;
  } = {},
): Checkpointer {
  const walMode = String(db.pragma("journal_mode", { simple: true })).toLowerCase() === "wal";
  if (db.memory || !walMode) return { stop: async () => {} };
  db.pragma(`wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
  db.pragma("journal_size_limit = 67108864");
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { sqlite: createRequire(import.meta.url).resolve("better-sqlite3"), path: db.name, intervalMs: opts.intervalMs ?? 200 },
  });
  // note: the edge must be able to exit even if someone forgets stop().
  worker.unref();
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    worker.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  // note: a failing disk fails every checkpoint: report the first failure and the recovery, not each one.
  let failing = false;
  worker.on("message", (m: CheckpointReport | { error: string; code?: string }) => {
    if ("error" in m) {
      // note: the SQLite code travels with the error, so a full disk is told from any other failure.
      if (!failing) opts.onError?.(Object.assign(new Error(`WAL checkpoint failed: ${m.error}`), { code: m.code }));
      failing = true;
      return;
    }
    if (failing) opts.onRecover?.();
    failing = false;
    opts.onReport?.(m);
  });
  worker.on("error", (err) => {
    // note: without the worker the main connection's safety-net checkpoint keeps the WAL bounded.
    db.pragma("wal_autocheckpoint = 1000");
    opts.onError?.(err);
  });
  return {
    async stop() {
      if (exited) return;
      // note: keep the process alive until the worker has closed its connection.
      worker.ref();
      worker.postMessage("stop");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gone, new Promise((r) => (timer = setTimeout(r, 2_000)))]);
      clearTimeout(timer);
      if (!exited) await worker.terminate();
      db.pragma("wal_autocheckpoint = 1000");
    },
  };
}
