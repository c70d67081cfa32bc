/**
 * Large delivery bodies on the hub, streamed instead of assembled: a body
 * over STREAM_BODY_BYTES goes to its destination as its chunks arrive from
 * the edge, so the hub holds the chunks not yet written, not the body.
 *
 * The bytes held across all streamed bodies are bounded by one budget
 * (HUB_MAX_BODY_BYTES): past it the session stops reading the stream, and
 * HTTP/2 flow control holds the edge back. The rule that decides it is pure
 * ({@link shouldPause}) and keeps progress possible: the stream is paused
 * only while a running forward has held bytes to write — writing them needs
 * no new input, so they drain (or the forward ends and drops them) and
 * reading resumes. Held bytes of bodies still waiting for their turn in a
 * lane never pause it (their forward cannot start before the one ahead
 * ends, which may need the stream); the edge bounds those per lane
 * (DISPATCH_WINDOW_BYTES).
 *
 * Before that budget is reached, each body has a window of its own: the hub
 * announces it when it opens the stream, the edge sends no more of a body
 * than the window beyond what its forward has taken, and the body grants
 * more (a DeliveryCredit, via `onGrant`) as its forward takes parts
 * (proto/src/body-window.ts `nextGrant`). So a body whose destination reads
 * slowly waits at the edge, and the stream — every other lane — goes on;
 * the budget's pause remains for edges without credits and for many large
 * bodies at once.
 */
import { bodyWindowFor, nextGrant } from "@hookly/proto/body-window";

/** Bodies larger than this are streamed; smaller ones are assembled whole first (and may be resent on a stale socket). */
export const STREAM_BODY_BYTES = 1024 * 1024;

/**
 * Whether a new body that needs `need` bytes of room is taken in, when
 * bodies already taken in claim `committed` bytes of `maxBytes`: within the
 * budget, or always when nothing is claimed (so one body always goes and
 * a lane can progress, whatever the budget).
 *
 * A body refused here is answered SKIPPED in its lane's order and blocks
 * its epoch there, like a transient failure; the edge restarts the lane
 * shortly after and re-sends it. This is what bounds the hub's memory
 * whatever the edge announces or sends: the edge's own limits
 * (DISPATCH_WINDOW_BYTES per destination) hold for one destination only,
 * and a compromised edge keeps none of them.
 */
export function admits(committed: number, need: number, maxBytes: number): boolean {
  return committed === 0 || committed + need <= maxBytes;
}

/** Held bytes of one streamed body, and whether its forward runs. */
export interface HeldBody {
  held: number;
  running: boolean;
}

/**
 * Whether the session should stop reading the stream now: more than
 * `maxBytes` are held and some running forward can write what it holds.
 */
export function shouldPause(bodies: Iterable<HeldBody>, maxBytes: number): boolean {
  let total = 0;
  let drainable = false;
  for (const b of bodies) {
    total += b.held;
    if (b.running && b.held > 0) drainable = true;
  }
  return total > maxBytes && drainable;
}

/**
 * Tracks every body of a session: the room small bodies reserve from their
 * start until their job is done, and each streamed body's claim; admits new
 * bodies within `maxBytes`, and wakes the reader when it may read again.
 */
export class BodyBudget {
  private readonly bodies = new Set<StreamedBody>();
  private waiters: (() => void)[] = [];
  /** Bytes reserved by small bodies, assembled or arriving. */
  private reserved = 0;
  /** Bytes of each body the edge may send beyond what its forward has taken (announced to the edge at open). */
  readonly window: number;

  constructor(readonly maxBytes: number) {
    this.window = bodyWindowFor(maxBytes);
  }

  /** Bytes claimed by every body taken in: what the hub may have to hold for them at once if the edge keeps to its windows. */
  get committed(): number {
    let n = this.reserved;
    for (const b of this.bodies) n += b.claim;
    return n;
  }

  /**
   * Room for a small body of `size` bytes, held until `release`d; false when
   * it does not fit (the body is then refused).
   */
  reserve(size: number): boolean {
    if (!admits(this.committed, size, this.maxBytes)) return false;
    this.reserved += size;
    return true;
  }

  /** Gives back what `reserve(size)` took. */
  release(size: number): void {
    this.reserved = Math.max(0, this.reserved - size);
  }

  /** Whether a streamed body of `size` bytes fits now (it claims up to one window). */
  admitsStream(size: number): boolean {
    return admits(this.committed, Math.min(size, this.window), this.maxBytes);
  }

