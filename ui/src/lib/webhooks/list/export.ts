/**
 * The history's "Export NDJSON": the edge's `GET /api/webhooks/export` for exactly the filters the
 * list shows (every page of them, newest first, one webhook per line). The browser's session
 * cookie authenticates it, so it is a plain link.
 */
import { hidesSuperseded, type WebhookFilters } from "../filters";

/** Where the edge serves the export. */
export const EXPORT_PATH = "/api/webhooks/export";

/**
 * The export link for these filters (the page token is left out: all pages are exported).
 * `payload`: each line also has the headers and the start of the payload (the first MiB, as the
 * detail page shows it); without it only the webhooks' fields.
 */
export function exportHref(filters: WebhookFilters, options: { payload: boolean }): string {
  const q = new URLSearchParams();
  if (filters.endpoint) q.set("endpoint_id", filters.endpoint);
  if (filters.destination) q.set("destination_id", filters.destination);
  if (filters.search) q.set("search", filters.search);
  if (filters.status) q.set("status", filters.status);
  if (filters.eventType) q.set("event_type", filters.eventType);
  if (filters.verified) q.set("verified", filters.verified);
  // note: as the list asks: hidden is superseded=false, shown is no filter at all.
  if (hidesSuperseded(filters)) q.set("superseded", "false");
  // note: the REST API takes only full ISO-8601 instants; the URL may hold a shorter form Date.parse reads.
  if (filters.since) q.set("since", new Date(filters.since).toISOString());
  if (filters.until) q.set("until", new Date(filters.until).toISOString());
  q.set("payload", String(options.payload));
  return `${EXPORT_PATH}?${q}`;
}
