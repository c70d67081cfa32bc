/**
 * Webhooks as the admin API sees them: filtered, paged lists; one webhook with
 * its body and attempts; replays; the numbers of the status page. Used by the
 * admin RPC, the REST routes and the MCP tools alike.
 *
 * A replay is a new webhook (new `wh_` id, `replay_of` = the original) stored
 * through the ingest store, so it is durable before the call returns and lands
 * at the tail of its endpoint's queue; the original is only marked superseded
 * once a replay of it is delivered (queue.store.ts). A pending webhook is
 * replayed only when asked explicitly (it would be delivered twice), and a
 * replay of a Stripe or Standard Webhooks endpoint can be signed afresh
 * (verify/verify.sign.ts). Replays made with an `actor` are audited.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { Clock } from "../clock.js";
import type { Db } from "../db/db.js";
import { lazyJson } from "../destination/destination.filter.js";
import type { DestinationService } from "../destination/destination.service.js";
import type { EndpointService } from "../endpoint/endpoint.service.js";
import { AppError, isForeignKeyViolation } from "../errors.js";
import type { EdgeEvents } from "../events.js";
import { checkIdKind, isId, newId } from "../ids.js";
import { decodePageToken, encodePageToken } from "../paging.js";
import type { IngestStore } from "../ingest/ingest.store.js";
import type { PayloadFiles } from "../payload/payload.files.js";
import type { AuditService } from "../audit/audit.service.js";
import { cannotResign, resignHeaders } from "../verify/verify.sign.js";
import type { HeaderSealer } from "./webhook.headers.js";
import { searchExpression } from "./webhook.search.js";
import {
  createWebhookStore,
  WEBHOOK_STATUSES,
  type AttemptRow,
  type DeliveryRecord,
  type EndpointQueueStats,
  type StatusCounts,
  type WebhookBody,
  type WebhookRecord,
  type WebhookStatusName,
} from "./webhook.store.js";

/** Page tokens, re-exported for this service's callers. */
export { decodePageToken, encodePageToken } from "../paging.js";

/** Store types that are part of this service's API. */
export type { DeliveryRecord, EndpointQueueStats, StatusCounts, WebhookStatusName } from "./webhook.store.js";

/** Page size when none is asked for. */
export const DEFAULT_PAGE_SIZE = 50;
/** Largest page. */
export const MAX_PAGE_SIZE = 500;
/** Window of `counts()` when no start is given: the last 24 hours. */
export const COUNTS_WINDOW_MS = 24 * 3_600_000;
/** How long a filter's total count is reused (ms): totals may be this much behind. */
export const TOTAL_TTL_MS = 5_000;

/** Webhooks a bulk replay loads and commits at a time (bounds memory with large payloads). */
const REPLAY_CHUNK = 100;

/**
 * A webhook as the API shows it (no body): the stored record without its
 * internal position. nextAttemptAt and deliverBy are null unless pending.
 */
export type WebhookView = Omit<WebhookRecord, "seq" | "settledAt">;

/** How much of a payload a detail view carries by default, and at most (the whole body is a download). */
export const PAYLOAD_PREVIEW_BYTES = 64 * 1024;
export const MAX_PAYLOAD_PREVIEW_BYTES = 1024 * 1024;

/** A webhook with its headers and the start of its payload. */
export interface WebhookDetail extends WebhookView {
  /** [name, value] pairs in arrival order, original case. */
  headers: [string, string][];
  /** The first bytes of the payload: all of it unless payloadTruncated (payloadSize is the whole size). */
  payload: Uint8Array;
  payloadTruncated: boolean;
  /** SHA-256 of the whole payload, hex. */
  payloadSha256: string;
  /** One per destination it was routed to (filtered ones included). */
  deliveries: DeliveryRecord[];
  /** The replays made of it, oldest first (at most MAX_REPLAYS_SHOWN). */
  replays: WebhookView[];
}

