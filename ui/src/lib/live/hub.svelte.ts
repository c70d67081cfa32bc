import type { Hub, HubStatus } from "@hookly/proto/gen/admin_pb";
import { admin } from "$lib/api/admin";
import { describeError, isAbort } from "$lib/api/errors";
import { onLive } from "./events.svelte";

/**
 * The hubs as last reported by `GetStatus`, for the badge in the top bar: `status` sums them up
 * (connected when any is), `hubs` has one entry per registered hub.
 */
export const hub = $state<{ status: HubStatus | undefined; hubs: Hub[]; error: string | undefined }>({
  status: undefined,
  hubs: [],
  error: undefined,
});

async function refresh(): Promise<void> {
  try {
    const res = await admin().getStatus({});
    hub.status = res.hub;
    hub.hubs = res.hubs;
    hub.error = undefined;
  } catch (err) {
    if (!isAbort(err)) hub.error = describeError(err);
  }
}

/**
 * Loads the hubs' state now and again on every `hub.changed` event (connections and registry
 * changes) and after reconnects.
 * @returns stop, for the layout's teardown.
 */
export function watchHub(): () => void {
  void refresh();
  return onLive((event) => event.type === "hub.changed", refresh);
}
