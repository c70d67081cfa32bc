import { afterPoll, type EdgeContact } from "./edge-health";

/**
 * Whether the edge answers the layout's status poll (`watchStatus` in live/status.svelte.ts),
 * when it last did, and since when it does not: what the top bar and the banners may claim.
 */
export const edgeContact = $state<EdgeContact>({ lastOkAt: undefined, failure: undefined });

/** Records the outcome of one status poll (see {@link afterPoll}). */
export function recordPoll(outcome: { ok: true } | { ok: false; error: unknown }, at = Date.now()): void {
  const next = afterPoll(edgeContact, outcome, at);
  edgeContact.lastOkAt = next.lastOkAt;
  edgeContact.failure = next.failure;
}
