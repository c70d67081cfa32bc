import { Code, ConnectError } from "@connectrpc/connect";
import type { WatchEventsResponse } from "@hookly/proto/gen/admin_pb";
import { admin } from "$lib/api/admin";
import { backoff } from "./backoff";

/**
 * A change the edge announced on `WatchEvents`, or `resync` after the stream came back:
 * events may have been missed while it was down, so every view reloads.
 */
export type LiveEvent = Pick<WatchEventsResponse, "type" | "endpointId" | "webhookId"> | { type: "resync"; endpointId: ""; webhookId: "" };

/** Whether the page is receiving changes as they happen. */
export type LiveState = "connecting" | "live" | "reconnecting" | "stopped";

/** The stream's state, for the indicator in the top bar. */
export const live = $state<{ state: LiveState }>({ state: "connecting" });

/**
 * After a heartbeat has been seen, this long without any message means the stream is dead
 * (the edge sends one every 15 s), and it is reopened.
 */
const SILENCE_LIMIT_MS = 45_000;

/**
 * A view reloads at most this long after the first event of a burst, and then at most once per
 * this interval while events keep coming (a busy endpoint must not postpone the reload forever).
 */
export const REFRESH_DEBOUNCE_MS = 250;

interface Listener {
  matches: (event: LiveEvent) => boolean;
  fire: () => void;
}

const listeners = new Set<Listener>();

/** Ends the current wait before a reconnect, when one is running. */
let nudge: (() => void) | undefined;

/**
 * Calls `refresh` (coalesced, see REFRESH_DEBOUNCE_MS) when an event that `matches` arrives,
 * and after every reconnect.
 * @returns the unsubscribe function, which also cancels a pending refresh; return it from `$effect`.
 */
export function onLive(matches: (event: LiveEvent) => boolean, refresh: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const listener: Listener = {
    matches: (event) => event.type === "resync" || matches(event),
    fire: () => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        refresh();
      }, REFRESH_DEBOUNCE_MS);
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
    const connected = () => {
      if (live.state === "live") return;
      live.state = "live";
      if (connectedBefore) dispatch({ type: "resync", endpointId: "", webhookId: "" });
      connectedBefore = true;
    };
    try {
      for await (const event of admin().watchEvents({}, { signal: attempt.signal, onHeader: connected })) {
        connected();
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
    // note: only a stream that stayed up resets the backoff; one that opens (even with a heartbeat)
    // and fails at once would otherwise be retried in a tight loop.
    if (Date.now() - openedAt > 10_000) failures = 0;
    failures++;
    live.state = "reconnecting";
    await sleep(backoff(failures), signal);
  }
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

/** Ends the wait before the next reconnect (the "retry now" button of the indicator). */
export function reconnectNow(): void {
  nudge?.();
}