  /**
   * A new body of `size` bytes, `first` its first part (sent with the start);
   * `onGrant(until)` sends the edge a credit for it.
   */
  open(size: number, first: Uint8Array, onGrant: (until: number) => void = () => {}): StreamedBody {
    const body = new StreamedBody(size, this, onGrant);
    this.bodies.add(body);
    if (first.length > 0) body.push(first);
    return body;
  }

  /** Held bytes across all bodies. */
  get held(): number {
    let n = 0;
    for (const b of this.bodies) n += b.held;
    return n;
  }

  /** Whether the reader should wait before the next frame. */
  paused(): boolean {
    return shouldPause(this.bodies, this.maxBytes);
  }

  /** Resolves once reading may go on (at once when not paused). */
  async whileFull(): Promise<void> {
    while (this.paused()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** A body's held bytes or state changed. */
  changed(): void {
    if (this.paused()) return;
    for (const w of this.waiters.splice(0)) w();
  }

  forget(body: StreamedBody): void {
    this.bodies.delete(body);
    this.changed();
  }

  /** Ends every body (the stream is over). */
  failAll(err: Error): void {
    for (const b of [...this.bodies]) b.fail(err);
  }
}

/**
 * One body arriving in parts: `push` from the stream, read once by the
 * forward (an async iterable of its parts, in order). `discard` when nobody
 * will read it (skipped, dropped, or the forward ended early): later parts
 * are then only counted, never held.
 *
 * A body whose edge sends more than its window while its forward has not
 * started is `refused`: it is discarded and its job is answered SKIPPED
 * (an edge that keeps to the windows never does this; one that does would
 * otherwise make the hub hold any amount of it).
 */
export class StreamedBody implements HeldBody, AsyncIterable<Uint8Array> {
  held = 0;
  running = false;
  /** Bytes received so far, held or not. */
  received = 0;
  /** Sent past its window before its forward started: dropped, and its job is skipped. */
  refused = false;
  /** Bytes handed to the forward so far. */
  private given = 0;
  private readonly parts: Uint8Array[] = [];
  private wake: (() => void) | undefined;
  private error: Error | undefined;
  private discarded = false;
  private taken = false;
  /** Bytes of the body the edge may send in all (the window at first). */
  private granted: number;

  constructor(
    readonly size: number,
    private readonly budget: BodyBudget,
    private readonly onGrant: (until: number) => void = () => {},
  ) {
    this.granted = budget.window;
  }

  /** Grants the edge more of this body when the rule says so. */
  private grant(consumed: number, finished: boolean): void {
    const until = nextGrant(this.granted, consumed, this.budget.window, this.size, finished);
    if (until === undefined) return;
    this.granted = until;
    this.onGrant(until);
  }

  /** Whether all of it has arrived. */
  get complete(): boolean {
    return this.received === this.size;
  }

  /**
   * Bytes this body may make the hub hold: what it holds, or, while more
   * may arrive, up to one window past what its forward has taken.
   */
  get claim(): number {
    if (this.discarded) return 0;
    if (this.complete) return this.held;
    return Math.max(this.held, Math.min(this.budget.window, this.size - this.given));
  }

  /** The next part from the stream (offsets are checked by the session). */
  push(data: Uint8Array): void {
    this.received += data.length;
    if (this.discarded) return;
    if (this.received > this.granted && !this.running) {
      // note: past the window with nobody reading it: an edge that ignores credits. Hold none of it.
      this.refused = true;
      this.discard();
      return;
    }
    this.parts.push(data);
    this.held += data.length;
    this.budget.changed();
    this.notify();
    if (this.complete) this.budget.changed();
  }

  /** The stream ended before the body did: its reader fails. */
  fail(err: Error): void {
    this.error ??= err;
    this.notify();
    this.discard();
  }

  /** Nobody reads it: drop what is held and whatever still arrives. */
  discard(): void {
    if (this.discarded) return;
    this.discarded = true;
    this.parts.length = 0;
    this.held = 0;
    this.running = false;
    this.budget.forget(this);
    this.notify();
    // note: nobody takes the rest: let the edge send it (it is counted and dropped) so its transfer ends, as before credits.
    if (!this.complete) this.grant(this.received, true);
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.taken) throw new Error("a streamed body is read once");
    this.taken = true;
    this.running = true;
    this.budget.changed();
    let given = 0;
    try {
      while (given < this.size) {
        const part = this.parts.shift();
        if (part) {
          this.held -= part.length;
          given += part.length;
          this.given = given;
          this.budget.changed();
          this.grant(given, false);
          yield part;
          continue;
        }
        if (this.error) throw this.error;
        if (this.discarded) throw new Error("body discarded");
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      this.discard();
    }
  }
}
