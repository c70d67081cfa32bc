import type { HubStatus } from "@hookly/proto/gen/admin_pb";
import { admin } from "$lib/api/admin";
import { describeError, isAbort } from "$lib/api/errors";
import { onLive } from "./events.svelte";

/** The hub connection as last reported by `GetStatus`, for the badge in the top bar. */
export const hub = $state<{ status: HubStatus | undefined; error: string | undefined }>({
  status: undefined,
  error: undefined,
});

async function refresh(): Promise<void> {
  try {
    const res = await admin().getStatus({});
    hub.status = res.hub;
    hub.error = undefined;
  } catch (err) {
    if (!isAbort(err)) hub.error = describeError(err);
  }
}

/**
 * Loads the hub's state now and again on every `hub.changed` event (and after reconnects).
 * @returns stop, for the layout's teardown.
 */
export function watchHub(): () => void {
  void refresh();
  return onLive((event) => event.type === "hub.changed", refresh);
}
