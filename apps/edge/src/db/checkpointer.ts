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
 * The worker (a V8 isolate of its own, about 10 MiB) only runs while there is
 * something to checkpoint: once the main connection has made no change for
 * `idleAfterMs` (10 s) and a checkpoint since has copied every frame, it is
 * stopped; the main thread samples `total_changes()` every `sampleMs` (1 s)
 * and starts a new worker on the next change. An edge that receives nothing
 * does not keep a thread polling an empty WAL. The rule is pure
 * ({@link checkpointerStep}); this module is its shell.
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
  /** Whether a worker is running now (it sleeps while the database is idle). */
  readonly running: boolean;
}

/** Default of `idleAfterMs`: how long without a change before the worker stops. */
export const IDLE_AFTER_MS = 10_000;

/** What the checkpointer knows, for {@link checkpointerStep}. Times in ms. */
export interface CheckpointerState {
  /** A worker is running (or starting). */
  running: boolean;
  /** A worker died of an error: checkpoints stay with SQLite's own, no new worker starts. */
  dead: boolean;
  /** When the last change of the main connection was seen. */
  changedAt: number;
  /** When the running worker last reported a WAL with every frame copied (undefined: not since it started). */
  cleanAt: number | undefined;
}

/** What happened: a sample of the main connection's changes, a worker report, or the worker's death. */
export type CheckpointerEvent = { type: "sample"; changed: boolean; now: number } | { type: "report"; clean: boolean; now: number } | { type: "died" };

/**
 * The checkpointer's rule, pure: the next state and whether to start or stop a
 * worker. A change starts a worker when none runs; a worker stops once
 * `idleAfterMs` have passed since the last change and a report after that
 * change found every frame copied (so nothing is left in the WAL for it).
 * A stopping worker no longer counts as running, so a change meanwhile
 * starts the next one (two may overlap briefly; PASSIVE checkpoints allow it).
 */
export function checkpointerStep(
  state: CheckpointerState,
  event: CheckpointerEvent,
  idleAfterMs: number,
): { state: CheckpointerState; action: "start" | "stop" | "none" } {
  switch (event.type) {
    case "died":
      return { state: { ...state, running: false, dead: true, cleanAt: undefined }, action: "none" };
    case "report":
      if (!state.running) return { state, action: "none" };
      return { state: { ...state, cleanAt: event.clean ? event.now : undefined }, action: "none" };
    case "sample": {
      const changedAt = event.changed ? event.now : state.changedAt;
      const next = { ...state, changedAt };
      if (state.dead) return { state: next, action: "none" };
      if (!state.running) return event.changed ? { state: { ...next, running: true, cleanAt: undefined }, action: "start" } : { state: next, action: "none" };
      const idle = event.now - changedAt >= idleAfterMs && state.cleanAt !== undefined && state.cleanAt > changedAt;
      return idle ? { state: { ...next, running: false, cleanAt: undefined }, action: "stop" } : { state: next, action: "none" };
    }
  }
}

/** One worker thread running WORKER_SOURCE. */
interface CheckpointWorker {
  /** Asks the worker to close its connection and exit; terminates it after 2 s. */
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
    /** How long the main connection must make no change before the worker stops (default 10 s). */
    idleAfterMs?: number;
    /** How often the main connection's changes are sampled (default 1 s). */
    sampleMs?: number;
    /** Now, in ms (tests). */
    now?: () => number;
    onReport?: (r: CheckpointReport) => void;
    /** The first failure of a run of failures (or the worker's death). */
    onError?: (err: Error) => void;
    /** A checkpoint succeeded again after failures. */
    onRecover?: () => void;
  } = {},
): Checkpointer {
  const walMode = String(db.pragma("journal_mode", { simple: true })).toLowerCase() === "wal";
  if (db.memory || !walMode) return { stop: async () => {}, running: false };
  db.pragma(`wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
  db.pragma("journal_size_limit = 67108864");
  const now = opts.now ?? Date.now;
  const idleAfterMs = opts.idleAfterMs ?? IDLE_AFTER_MS;
  const totalChanges = db.prepare("SELECT total_changes()").pluck();
  let changes = totalChanges.get() as number;
  let state: CheckpointerState = { running: false, dead: false, changedAt: now(), cleanAt: undefined };
  let worker: CheckpointWorker | undefined;
  // Workers asked to stop that have not exited yet.
  const stopping = new Set<Promise<void>>();
  let closed = false;
  // note: failing spans workers: a disk that stays full is one failure, however often a worker restarts.
  let failing = false;

  const apply = (event: CheckpointerEvent): void => {
    const step = checkpointerStep(state, event, idleAfterMs);
    state = step.state;
    if (step.action === "start") worker = spawn();
    if (step.action === "stop" && worker) {
      const done = worker.stop().finally(() => stopping.delete(done));
      stopping.add(done);
      worker = undefined;
    }
  };

  const spawn = (): CheckpointWorker => {
    const w: Worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { sqlite: createRequire(import.meta.url).resolve("better-sqlite3"), path: db.name, intervalMs: opts.intervalMs ?? 200 },
    });
    // note: the edge must be able to exit even if someone forgets stop().
    w.unref();
    let exited = false;
    const gone = new Promise<void>((resolve) =>
      w.once("exit", () => {
        exited = true;
        resolve();
      }),
    );
    w.on("message", (m: CheckpointReport | { error: string; code?: string }) => {
      if ("error" in m) {
        // note: the SQLite code travels with the error, so a full disk is told from any other failure.
        if (!failing) opts.onError?.(Object.assign(new Error(`WAL checkpoint failed: ${m.error}`), { code: m.code }));
        failing = true;
        apply({ type: "report", clean: false, now: now() });
        return;
      }
      if (failing) opts.onRecover?.();
      failing = false;
      apply({ type: "report", clean: m.busy === 0 && m.checkpointed === m.log, now: now() });
      opts.onReport?.(m);
    });
    w.on("error", (err) => {
      // note: without the worker the main connection's safety-net checkpoint keeps the WAL bounded.
      db.pragma("wal_autocheckpoint = 1000");
      if (worker === handle) worker = undefined;
      apply({ type: "died" });
      opts.onError?.(err);
    });
    const handle: CheckpointWorker = {
      async stop() {
        if (exited) return;
        // note: keep the process alive until the worker has closed its connection.
        w.ref();
        w.postMessage("stop");
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([gone, new Promise((r) => (timer = setTimeout(r, 2_000)))]);
        clearTimeout(timer);
        if (!exited) await w.terminate();
      },
    };
    return handle;
  };

  // The database may hold frames from before this start: the first worker starts at once.
  apply({ type: "sample", changed: true, now: now() });
  const sampler = setInterval(() => {
    // note: a connection closed without stop() (a test's) ends the sampling instead of throwing from a timer.
    if (!db.open) return clearInterval(sampler);
    const current = totalChanges.get() as number;
    const changed = current !== changes;
    changes = current;
    apply({ type: "sample", changed, now: now() });
  }, opts.sampleMs ?? 1_000);
  sampler.unref();

  return {
    get running() {
      return worker !== undefined;
    },
    async stop() {
      if (closed) return;
      closed = true;
      clearInterval(sampler);
      const w = worker;
      worker = undefined;
      await Promise.all([w?.stop(), ...stopping]);
      db.pragma("wal_autocheckpoint = 1000");
    },
  };
}