/** How to replay. */
export interface ReplayOptions {
  /** Only to this destination (whatever its filter says). */
  destinationId?: string | undefined;
  /** Only to these destinations (bulk replays: the ones that missed it). */
  destinationIds?: readonly string[] | undefined;
  /** Replay a webhook that is still pending (it will then reach its destinations twice). */
  allowPending?: boolean | undefined;
  /** Sign the copy afresh with the endpoint's secret and the current time (stripe and generic endpoints). */
  resign?: boolean | undefined;
  /** Who asks: recorded in the audit trail (nothing is recorded without it). */
  actor?: string | undefined;
  /** Extra audit detail (a bulk action's). */
  auditDetail?: Record<string, unknown> | undefined;
}

/** One delivery attempt. */
export interface AttemptView extends AttemptRow {
  webhookId: string;
}

/** Filters and paging of `list`; everything optional. */
export interface WebhookFilter {
  /** An `ep_…` id; unknown → not_found. */
  endpointId?: string | undefined;
  status?: string | undefined;
  /** Exact event type. */
  eventType?: string | undefined;
  verified?: boolean | undefined;
  /** true: only webhooks a delivered replay superseded; false: hide those. */
  superseded?: boolean | undefined;
  /** A `dst_…` id: only webhooks routed to it; unknown → not_found. */
  destinationId?: string | undefined;
  /** Words to find in the payload text, header values and event type (webhook.search.ts). */
  search?: string | undefined;
  /** received_at ≥ since (ms since the epoch). */
  since?: number | undefined;
  /** received_at < until (ms since the epoch). */
  until?: number | undefined;
  /** 1–500; default 50. */
  limit?: number | undefined;
  /** `nextPageToken` of the previous page. */
  pageToken?: string | undefined;
}

/** One page of webhooks, newest first. */
export interface WebhookPage {
  webhooks: WebhookView[];
  /** Empty on the last page. */
  nextPageToken: string;
  /** How many webhooks the filter matches in all, when asked for (`withTotal`). */
  total?: number;
}

/** Webhook operations. */
export type WebhookService = ReturnType<typeof createWebhookService>;

const isStatus = (s: string): s is WebhookStatusName => (WEBHOOK_STATUSES as readonly string[]).includes(s);

const toView = (r: WebhookRecord): WebhookView => {
  const { seq: _seq, settledAt: _settledAt, ...view } = r;
  return view;
};

const checkTime = (name: string, value: number | undefined): number | undefined => {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || Math.abs(value) > 8.64e15) {
    throw new AppError("invalid_argument", `${name} is not a valid time`);
  }
  return Math.trunc(value);
};

/**
 * Creates the webhook service.
 *
 * note: `db` is handed straight to the webhook store; the service itself
 * never runs SQL.
 */
