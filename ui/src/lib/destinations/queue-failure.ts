/**
 * A destination whose deliveries keep failing (`Destination.failing`, a `QueueFailure`) as people
 * read it: "Stuck" once the edge counts it as stuck (STUCK_ALERT_AFTER_MS / _ATTEMPTS, when
 * Telegram gets its alert), a quieter "Failing" before; how long, how many attempts and the last
 * answer in one line; where to act (the failing webhook, with Retry now and Skip, and the
 * endpoint's pending list). Pure functions of plain objects and the time, so tests pass both.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { QueueFailure } from "@hookly/proto/gen/admin_pb";
import { toDate } from "$lib/format/time.svelte";
import { filtersToQuery } from "$lib/webhooks/filters";

/** The fields of `QueueFailure` read here. */
export type QueueFailureLike = Pick<QueueFailure, "attempts" | "webhookId" | "statusCode" | "error"> & {
  since?: Timestamp;
  stuckSince?: Timestamp;
};

/** The fields of a destination read here. */
export interface DestinationLike {
  id: string;
  name: string;
  url: string;
  failing?: QueueFailureLike;
}

/** The fields of an endpoint read here. */
export interface EndpointLike {
  id: string;
  name: string;
  destinations: readonly DestinationLike[];
}

/** What to show for a failing destination. */
export interface FailureView {
  /** `stuck`: the edge counts it as stuck (an alert went out); `failing`: still retried, not stuck yet. */
  stuck: boolean;
  /** "Stuck" or "Failing". */
  label: string;
  /** "failing for 12 min, 8 attempts, last HTTP 500" (beside the label). */
  detail: string;
  /** The whole line on its own: "Stuck: failing for 12 min, …", or "Failing for 2 min, 1 attempt, …" (the quieter note). */
  sentence: string;
  /** The last answer: "HTTP 500", or the error when there was none ("timeout"); empty when unknown. */
  lastError: string;
  /** Since when it is stuck (undefined while only failing). */
  stuckSince?: Date;
  /** The webhook that failed last, where Retry now and Skip are; undefined when the edge names none. */
  webhookHref?: string;
  /** The endpoint's pending webhooks. */
  pendingHref: string;
}

/**
 * A span in words, coarse enough to stay true between the page clock's ticks (15 s): "under a
 * minute", "12 min", "1 h 5 min", "3 h", "1 day", "2 days 4 h".
 */
export function durationInWords(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return "under a minute";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  const dayWords = `${days} day${days === 1 ? "" : "s"}`;
  return hours % 24 ? `${dayWords} ${hours % 24} h` : dayWords;
}

/** The last answer of a failing destination: "HTTP 500" (with the error when it says more), else the error. */
export function lastAnswer(f: Pick<QueueFailureLike, "statusCode" | "error">): string {
  const error = f.error.trim();
  if (f.statusCode > 0) {
    const http = `HTTP ${f.statusCode}`;
    return error && error !== http ? `${http} (${error})` : http;
  }
  return error;
}

/** The endpoint's pending webhooks in the history. */
export function pendingHref(endpointId: string): string {
  return `/webhooks${filtersToQuery({ endpoint: endpointId, status: "pending", verified: "", since: "", until: "", page: "" })}`;
}

/**
 * What to show for a destination's `failing` at `now`, or undefined when its queue is healthy.
 * The span runs from the streak's first failure; when the failing head has left the queue (no
 * streak, but still stuck until something is delivered) it runs from when it became stuck.
 */
export function failureView(f: QueueFailureLike | undefined, endpointId: string, now: number): FailureView | undefined {
  if (!f) return undefined;
  const since = toDate(f.since);
  const stuckSince = toDate(f.stuckSince);
  if (!since && !stuckSince) return undefined;
  const stuck = stuckSince !== undefined;
  const parts: string[] = [];
  if (since) parts.push(`failing for ${durationInWords(now - since.getTime())}`);
  else if (stuckSince) parts.push(`stuck for ${durationInWords(now - stuckSince.getTime())}`);
  if (f.attempts > 0) parts.push(`${f.attempts} attempt${f.attempts === 1 ? "" : "s"}`);
  const last = lastAnswer(f);
  if (last) parts.push(f.statusCode > 0 ? `last ${last}` : `last error: ${last}`);
  const detail = parts.join(", ");
  return {
    stuck,
    label: stuck ? "Stuck" : "Failing",
    detail,
    sentence: stuck ? `Stuck: ${detail}` : detail.charAt(0).toUpperCase() + detail.slice(1),
    lastError: last,
    ...(stuckSince ? { stuckSince } : {}),
    ...(f.webhookId ? { webhookHref: `/webhooks/${encodeURIComponent(f.webhookId)}` } : {}),
    pendingHref: pendingHref(endpointId),
  };
}

/** Whether any of the endpoint's destinations is stuck. */
export const hasStuckDestination = (e: Pick<EndpointLike, "destinations">): boolean => e.destinations.some((d) => toDate(d.failing?.stuckSince) !== undefined);

/** One stuck destination, for the Status page's banner. */
export interface StuckQueue {
  endpointId: string;
  endpointName: string;
  destinationId: string;
  /** Its name, else its URL. */
  destination: string;
  view: FailureView & { stuckSince: Date };
}

/** Every stuck destination of `endpoints`, the longest stuck first. */
export function stuckQueues(endpoints: readonly EndpointLike[], now: number): StuckQueue[] {
  const stuck: StuckQueue[] = [];
  for (const e of endpoints) {
    for (const d of e.destinations) {
      const view = failureView(d.failing, e.id, now);
      if (!view?.stuckSince) continue;
      stuck.push({ endpointId: e.id, endpointName: e.name, destinationId: d.id, destination: d.name || d.url, view: { ...view, stuckSince: view.stuckSince } });
    }
  }
  return stuck.sort((a, b) => a.view.stuckSince.getTime() - b.view.stuckSince.getTime());
}

/**
 * How often a view reloads while one of its destinations is failing but not stuck yet.
 * note: the edge announces each attempt (webhook.updated) and so a queue that becomes stuck by its
 * attempts, or recovers; one that becomes stuck by time alone (STUCK_ALERT_AFTER_MS between two
 * retries, which may be an hour apart) is not announced, so the view asks again meanwhile.
 */
export const FAILING_REFRESH_MS = 30_000;

/** Whether a view of these endpoints should reload every {@link FAILING_REFRESH_MS}: a destination is failing, not stuck yet. */
export const awaitsStuck = (endpoints: readonly Pick<EndpointLike, "destinations">[]): boolean =>
  endpoints.some((e) => e.destinations.some((d) => d.failing !== undefined && toDate(d.failing.stuckSince) === undefined));
