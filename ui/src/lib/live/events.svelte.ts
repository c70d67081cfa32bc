import { Code, ConnectError } from "@connectrpc/connect";
import type { WatchEventsResponse } from "@hookly/proto/gen/admin_pb";
import { admin } from "$lib/api/admin";

/**
 * A change the edge announced on `WatchEvents`, or `resync` after the stream came back:
 * events may have been missed while it was down, so every view reloads.
 */
export type LiveEvent =
  | Pick<WatchEventsResponse, "type" | "endpointId" | "webhookId">
  | { type: "resync"; endpointId: ""; webhookId: "" };

/** Whether the page is receiving changes as they happen. */
export type LiveState = "connecting" | "live" | "reconnecting" | "stopped";

/** The stream's state, for the indicator in the top bar. */
export const live = $state<{ state: LiveState; retryAt: number | undefined }>({
  state: "connecting",
  retryAt: undefined,
});

/** Reconnect delays: doubling from 0.5 s up to 30 s, each drawn from its upper half (jitter). */
export const RECONNECT_BACKOFF = { initialMs: 500, maxMs: 30_000 } as const;

/** After a heartbeat has been seen, this long without any message means the stream is dead. */
const SILENCE_LIMIT_MS = 75_000;

/** How long a view waits for events to stop arriving before it reloads once. */
export const REFRESH_DEBOUNCE_MS = 250;

interface Listener {
  matches: (event: LiveEvent) => boolean;
  fire: () => void;
}

const listeners = new Set<Listener>();

/**
 * Calls `refresh` (debounced) when an event that `matches` arrives, and after every reconnect.
 * @returns the unsubscribe function, which also cancels a pending refresh; return it from `$effect`.
 */
export function onLive(matches: (event: LiveEvent) => boolean, refresh: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const listener: Listener = {
    matches: (event) => event.type === "resync" || matches(event),
    fire: () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, REFRESH_DEBOUNCE_MS);
    },
  };
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    clearTimeout(timer);
  };
}

function dispatch(event: LiveEvent): void {
  for (const listener of listeners) if (listener.matches(event)) listener.fire();
}

/**
 * Keeps `WatchEvents` open while signed in, reconnecting with backoff when it drops.
 * @returns stop, for the layout's teardown.
 */
export function startLive(): () => void {
  const controller = new AbortController();
  void watch(controller.signal);
  return () => {
    controller.abort();
    live.state = "stopped";
  };
}

async function watch(signal: AbortSignal): Promise<void> {
  let failures = 0;
  let connectedBefore = false;
  while (!signal.aborted) {
    live.state = connectedBefore || failures > 0 ? "reconnecting" : "connecting";
    live.retryAt = undefined;
    const attempt = new AbortController();
    const stopAttempt = () => attempt.abort();
    signal.addEventListener("abort", stopAttempt, { once: true });
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    let heartbeats = false;
    const arm = () => {
      clearTimeout(watchdog);
      if (heartbeats) watchdog = setTimeout(stopAttempt, SILENCE_LIMIT_MS);
    };
    const openedAt = Date.now();
    let received = false;
    const connected = () => {
      if (live.state === "live") return;
      live.state = "live";
      if (connectedBefore) dispatch({ type: "resync", endpointId: "", webhookId: "" });
      connectedBefore = true;
    };
    try {
      for await (const event of admin().watchEvents({}, { signal: attempt.signal, onHeader: connected })) {
        connected();
        received = true;
        if (event.type === "heartbeat") heartbeats = true;
        else dispatch(event);
        arm();
      }
    } catch (err) {
      if (signal.aborted) return;
      if (ConnectError.from(err).code === Code.Unauthenticated) {
        // The API interceptor has already sent the person to sign-in.
        live.state = "stopped";
        return;
      }
    } finally {
      clearTimeout(watchdog);
      signal.removeEventListener("abort", stopAttempt);
    }
    if (signal.aborted) return;
    // note: a stream that opens and fails at once must not reset the backoff, or it would spin.
    if (received || Date.now() - openedAt > 10_000) failures = 0;
    failures++;
    live.state = "reconnecting";
    const delay = backoff(failures);
    live.retryAt = Date.now() + delay;
    await sleep(delay, signal);
  }
}

/** The wait before reconnect number `failures` (1-based). */
export function backoff(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RECONNECT_BACKOFF.maxMs, RECONNECT_BACKOFF.initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    nudge = done;
    function done() {
      nudge = undefined;
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

let nudge: (() => void) | undefined;

/** Ends the wait before the next reconnect (the "retry now" button of the indicator). */
export function reconnectNow(): void {
  nudge?.();
}