export function createWebhookService(deps: {
  /** Shows sealed secret headers as "[redacted]"; opens and seals them again for a re-signed replay (webhook/webhook.headers.ts). */
  headers: Pick<HeaderSealer, "redact" | "open" | "seal">;
  /** Where replays made by someone are recorded. */
  audit?: AuditService;
  db: Db;
  clock: Clock;
  events: EdgeEvents;
  endpoints: EndpointService;
  destinations: DestinationService;
  ingestStore: IngestStore;
  /** Dead-letter deadline of a replay, from its (new) arrival. */
  deadLetterAfterMs: number;
  /** Where payloads over 1 MiB are. */
  files: PayloadFiles;
}) {
  const { clock, events, endpoints, destinations, ingestStore, deadLetterAfterMs, files } = deps;
  const store = createWebhookStore(deps.db);

  const mustGet = (id: string) => {
    const found = isId("webhook", id) ? store.get(id) : undefined;
    if (!found) throw new AppError("not_found", `webhook ${JSON.stringify(id)} not found`);
    return found;
  };

  /** The headers of a re-signed copy of `original` (sealed as stored), or invalid_argument saying why it cannot be. */
  const resigned = async (original: WebhookRecord & WebhookBody, id: string, now: number): Promise<[string, string][]> => {
    const endpoint = endpoints.find(original.endpointId);
    if (!endpoint) throw new AppError("not_found", `endpoint ${JSON.stringify(original.endpointId)} not found`);
    const secrets = endpoints.secrets(endpoint);
    const why = cannotResign(endpoint.providerType, secrets);
    if (why) throw new AppError("invalid_argument", `cannot re-sign a replay of ${original.id}: ${why}`);
    if (original.payload.file !== null && !files.exists(original.payload.file)) {
      throw new AppError("not_found", `the payload file of webhook ${original.id} is missing from the payload store`);
    }
    const headers = await resignHeaders(
      endpoint.providerType,
      secrets[0]!,
      deps.headers.open(original.headers),
      files.stream(original.payload),
      now / 1000,
      id,
    );
    return deps.headers.seal(headers);
  };

  /** Stores a copy of the original at the tail of its endpoint's queue; resolves once on disk. */
  const replayOne = async (original: WebhookRecord & WebhookBody, to?: readonly string[], resign = false) => {
    const now = clock.now();
    const id = newId("webhook");
    const headers = resign ? await resigned(original, id, now) : original.headers;
    // note: to named destinations: exactly there, whatever their filters say (the operator asked); to all:
    // the endpoint's destinations and filters as they are now. A file payload is over the parse limit.
    const json = original.payload.file === null ? lazyJson(original.payload.inline) : () => undefined;
    const routes = to
      ? to.map((destinationId) => ({ destinationId, filteredBecause: null }))
      : destinations.route(original.endpointId, original.eventType, json, original.signatureValid);
    // note: the copy gets a payload file of its own (a hard link), so retention of either leaves the other whole.
    const payload = original.payload.file === null ? original.payload : { ...original.payload, file: await files.copy(original.payload.file, id) };
    let seq: number;
    try {
      seq = await ingestStore.insert({
        id,
        endpointId: original.endpointId,
        receivedAt: now,
        method: original.method,
        query: original.query,
        headers,
        payload,
        contentType: original.contentType,
        sourceIp: original.sourceIp,
        signatureValid: original.signatureValid,
        signatureReason: original.signatureReason,
        eventType: original.eventType,
        routes,
        deliverBy: now + deadLetterAfterMs,
        replayOf: original.id,
        resigned: resign,
      });
    } catch (err) {
      if (payload.file !== null) files.remove([payload.file]);
      if (isForeignKeyViolation(err)) {
        throw new AppError("not_found", `endpoint ${JSON.stringify(original.endpointId)} not found`, { cause: err });
      }
      throw err;
    }
    const destinationIds = routes.filter((r) => r.filteredBecause === null).map((r) => r.destinationId);
    events.emit("webhook.received", { endpointId: original.endpointId, webhookId: id, seq, destinationIds });
    return id;
  };

  // note: a count scans what the filter selects; a UI that asks on every live update of a busy edge must not
  // make the edge scan the table several times a second: a total is reused for TOTAL_TTL_MS per filter.
  const totals = new Map<string, { at: number; n: number }>();
  const totalOf = (query: Parameters<typeof store.count>[0]): number => {
    const key = JSON.stringify(query);
    const now = clock.now();
    const hit = totals.get(key);
    if (hit && now - hit.at < TOTAL_TTL_MS) return hit.n;
    const n = store.count(query);
    if (totals.size >= 100) totals.clear();
    totals.set(key, { at: now, n });
    return n;
  };

  /** The payload's SHA-256; a row stored before ingest recorded it (always in the row) gets it now, once. */
  const sha256Of = (w: WebhookRecord & WebhookBody): string => {
    if (w.payload.sha256 !== null) return w.payload.sha256;
    const hex = createHash("sha256").update(w.payload.inline).digest("hex");
    try {
      store.setSha256(w.seq, hex);
    } catch {
      // note: a read must not fail because the database refuses writes; the next read tries again.
    }
    return hex;
  };

  return {
    /**
     * A page of webhooks, newest first (by arrival). Throws invalid_argument
     * naming the bad filter, not_found for an unknown endpoint.
     */
    list(filter: WebhookFilter & { withTotal?: boolean } = {}): WebhookPage {
      const limit = filter.limit ?? DEFAULT_PAGE_SIZE;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
        throw new AppError("invalid_argument", `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
      }
      let endpointId: string | undefined;
      if (filter.endpointId !== undefined && filter.endpointId !== "") {
        checkIdKind("endpoint", filter.endpointId, "endpoint_id");
        endpointId = endpoints.get(filter.endpointId).id;
      }
      let status: WebhookStatusName | undefined;
      if (filter.status !== undefined && filter.status !== "") {
        if (!isStatus(filter.status)) {
          throw new AppError("invalid_argument", `status must be one of ${WEBHOOK_STATUSES.join(", ")}`);
        }
        status = filter.status;
      }
      const since = checkTime("since", filter.since);
      const until = checkTime("until", filter.until);
      if (since !== undefined && until !== undefined && since >= until) {
        throw new AppError("invalid_argument", "since must be before until");
      }
      const beforeSeq = filter.pageToken ? decodePageToken(filter.pageToken) : undefined;
      const eventType = filter.eventType?.trim() || undefined;
      let destinationId: string | undefined;
      if (filter.destinationId) {
        checkIdKind("destination", filter.destinationId, "destination_id");
        destinationId = destinations.get(filter.destinationId).id;
      }
      const search = filter.search?.trim() ? searchExpression(filter.search) : undefined;
      const query = { endpointId, status, eventType, verified: filter.verified, superseded: filter.superseded, destinationId, search, since, until };
      const rows = store.list({ ...query, beforeSeq, limit: limit + 1 });
      const page = rows.slice(0, limit);
      return {
        webhooks: page.map(toView),
        nextPageToken: rows.length > limit ? encodePageToken(page.at(-1)!.seq) : "",
        // note: a first page that holds the whole filter is its exact count (no scan, never stale).
        ...(filter.withTotal ? { total: !beforeSeq && rows.length <= limit ? page.length : Math.max(totalOf(query), page.length) } : {}),
      };
    },
    /**
     * One webhook's whole payload as a stream (read from its file in parts), its size and the
     * content type it came with; not_found when unknown.
     */
    payload(id: string): { contentType: string | null; size: number; stream(): Readable } {
      const found = mustGet(id);
      if (found.payload.file !== null && !files.exists(found.payload.file)) {
        throw new AppError("not_found", `the payload file of webhook ${found.id} is missing from the payload store`);
      }
      return { contentType: found.contentType, size: found.payload.size, stream: () => files.stream(found.payload) };
    },
    /**
     * One webhook with headers, the first `previewBytes` of its payload (0 or
     * undefined: PAYLOAD_PREVIEW_BYTES; at most MAX_PAYLOAD_PREVIEW_BYTES) and
     * attempts (by number); not_found when unknown.
     */
    get(id: string, opts: { previewBytes?: number } = {}): { webhook: WebhookDetail; attempts: AttemptView[] } {
      const want = opts.previewBytes || PAYLOAD_PREVIEW_BYTES;
      if (!Number.isInteger(want) || want < 1 || want > MAX_PAYLOAD_PREVIEW_BYTES) {
        throw new AppError("invalid_argument", `payload preview must be 1 to ${MAX_PAYLOAD_PREVIEW_BYTES} bytes`);
      }
      const found = mustGet(id);
      // note: a payload file someone deleted: the rest of the webhook is still shown (its delivery fails).
      const preview = found.payload.file === null || files.exists(found.payload.file) ? files.head(found.payload, want) : Buffer.alloc(0);
      return {
        webhook: {
          ...toView(found),
          headers: deps.headers.redact(found.headers),
          payload: preview,
          payloadTruncated: preview.length < found.payload.size,
          payloadSha256: sha256Of(found),
          deliveries: store.deliveries(found.seq),
          replays: store.replaysOf(found.id).map(toView),
        },
        attempts: store.attempts(found.seq).map((a) => ({ ...a, webhookId: found.id })),
      };
    },
    /**
     * Replays a webhook: a new webhook with the same endpoint, method, query,
     * headers (or, with `resign`, a fresh signature), payload and signature
     * result, received now, `replayOf` = the original. A pending webhook needs
     * `allowPending` (failed_precondition otherwise: it would arrive twice).
     * Resolves with the copy once it is on disk.
     */
    async replay(id: string, opts: ReplayOptions = {}): Promise<WebhookView> {
      const original = mustGet(id);
      if (original.status === "pending" && !opts.allowPending) {
        throw new AppError(
          "failed_precondition",
          `webhook ${original.id} is still pending: a replay would reach its destinations twice; replay it anyway with allow_pending`,
        );
      }
      let to: string[] | undefined;
      if (opts.destinationId) to = [opts.destinationId];
      else if (opts.destinationIds) to = [...opts.destinationIds];
      for (const destinationId of to ?? []) {
        const d = destinations.get(destinationId);
        if (d.endpointId !== original.endpointId) {
          throw new AppError("invalid_argument", `destination ${d.id} is not a destination of endpoint ${original.endpointId}`);
        }
      }
      const newIdValue = await replayOne(original, to, opts.resign === true);
      if (opts.actor) {
        deps.audit?.record({
          actor: opts.actor,
          action: "replay",
          endpointId: original.endpointId,
          webhookId: original.id,
          destinationId: to?.length === 1 ? to[0]! : null,
          detail: {
            replayId: newIdValue,
            ...(opts.resign ? { resigned: true } : {}),
            ...(to && to.length > 1 ? { destinationIds: to } : {}),
            ...opts.auditDetail,
          },
        });
      }
      return toView(mustGet(newIdValue));
    },
    /** Which of `ids` are webhooks, in arrival order. */
    existing(ids: readonly string[]): string[] {
      return store.existing(ids);
    },
    /**
     * Replays every failed, dead-lettered and partly delivered webhook of an
     * endpoint, in arrival order, to the destinations that did not get it,
     * and resolves with how many. The set is taken when the
     * call starts (the copies are pending, so they are never replayed twice).
     */
    async replayEndpoint(endpointId: string, actor?: string): Promise<number> {
      const endpoint = endpoints.get(endpointId);
      const seqs = store.replayableSeqs(endpoint.id);
      let replayed = 0;
      for (let i = 0; i < seqs.length; i += REPLAY_CHUNK) {
        const chunk = seqs
          .slice(i, i + REPLAY_CHUNK)
          .map((seq) => store.getBySeq(seq))
          .filter((w) => w !== undefined);
        // note: the inserts of one chunk join the same group commit and keep their order (seq follows
        // insert order), so the copies queue in the originals' arrival order.
        const results = await Promise.allSettled(
          chunk.map((w) => {
            const missed = store
              .deliveries(w.seq)
              .filter((d) => d.status === "failed" || d.status === "dead_letter")
              .map((d) => d.destinationId);
            return replayOne(w, missed);
          }),
        );
        const failure = results.find((r) => r.status === "rejected");
        replayed += results.filter((r) => r.status === "fulfilled").length;
        if (failure) throw failure.reason;
      }
      if (actor) deps.audit?.record({ actor, action: "replay_endpoint", endpointId: endpoint.id, detail: { replayed } });
      return replayed;
    },
    /** Queue stats of every endpoint, or of one (not_found when unknown). */
    queueStats(endpointId?: string): EndpointQueueStats[] {
      if (endpointId !== undefined) endpoints.get(endpointId);
      return store.queueStats(endpointId);
    },
    /** Webhooks received since `since` (default: the last 24 h), by current status. */
    counts(since?: number): StatusCounts {
      return store.countsSince(checkTime("since", since) ?? clock.now() - COUNTS_WINDOW_MS);
    },
    /** received_at of the earliest-arrived webhook still pending, if any. */
    oldestPendingAt(): number | null {
      return store.oldestPendingAt();
    },
    /** The query plan `list` would use (for tests and diagnostics). */
    explainList(filter: Omit<WebhookFilter, "pageToken" | "status"> & { status?: WebhookStatusName; beforeSeq?: number }) {
      return store.explainList({ ...filter, limit: (filter.limit ?? DEFAULT_PAGE_SIZE) + 1 });
    },
  };
}
