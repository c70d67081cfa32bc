/**
 * Keeps the payload file store and the database in step: at start, deletes
 * partial uploads and files no row names (a crash between a file and its
 * row); while running, deletes the files of rows retention or an endpoint's
 * deletion removed (a name in payload_file_gone), every
 * PAYLOAD_COLLECT_INTERVAL_MS.
 */
import type { Logger } from "../logger.js";
import type { PayloadFiles } from "./payload.files.js";
import type { PayloadStore } from "./payload.store.js";

/** How often files of deleted rows are deleted. */
export const PAYLOAD_COLLECT_INTERVAL_MS = 30_000;
/** Files deleted per collection step (the rest wait for the next). */
const COLLECT_BATCH = 500;

/** The payload service. */
export type PayloadService = ReturnType<typeof createPayloadService>;

/** Creates the service; `start` sweeps and starts collecting. */
export function createPayloadService(deps: { files: PayloadFiles; store: PayloadStore; log: Logger; intervalMs?: number }) {
  const { files, store, log } = deps;
  let timer: NodeJS.Timeout | undefined;
  let failing = false;

  /** Deletes the files of deleted rows; returns how many. Never throws (logs once per run of failures). */
  const collect = (): number => {
    let removed = 0;
    try {
      for (;;) {
        const names = store.gone(COLLECT_BATCH);
        if (names.length === 0) break;
        files.remove(names);
        store.forget(names);
        removed += names.length;
        if (names.length < COLLECT_BATCH) break;
      }
      if (failing) log.info("payload files of deleted webhooks are being deleted again");
      failing = false;
    } catch (err) {
      if (!failing) log.warn({ err }, "cannot delete payload files of deleted webhooks yet; will retry");
      failing = true;
    }
    return removed;
  };

  return {
    files,
    collect,
    /** Sweeps leftovers of a crash, then collects now and every interval. */
    start(): void {
      const swept = files.sweep((name) => store.referenced(name));
      if (swept.partial + swept.orphans > 0) {
        log.info({ partial: swept.partial, orphans: swept.orphans, dir: files.dir }, "deleted payload files of uploads that never committed");
      }
      collect();
      timer = setInterval(collect, deps.intervalMs ?? PAYLOAD_COLLECT_INTERVAL_MS);
      timer.unref();
    },
    close(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
