import type { Hub, HubStatus } from "@hookly/proto/gen/admin_pb";

/**
 * The hubs as last reported by `GetStatus` (kept fresh by `watchStatus` in status.svelte.ts), for
 * the badge in the top bar: `status` sums them up (connected when any is), `hubs` has one entry
 * per registered hub.
 */
export const hub = $state<{ status: HubStatus | undefined; hubs: Hub[]; error: string | undefined }>({
  status: undefined,
  hubs: [],
  error: undefined,
});
