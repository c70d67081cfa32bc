/**
 * The audit trail (issue #13): who did what to which webhook, when. Every
 * operator action records here, whichever face it came through (UI, REST,
 * Connect, MCP, CLI, Telegram); the API lists it newest first.
 */
import type { Clock } from "../clock.js";
import { AppError } from "../errors.js";
import { checkIdKind } from "../ids.js";
import { decodePageToken, encodePageToken } from "../paging.js";
import type { AuditEntry, AuditRecord, AuditStore } from "./audit.store.js";

export type { AuditRecord } from "./audit.store.js";

/** How long audit rows are kept: at least this, or RETENTION_DAYS when longer (and for ever when it keeps everything). */
export const AUDIT_MIN_RETENTION_MS = 90 * 86_400_000;

/** Page size of `list` when none is asked for, and the largest. */
export const AUDIT_PAGE_SIZE = 100;
export const AUDIT_MAX_PAGE_SIZE = 500;

/** What an action records besides its time. */
export type AuditInput = Omit<AuditEntry, "at" | "endpointId" | "webhookId" | "destinationId" | "detail"> &
  Partial<Pick<AuditEntry, "endpointId" | "webhookId" | "destinationId" | "detail">>;

/** The audit service. */
export type AuditService = ReturnType<typeof createAuditService>;

/** Creates the audit service. */
export function createAuditService(deps: { store: AuditStore; clock: Clock; retentionMs: number }) {
  const { store, clock } = deps;
  return {
    /** Records one action now (inside the caller's transaction when there is one). */
    record(e: AuditInput): void {
      store.insert({ endpointId: null, webhookId: null, destinationId: null, detail: null, ...e, at: clock.now() });
    },
    /** A page of the trail, newest first; filter by webhook or endpoint. */
    list(q: { webhookId?: string; endpointId?: string; limit?: number; pageToken?: string } = {}): { entries: AuditRecord[]; nextPageToken: string } {
      const limit = q.limit || AUDIT_PAGE_SIZE;
      if (!Number.isInteger(limit) || limit < 1 || limit > AUDIT_MAX_PAGE_SIZE) {
        throw new AppError("invalid_argument", `limit must be an integer from 1 to ${AUDIT_MAX_PAGE_SIZE}`);
      }
      if (q.webhookId) checkIdKind("webhook", q.webhookId, "webhook_id");
      if (q.endpointId) checkIdKind("endpoint", q.endpointId, "endpoint_id");
      const rows = store.list({
        webhookId: q.webhookId || undefined,
        endpointId: q.endpointId || undefined,
        beforeId: q.pageToken ? decodePageToken(q.pageToken) : undefined,
        limit: limit + 1,
      });
      const entries = rows.slice(0, limit);
      return { entries, nextPageToken: rows.length > limit ? encodePageToken(entries.at(-1)!.id) : "" };
    },
    /** Drops rows past the retention (none when RETENTION_DAYS keeps everything); returns how many. */
    purge(): number {
      if (deps.retentionMs <= 0) return 0;
      return store.purge(clock.now() - Math.max(deps.retentionMs, AUDIT_MIN_RETENTION_MS));
    },
  };
}
