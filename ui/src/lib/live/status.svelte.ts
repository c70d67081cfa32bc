import type { StorageHealth } from "@hookly/proto/gen/admin_pb";
import { admin } from "$lib/api/admin";
import { describeError, isAbort } from "$lib/api/errors";
import { recordPoll } from "$lib/status/edge.svelte";
import { onLive } from "./events.svelte";
import { hub } from "./hub.svelte";

/**
 * How often the layout reloads `GetStatus` while the page is visible.
 * note: an outage's start and end arrive on `WatchEvents` (`storage.changed`); polling still
 * catches what changes between them (free space, more failing write paths) and covers a stream
 * that is down, and it bounds how late the banner can be.
 */
export const STATUS_POLL_MS = 5_000;

/** A load that takes longer is given up, so one stuck request cannot stop the polling. */
const STATUS_TIMEOUT_MS = 10_000;

/** The edge's storage health as last reported by `GetStatus`, for the banner on every page. */
export const storage = $state<{ health: StorageHealth | undefined }>({ health: undefined });

/**
 * Loads `GetStatus` now, again every STATUS_POLL_MS while the page is visible, at once when it
 * becomes visible again, on `hub.changed` and `storage.changed` events and after reconnects;
 * fills `hub` (hub.svelte.ts) and `storage`, and records in `edgeContact` (status/edge.svelte.ts)
 * whether the edge answered. One load at a time: a reason to load that arrives
 * during one runs one more load after it, so no change is missed.
 * @returns stop, for the layout's teardown (also ends the load in flight).
 */
export function watchStatus(): () => void {
  const controller = new AbortController();
  let running = false;
  let again = false;
  let timer: ReturnType<typeof setInterval> | undefined;

  const load = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await refresh(controller.signal);
      } while (again && !controller.signal.aborted);
    } finally {
      running = false;
    }
  };

  const poll = (): void => {
    clearInterval(timer);
    timer = undefined;
    if (document.visibilityState !== "visible") return;
    timer = setInterval(() => void load(), STATUS_POLL_MS);
  };
  const onVisibility = (): void => {
    if (document.visibilityState === "visible") void load();
    poll();
  };

  void load();
  poll();
  document.addEventListener("visibilitychange", onVisibility);
  const stopLive = onLive(
    (event) => event.type === "hub.changed" || event.type === "storage.changed",
    () => void load(),
  );
  return () => {
    stopLive();
    document.removeEventListener("visibilitychange", onVisibility);
    clearInterval(timer);
    controller.abort();
  };
}

async function refresh(signal: AbortSignal): Promise<void> {
  try {
    const res = await admin().getStatus({}, { signal, timeoutMs: STATUS_TIMEOUT_MS });
    hub.status = res.hub;
    hub.hubs = res.hubs;
    hub.error = undefined;
    storage.health = res.storage;
    recordPoll({ ok: true });
  } catch (err) {
    // note: the last known storage health stays on screen while the edge cannot be asked; the top
    // bar stops claiming a hub state it has not just seen (status/edge-health.ts).
    if (isAbort(err)) return;
    hub.error = describeError(err);
    recordPoll({ ok: false, error: err });
  }
}
