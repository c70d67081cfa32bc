/**
 * Keeps the payload file store and the database in step: at start, deletes
 * partial uploads and files no row names (a crash between a file and its
 * row); while running, deletes the files of rows retention or an endpoint's
 * deletion removed (a name in payload_file_gone), every
 * PAYLOAD_COLLECT_INTERVAL_MS. After start it also moves the bodies over
 * FILE_PAYLOAD_BYTES that databases from before payload files (migration
 * 008) still hold in their rows into files, one at a time in the background,
 * so the relay reads every large body in parts from then on.
 */
import { createHash } from "node:crypto";
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

  let moving: Promise<number> | undefined;
  let closed = false;
  /** The last row looked at (a move that failed is tried again at the next interval, from its row). */
  let movedAfterSeq = 0;
  let moveFailing = false;

  /**
   * Moves large bodies still in their rows into payload files: each is read
   * whole once (the one time it is; the rows came from before files), written
   * and fsynced as an upload is, and its row pointed at the file in one
   * transaction. A row deleted or changed meanwhile keeps its state, and the
   * file goes. Resolves with how many were moved; never rejects.
   */
  const moveInline = (): Promise<number> => {
    moving ??= (async () => {
      let moved = 0;
      try {
        for (let next = store.nextInline(movedAfterSeq); next && !closed; next = store.nextInline(movedAfterSeq)) {
          const bytes = store.inlineBytes(next.seq);
          if (bytes) {
            const spool = files.spool(next.id);
            try {
              await spool.write(bytes);
              const file = await spool.commit();
              const sha256 = createHash("sha256").update(bytes).digest("hex");
              if (store.movedToFile(next.seq, file, bytes.length, sha256)) moved += 1;
              else spool.abandon();
            } catch (err) {
              spool.abandon();
              throw err;
            }
          }
          movedAfterSeq = next.seq;
        }
        if (moved > 0) log.info({ moved }, "moved bodies over 1 MiB from the database into payload files");
        moveFailing = false;
      } catch (err) {
        if (!moveFailing) log.warn({ err, moved }, "cannot move large bodies from the database into payload files yet; will retry");
        moveFailing = true;
      } finally {
        moving = undefined;
      }
      return moved;
    })();
    return moving;
  };

  return {
    files,
    collect,
    moveInline,
    /** Sweeps leftovers of a crash, then collects now and every interval. */
    start(): void {
      const swept = files.sweep((name) => store.referenced(name));
      if (swept.partial + swept.orphans > 0) {
        log.info({ partial: swept.partial, orphans: swept.orphans, dir: files.dir }, "deleted payload files of uploads that never committed");
      }
      collect();
      void moveInline();
      timer = setInterval(() => {
        collect();
        if (moveFailing) void moveInline();
      }, deps.intervalMs ?? PAYLOAD_COLLECT_INTERVAL_MS);
      timer.unref();
    },
    /** Stops collecting; a move under way stops after its current body. Resolves once it has. */
    async close(): Promise<void> {
      closed = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await moving;
    },
  };
}
