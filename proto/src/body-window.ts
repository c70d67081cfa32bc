/**
 * Per-delivery flow control on the one hub stream (DeliveryCredit in
 * stream.proto). HTTP/2 flow control is per stream, and every delivery of a
 * hub shares one: without a window of their own, a body the hub cannot pass
 * on (a slow destination) fills the hub until it stops reading the stream,
 * and every other lane of that hub waits with it. With a window, the edge
 * sends at most `window` bytes of a body beyond what the hub's forward has
 * written, and the hub grants more as it writes; the rest waits at the edge,
 * on disk. Both rules here are pure; the edge's outbox and the hub's
 * streamed bodies apply them.
 */

/**
 * Smallest window: bodies up to 1 MiB are assembled whole on the hub before
 * their forward starts (so they are never granted more), and must fit.
 */
export const MIN_BODY_WINDOW_BYTES = 1024 * 1024;

/** Largest window a hub asks for by default: enough for ~160 MB/s at 50 ms round trip. */
export const MAX_BODY_WINDOW_BYTES = 8 * 1024 * 1024;

/** The window a hub with `maxBodyBytes` (HUB_MAX_BODY_BYTES) of room for held parts asks for: an eighth of it, within the bounds above. */
export function bodyWindowFor(maxBodyBytes: number): number {
  return Math.max(MIN_BODY_WINDOW_BYTES, Math.min(MAX_BODY_WINDOW_BYTES, Math.floor(maxBodyBytes / 8)));
}

/**
 * The window the edge honours for a hub from its `hookly-body-window` open
 * header: Infinity (no limit, as before credits existed) when the header is
 * absent or not a whole number; at least {@link MIN_BODY_WINDOW_BYTES}.
 */
export function parseBodyWindow(value: string | null | undefined): number {
  if (!value || !/^\d{1,15}$/.test(value)) return Number.POSITIVE_INFINITY;
  return Math.max(MIN_BODY_WINDOW_BYTES, Number(value));
}

/**
 * The hub's grant after its forward has taken `consumed` bytes of a body of
 * `size`, having granted `granted` so far (the window at first): a new limit
 * once the edge's allowance has shrunk to half a window (so credits go out
 * every half window, not per chunk), else undefined. `finished` (the forward
 * ended early, or the delivery was skipped) grants the whole body: the rest
 * is then read and dropped, so the edge's transfer ends as it did before.
 */
export function nextGrant(granted: number, consumed: number, window: number, size: number, finished = false): number | undefined {
  if (granted >= size) return undefined;
  if (finished) return size;
  if (granted - consumed > window / 2) return undefined;
  return Math.min(size, consumed + window);
}
