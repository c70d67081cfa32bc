/**
 * Where the edge and the hub write their logs: fd 1, through pino's own
 * destination (sonic-boom), in a form that cannot end the process.
 *
 * pino's stdout destination emits 'error' when fd 1 refuses a write (ENOSPC on
 * a full disk, EIO, EPIPE once the reader is gone); pino only swallows EPIPE,
 * so anything else is an uncaught exception, and its exit hook then retries
 * the unwritten bytes forever. Here a line fd 1 refuses is dropped and
 * counted instead, and the next line is tried on a fresh destination, so
 * logging resumes by itself as soon as the disk has room again.
 */
import { pino } from "pino";

/** What an outage cost, reported once fd 1 accepts lines again. */
export interface LogOutage {
  /** Lines dropped since the first refused write. */
  dropped: number;
  /** The error code of the last refused write (`ENOSPC`, `EIO`, `EAGAIN`…). */
  code: string | undefined;
}

/** A pino destination (pass it as pino's second argument) that never throws. */
export interface LogDestination {
  /** Writes one serialized line; drops it (and counts it) if the fd refuses it. */
  write(line: string): void;
  /** Lines dropped since the destination was created. */
  readonly dropped: number;
  /** Whether the last write was refused. */
  readonly failing: boolean;
}

/** Options of {@link createLogDestination}. */
export interface LogDestinationOptions {
  /** File descriptor to write to; default 1 (stdout). Tests pass others. */
  fd?: number;
  /**
   * Called (on a later tick, so it may log) after the first line written once
   * an outage is over, with what the outage dropped.
   */
  onRestored?: (outage: LogOutage) => void;
}

/**
 * Creates the destination. Writes are synchronous: a line is on the fd when
 * the log call returns, and there is no exit hook to flush a buffer.
 * note: sync also means a reader that stalls a blocking pipe stalls the
 * process, as `console.log` would; ENOSPC, EIO and EPIPE fail at once.
 */
export function createLogDestination(opts: LogDestinationOptions = {}): LogDestination {
  const fd = opts.fd ?? 1;
  let dropped = 0;
  let outage: LogOutage | undefined;
  // Errors the current write raised; emptied before each write.
  const refusals: NodeJS.ErrnoException[] = [];
  let pipeClosed = false;

  const open = () => {
    // note: retryEAGAIN false: on a full non-blocking pipe sonic-boom would otherwise sleep
    // the event loop 100 ms per retry until the reader catches up; the line is dropped instead.
    const boom = pino.destination({ dest: fd, sync: true, retryEAGAIN: () => false });
    // note: pino's own listener re-emits every error but EPIPE, so one refused write can
    // arrive here twice: this listener only records it, the count is per line below.
    boom.on("error", (err: NodeJS.ErrnoException) => refusals.push(err));
    return boom;
  };
  let boom: ReturnType<typeof open> | undefined;

  return {
    write(line) {
      if (pipeClosed) {
        dropped++;
        return;
      }
      refusals.length = 0;
      boom ??= open();
      boom.write(line);
      const refused = refusals.at(-1);
      if (refused) {
        dropped++;
        outage ??= { dropped: 0, code: undefined };
        outage.dropped++;
        outage.code = refused.code;
        // note: a closed pipe never takes writes again (pino stops writing to it, too).
        if (refused.code === "EPIPE") pipeClosed = true;
        // note: sonic-boom keeps a refused chunk and retries it before every later line,
        // buffering without bound meanwhile; a fresh destination starts with an empty buffer.
        boom = undefined;
        return;
      }
      if (outage) {
        const ended = outage;
        outage = undefined;
        if (opts.onRestored) setImmediate(opts.onRestored, ended);
      }
    },
    get dropped() {
      return dropped;
    },
    get failing() {
      return outage !== undefined;
    },
  };
}
