import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { WebhookStatus, type ListWebhooksRequestSchema, type WebhookFilterSchema } from "@hookly/proto/gen/admin_pb";
import { STATUSES } from "$lib/format/names";

/** Rows per page of the webhook history. */
export const PAGE_SIZE = 50;

/**
 * The history's filters as kept in the URL query, so a filtered view can be bookmarked, shared
 * and survives a reload: `?q=words&endpoint=ep_…&destination=dst_…&status=failed&verified=false&event=invoice.paid&since=…&until=…&page=…`.
 * `since`/`until` are ISO instants; `page` is the edge's opaque page token; `superseded=hide|show`
 * overrides {@link hidesSuperseded}'s default.
 */
export interface WebhookFilters {
  /**
   * Words to find (`q`): in the payload's first 64 KiB of text, header values (never secret ones)
   * and the event type; every word required, a "quoted phrase" stays together. Absent or empty: no search.
   */
  search?: string;
  endpoint: string;
  /** Only webhooks routed to this destination (`dst_…`); absent or empty: any. */
  destination?: string;
  status: string;
  verified: "" | "true" | "false";
  /** Exact event type (`invoice.paid`, `push`); absent or empty: any. */
  eventType?: string;
  /** Webhooks a delivered replay superseded: hidden or shown; absent: as {@link hidesSuperseded} decides. */
  superseded?: "hide" | "show";
  since: string;
  until: string;
  page: string;
}

/** Longest event type the edge keeps; a longer filter could match nothing. */
const EVENT_TYPE_MAX = 200;

/** Longest search the edge accepts (it refuses a longer one). */
export const SEARCH_MAX = 500;

/** Reads the filters from a URL, dropping values that make no sense. */
export function filtersFromUrl(url: URL): WebhookFilters {
  const q = url.searchParams;
  const status = q.get("status") ?? "";
  const verified = q.get("verified") ?? "";
  const eventType = validEventType(q.get("event"));
  const superseded = q.get("superseded");
  const search = validSearch(q.get("q"));
  const destination = validDestination(q.get("destination"));
  return {
    // note: optional ones are left out when empty, so a URL without them reads as exactly the filters it names.
    ...(search ? { search } : {}),
    endpoint: q.get("endpoint") ?? "",
    ...(destination ? { destination } : {}),
    status: STATUSES.some((s) => s.slug === status) ? status : "",
    verified: verified === "true" || verified === "false" ? verified : "",
    ...(eventType ? { eventType } : {}),
    ...(superseded === "hide" || superseded === "show" ? { superseded } : {}),
    since: validInstant(q.get("since")),
    until: validInstant(q.get("until")),
    page: q.get("page") ?? "",
  };
}

/** An event type as the edge stores them: one word, trimmed, at most 200 characters. */
function validEventType(value: string | null): string {
  const t = (value ?? "").trim();
  return t && t.length <= EVENT_TYPE_MAX && !/\s/.test(t) ? t : "";
}

/** A search as typed, trimmed; "" when empty or longer than the edge takes. */
function validSearch(value: string | null): string {
  const t = (value ?? "").trim();
  return t.length <= SEARCH_MAX ? t : "";
}

/** A destination id (`dst_…`): the edge refuses an id of another kind. */
function validDestination(value: string | null): string {
  const t = (value ?? "").trim();
  return /^dst_\S+$/.test(t) ? t : "";
}

function validInstant(value: string | null): string {
  return value && !Number.isNaN(Date.parse(value)) ? value : "";
}

/** The query string for a set of filters (empty ones left out). */
export function filtersToQuery(filters: WebhookFilters): string {
  const q = new URLSearchParams();
  if (filters.search) q.set("q", filters.search);
  if (filters.endpoint) q.set("endpoint", filters.endpoint);
  if (filters.destination) q.set("destination", filters.destination);
  for (const key of ["status", "verified"] as const) {
    if (filters[key]) q.set(key, filters[key]);
  }
  if (filters.eventType) q.set("event", filters.eventType);
  if (filters.superseded) q.set("superseded", filters.superseded);
  for (const key of ["since", "until", "page"] as const) {
    if (filters[key]) q.set(key, filters[key]);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/**
 * The states in which superseded webhooks are hidden unless asked for: a failure whose replay was
 * delivered is work already done, and would only clutter a list of what still needs attention.
 */
export const HIDE_SUPERSEDED_BY_DEFAULT: readonly string[] = ["failed", "dead_letter", "partial"];

/** Whether the list leaves out webhooks that a delivered replay superseded. */
export function hidesSuperseded(filters: WebhookFilters): boolean {
  if (filters.superseded) return filters.superseded === "hide";
  return HIDE_SUPERSEDED_BY_DEFAULT.includes(filters.status);
}

/** Whether anything narrows the list (the page token does not count). */
export function hasFilters(filters: WebhookFilters): boolean {
  return Boolean(
    filters.search ||
      filters.endpoint ||
      filters.destination ||
      filters.status ||
      filters.verified ||
      filters.eventType ||
      filters.since ||
      filters.until ||
      hidesSuperseded(filters),
  );
}

/** The edge's WebhookFilter for these filters: what a bulk action on "all matching" selects. */
export function webhookFilter(filters: WebhookFilters): MessageInitShape<typeof WebhookFilterSchema> {
  return selection(filters);
}

/**
 * The ListWebhooks request for these filters: always one server page, never everything. The
 * first page also asks for the total the filters match (it costs the edge a scan, so only there).
 */
export function listRequest(filters: WebhookFilters): MessageInitShape<typeof ListWebhooksRequestSchema> {
  return { ...selection(filters), limit: PAGE_SIZE, pageToken: filters.page, withTotal: filters.page === "" };
}

/** The fields ListWebhooksRequest and WebhookFilter share, for these filters. */
function selection(filters: WebhookFilters) {
  return {
    endpointId: filters.endpoint,
    destinationId: filters.destination ?? "",
    search: filters.search ?? "",
    status: STATUSES.find((s) => s.slug === filters.status)?.value ?? WebhookStatus.UNSPECIFIED,
    verified: filters.verified === "" ? undefined : filters.verified === "true",
    eventType: filters.eventType ?? "",
    since: filters.since ? timestampFromDate(new Date(filters.since)) : undefined,
    until: filters.until ? timestampFromDate(new Date(filters.until)) : undefined,
    // note: false hides superseded webhooks; unset shows them with the others.
    superseded: hidesSuperseded(filters) ? false : undefined,
  };
}

/** An ISO instant as the value of an `<input type="datetime-local">` (local time, minutes). */
export function toLocalInput(iso: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The value of an `<input type="datetime-local">` as an ISO instant ("" when empty or invalid). */
export function fromLocalInput(value: string): string {
  if (!value) return "";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}
