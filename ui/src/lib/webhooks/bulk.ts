import type { MessageInitShape } from "@bufbuild/protobuf";
import { BulkAction, type BulkActRequestSchema, type BulkActResponse } from "@hookly/proto/gen/admin_pb";
import { hidesSuperseded, webhookFilter, type WebhookFilters } from "./filters";

/** A bulk action from the list. */
export type BulkKind = "replay" | "skip" | "release";

const BULK_ACTIONS: Readonly<Record<BulkKind, { value: BulkAction; done: string }>> = {
  replay: { value: BulkAction.REPLAY, done: "Replayed" },
  skip: { value: BulkAction.SKIP, done: "Skipped" },
  release: { value: BulkAction.RELEASE, done: "Released" },
};

/** What a bulk action applies to: the rows ticked on this page, or everything the filters match. */
export type BulkScope = { kind: "selected"; ids: readonly string[] } | { kind: "matching"; filters: WebhookFilters };

/** The most webhooks one bulk call takes (the edge refuses a larger selection whole). */
export const MAX_BULK = 10_000;

/** The BulkAct request for an action on a scope; `allowPending` also replays pending webhooks (they arrive twice). */
export function bulkRequest(kind: BulkKind, scope: BulkScope, allowPending = false): MessageInitShape<typeof BulkActRequestSchema> {
  return {
    action: BULK_ACTIONS[kind].value,
    ...(scope.kind === "selected" ? { webhookIds: [...scope.ids] } : { filter: webhookFilter(scope.filters) }),
    allowPending: kind === "replay" && allowPending,
  };
}

/** What a bulk action did, in a sentence per count: "Replayed 2 of 3 webhooks." and why the rest were left alone. */
export function bulkSummary(kind: BulkKind, res: Pick<BulkActResponse, "matched" | "acted" | "ignored">): { title: string; notes: string[] } {
  const n = (count: number, what = "webhook") => `${count} ${what}${count === 1 ? "" : "s"}`;
  const title = res.matched === 0 ? "No webhook matched" : `${BULK_ACTIONS[kind].done} ${res.acted} of ${n(res.matched)}`;
  const notes: string[] = [];
  if (res.ignored > 0) {
    const why = {
      replay: "nothing to replay (delivered, filtered, or still pending)",
      skip: "nothing pending to skip",
      release: "nothing held to release",
    }[kind];
    notes.push(`${n(res.ignored)} left alone: ${why}.`);
  }
  if (res.acted > 0) {
    notes.push(
      {
        replay: "The copies queue at the end of their queues, in the originals' order.",
        skip: "Their pending deliveries are settled as failed and the queues move on.",
        release: "Their held deliveries join the end of their queues, oldest first, and are delivered in turn.",
      }[kind],
    );
  }
  return { title, notes };
}

/** How much of a page is ticked, for its "select all" box. */
export function pageSelection(pageIds: readonly string[], selected: ReadonlySet<string>): "none" | "some" | "all" {
  const ticked = pageIds.filter((id) => selected.has(id)).length;
  if (ticked === 0) return "none";
  return ticked === pageIds.length ? "all" : "some";
}

/**
 * The filters in words, for a dialog that acts on everything they match: `containing "cus_42"`,
 * "endpoint stripe", "status Failed", … ; `names` gives an endpoint's, a destination's and a
 * state's name, `time` an instant's.
 */
export function filterWords(
  filters: WebhookFilters,
  names: { endpoint: (id: string) => string; destination: (id: string) => string; status: (slug: string) => string; time: (iso: string) => string },
): string[] {
  const words: string[] = [];
  if (filters.search) words.push(`containing ${filters.search.includes('"') ? filters.search : `"${filters.search}"`}`);
  if (filters.endpoint) words.push(`endpoint ${names.endpoint(filters.endpoint)}`);
  if (filters.destination) words.push(`destination ${names.destination(filters.destination)}`);
  if (filters.status) words.push(`status ${names.status(filters.status)}`);
  if (filters.verified) words.push(filters.verified === "true" ? "signature verified" : "signature not verified");
  if (filters.eventType) words.push(`event type ${filters.eventType}`);
  if (filters.since) words.push(`received since ${names.time(filters.since)}`);
  if (filters.until) words.push(`received until ${names.time(filters.until)}`);
  if (hidesSuperseded(filters)) words.push("not superseded by a delivered replay");
  return words;
}
