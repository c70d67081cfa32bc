/**
 * Ingest admission, pure: how many request-body bytes all webhooks being
 * received hold at once (INGEST_MAX_INFLIGHT_BYTES), and what to do with a
 * body the edge will not read. No I/O; ingest.http.ts is its shell.
 */

/** Seconds a provider is asked to wait when the edge is receiving too much at once. */
export const BUSY_RETRY_AFTER_S = 2;

/** Bodies up to this size are drained (read and dropped) after an early answer, keeping the connection; larger ones close it. */
export const DRAIN_LIMIT_BYTES = 64 * 1024;

/** The bytes of bodies being received, under one cap. Each request holds a {@link BodyLease}. */
export class BodyBudget {
  private used = 0;

  constructor(readonly cap: number) {
    if (!(cap > 0)) throw new RangeError(`cap must be positive, got ${cap}`);
  }

  /** Bytes held by all leases now. */
  get inUse(): number {
    return this.used;
  }

  /** A lease holding nothing yet; release it once the body is stored or refused. */
  lease(): BodyLease {
    let held = 0;
    let released = false;
    return {
      grow: (total: number) => {
        if (released) throw new Error("lease already released");
        if (total <= held) return true;
        const more = total - held;
        if (this.used + more > this.cap) return false;
        this.used += more;
        held = total;
        return true;
      },
      get held() {
        return held;
      },
      release: () => {
        if (released) return;
        released = true;
        this.used -= held;
        held = 0;
      },
    };
  }
}

/** One request's share of a {@link BodyBudget}. */
export interface BodyLease {
  /** Makes the lease hold `total` bytes (never less than it holds); false, holding what it held, if that would pass the cap. */
  grow(total: number): boolean;
  readonly held: number;
  /** Gives every byte back; again is a no-op. */
  release(): void;
}

/**
 * What to do with the unread body of a request answered early (unknown endpoint, refused):
 * drain a small or empty one so the connection stays usable, close the connection on a large or
 * unknown-length one rather than read it. HTTP/2 streams are reset, never drained.
 */
export function unreadBodyAction(declaredLength: number | undefined, http2: boolean): "drain" | "close" {
  if (http2) return "close";
  return declaredLength !== undefined && declaredLength <= DRAIN_LIMIT_BYTES ? "drain" : "close";
}
