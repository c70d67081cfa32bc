import type { Hub } from "@hookly/proto/gen/admin_pb";

/** The fields of a hub these functions read, so tests can pass plain objects. */
export type HubLike = Pick<Hub, "id" | "name" | "bootstrap" | "revoked" | "connected" | "hasCredential">;

/**
 * Hubs that are expected to connect: not revoked, and able to (a credential, or connected anyway).
 * note: the bootstrap hub always exists; without HOME_HUB_SECRET it cannot connect and would
 * otherwise count as a hub that is down.
 */
export function activeHubs<H extends HubLike>(hubs: readonly H[]): H[] {
  return hubs.filter((h) => !h.revoked && (h.hasCredential || h.connected));
}

/** How many of the active hubs are connected, in words for the top bar ("2/3 hubs connected"). */
export function hubSummary(hubs: readonly HubLike[]): { connected: number; total: number; label: string } {
  const active = activeHubs(hubs);
  const connected = active.filter((h) => h.connected).length;
  const total = active.length;
  if (total === 0) return { connected, total, label: "No hub" };
  if (total === 1) return { connected, total, label: connected ? "Hub connected" : "Hub offline" };
  return { connected, total, label: `${connected}/${total} hubs connected` };
}

/** Hub names by id, for showing which hub a destination or delivery goes through. */
export function hubNames(hubs: readonly HubLike[]): Map<string, string> {
  return new Map(hubs.map((h) => [h.id, h.name]));
}

/**
 * The hubs a destination can be given, for a select: every hub that is not revoked, and the
 * destination's current hub even when it is (so the select still shows it).
 */
export function hubOptions(hubs: readonly HubLike[], current = ""): { value: string; label: string }[] {
  return hubs
    .filter((h) => !h.revoked || h.id === current)
    .map((h) => ({
      value: h.id,
      label: `${h.name}${h.bootstrap ? " (bootstrap)" : ""}${h.revoked ? " (revoked)" : h.connected ? " · connected" : " · offline"}`,
    }));
}

/**
 * The hub to preselect for a new destination: the bootstrap hub when it can connect (as the edge
 * picks when none is named), else the first hub with a credential, else the first that is not
 * revoked ("" when there is none).
 */
export function defaultHubId(hubs: readonly HubLike[]): string {
  const live = hubs.filter((h) => !h.revoked);
  return (live.find((h) => h.bootstrap && h.hasCredential) ?? live.find((h) => h.hasCredential) ?? live[0])?.id ?? "";
}
