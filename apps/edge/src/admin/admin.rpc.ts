/**
 * AdminService over Connect: endpoints, webhooks, replays, status, settings
 * and the live event stream. A thin layer over the endpoint and webhook
 * services: it converts messages and maps AppError to ConnectError. The
 * token RPCs (CreateApiToken, ListApiTokens, RevokeApiToken, WhoAmI) live
 * with the auth feature. Authentication happens in app.ts's interceptor.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  AttemptSchema,
  EndpointSchema,
  WatchEventsResponseSchema,
  WebhookSchema,
  type AdminService,
  type Endpoint,
  type WatchEventsResponse,
  type Webhook,
} from "@hookly/proto/gen/admin_pb";
import type { EndpointService, EndpointView } from "../endpoint/endpoint.service.js";
import { AppError, type AppErrorCode } from "../errors.js";
import type { EdgeEvents } from "../events.js";
import type { Logger } from "../logger.js";
import type { ProviderType as ProviderName } from "../verify/verify.service.js";
import type {
  AttemptView,
  EndpointQueueStats,
  WebhookService,
  WebhookStatusName,
  WebhookView,
} from "../webhook/webhook.service.js";
import {
  providerFromProto,
  providerToProto,
  statusFromProto,
  statusSnapshot,
  statusToProto,
  type AdminSettings,
  type HubStatusSource,
} from "./admin.mapping.js";

/** How often WatchEvents sends a heartbeat so proxies keep an idle stream open. */
export const WATCH_HEARTBEAT_MS = 15_000;

/** Events a WatchEvents stream may fall behind by before it is ended (the client reconnects and refetches). */
export const WATCH_MAX_BACKLOG = 1_000;

const CONNECT_CODE: Record<AppErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  payload_too_large: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  failed_precondition: Code.FailedPrecondition,
};

/**
 * ConnectError for an AppError (its code and safe message, the original as
 * cause); anything else is returned unchanged, so Connect answers Internal
 * without its message.
 */
export function toConnectError(err: unknown): unknown {
  if (err instanceof AppError) return new ConnectError(err.message, CONNECT_CODE[err.code], undefined, undefined, err);
  return err;
}

const ts = (ms: number | null | undefined) => (ms ? timestampFromMs(ms) : undefined);

/** An endpoint message, with its queue depth and last delivery when known. */
function endpointMessage(e: EndpointView, q?: EndpointQueueStats): Endpoint {
  return create(EndpointSchema, {
    id: e.id,
    name: e.name,
    providerType: providerToProto(e.providerType),
    destinationUrl: e.destinationUrl,
    muted: e.muted,
    hasSignatureSecret: e.hasSignatureSecret,
    ingestUrl: e.ingestUrl,
    createdAt: ts(e.createdAt),
    updatedAt: ts(e.updatedAt),
    queueDepth: BigInt(q?.pending ?? 0),
    lastDeliveredAt: ts(q?.lastDeliveredAt),
  });
}

/** A webhook message; headers and payload only when given. */
function webhookMessage(w: WebhookView, body?: { headers: [string, string][]; payload: Uint8Array }): Webhook {
  return create(WebhookSchema, {
    id: w.id,
    endpointId: w.endpointId,
    receivedAt: ts(w.receivedAt),
    method: w.method,
    query: w.query,
    headers: body?.headers.map(([name, value]) => ({ name, value })) ?? [],
    payload: body?.payload ?? new Uint8Array(0),
    payloadSize: BigInt(w.payloadSize),
    contentType: w.contentType ?? "",
    sourceIp: w.sourceIp ?? "",
    signatureValid: w.signatureValid,
    signatureReason: w.signatureReason ?? "",
    status: statusToProto(w.status),
    attempts: w.attempts,
    lastAttemptAt: ts(w.lastAttemptAt),
    deliveredAt: ts(w.deliveredAt),
    nextAttemptAt: ts(w.nextAttemptAt),
    errorMessage: w.errorMessage ?? "",
    replayOf: w.replayOf ?? "",
  });
}

function attemptMessage(a: AttemptView) {
  return create(AttemptSchema, {
    id: a.id,
    webhookId: a.webhookId,
    number: a.number,
    startedAt: ts(a.startedAt),
    durationMs: a.durationMs,
    statusCode: a.statusCode,
    outcome: a.outcome,
    error: a.error ?? "",
    responseExcerpt: a.responseExcerpt ?? "",
  });
}

/** Creates the AdminService implementation (without the token RPCs). */
export function createAdminRpc(deps: {
  endpoints: EndpointService;
  webhooks: WebhookService;
  relay: HubStatusSource;
  settings: AdminSettings;
  events: EdgeEvents;
  /** Where unexpected errors are logged before Connect answers Internal. */
  log?: Logger;
  /** Heartbeat interval of WatchEvents (ms); default WATCH_HEARTBEAT_MS. */
  watchHeartbeatMs?: number;
}): Partial<ServiceImpl<typeof AdminService>> {
  const { endpoints, webhooks, relay, settings, events, log } = deps;
  const heartbeatMs = deps.watchHeartbeatMs ?? WATCH_HEARTBEAT_MS;

  /** Runs a handler body, mapping AppError to ConnectError. */
  const guard = async <T>(ctx: HandlerContext, body: () => T | Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (err) {
      if (!(err instanceof AppError) && !(err instanceof ConnectError)) {
        log?.error({ err, rpc: ctx.method.name }, "unexpected error in admin RPC");
      }
      throw toConnectError(err);
    }
  };

  const endpointWithQueue = (e: EndpointView) => endpointMessage(e, webhooks.queueStats(e.id)[0]);

  return {
    createEndpoint: (req, ctx) =>
      guard(ctx, () => {
        const providerType = providerFromProto(req.providerType);
        if (!providerType) throw new AppError("invalid_argument", "provider_type is required (GENERIC, STRIPE, GITHUB or TELEGRAM)");
        const e = endpoints.create({
          name: req.name,
          providerType,
          signatureSecret: req.signatureSecret,
          destinationUrl: req.destinationUrl,
          muted: req.muted,
        });
        return { endpoint: endpointMessage(e) };
      }),

    getEndpoint: (req, ctx) => guard(ctx, () => ({ endpoint: endpointWithQueue(endpoints.get(req.id)) })),

    listEndpoints: (_req, ctx) =>
      guard(ctx, () => {
        const stats = new Map(webhooks.queueStats().map((q) => [q.endpointId, q]));
        return { endpoints: endpoints.list().map((e) => endpointMessage(e, stats.get(e.id))) };
      }),

    updateEndpoint: (req, ctx) =>
      guard(ctx, () => {
        let providerType: ProviderName | undefined;
        if (req.providerType !== undefined) {
          providerType = providerFromProto(req.providerType);
          if (!providerType) throw new AppError("invalid_argument", "provider_type must be GENERIC, STRIPE, GITHUB or TELEGRAM");
        }
        const e = endpoints.update(req.id, {
          name: req.name,
          providerType,
          signatureSecret: req.signatureSecret,
          destinationUrl: req.destinationUrl,
          muted: req.muted,
        });
        return { endpoint: endpointWithQueue(e) };
      }),

    deleteEndpoint: (req, ctx) =>
      guard(ctx, () => {
        endpoints.delete(req.id);
        return {};
      }),

    listWebhooks: (req, ctx) =>
      guard(ctx, () => {
        let status: WebhookStatusName | undefined;
        if (req.status !== 0) {
          status = statusFromProto(req.status);
          if (!status) throw new AppError("invalid_argument", `status ${req.status} is not a WebhookStatus`);
        }
        const page = webhooks.list({
          endpointId: req.endpointId || undefined,
          status,
          verified: req.verified,
          since: req.since ? timestampMs(req.since) : undefined,
          until: req.until ? timestampMs(req.until) : undefined,
          limit: req.limit || undefined,
          pageToken: req.pageToken || undefined,
        });
        return { webhooks: page.webhooks.map((w) => webhookMessage(w)), nextPageToken: page.nextPageToken };
      }),

    getWebhook: (req, ctx) =>
      guard(ctx, () => {
        const { webhook, attempts } = webhooks.get(req.id);
        return { webhook: webhookMessage(webhook, webhook), attempts: attempts.map(attemptMessage) };
      }),

    replayWebhook: (req, ctx) => guard(ctx, async () => ({ webhook: webhookMessage(await webhooks.replay(req.id)) })),

    replayEndpoint: (req, ctx) => guard(ctx, async () => ({ replayed: await webhooks.replayEndpoint(req.endpointId) })),

    getStatus: (_req, ctx) =>
      guard(ctx, () => {
        const s = statusSnapshot({ endpoints, webhooks, relay, settings });
        return {
          hub: {
            connected: s.hub.connected,
            since: ts(s.hub.since),
            hubId: s.hub.hubId,
            hubVersion: s.hub.hubVersion,
            lastSeenAt: ts(s.hub.lastSeenAt),
            inFlight: BigInt(s.hub.inFlight),
          },
          queues: s.queues.map((q) => ({
            endpointId: q.endpointId,
            name: q.name,
            depth: BigInt(q.depth),
            oldestPendingAt: ts(q.oldestPendingAt),
            muted: q.muted,
          })),
          last24h: {
            received: BigInt(s.last24h.received),
            delivered: BigInt(s.last24h.delivered),
            failed: BigInt(s.last24h.failed),
            deadLetter: BigInt(s.last24h.deadLetter),
            pending: BigInt(s.last24h.pending),
          },
          oldestPendingAt: ts(s.oldestPendingAt),
          edgeVersion: s.edgeVersion,
        };
      }),

    getSettings: (_req, ctx) =>
      guard(ctx, () => ({
        baseUrl: settings.baseUrl,
        retentionDays: settings.retentionDays,
        deadLetterAfterHours: settings.deadLetterAfterHours,
        backoffInitialMs: settings.backoffInitialMs,
        backoffMaxMs: settings.backoffMaxMs,
        maxPayloadBytes: BigInt(settings.maxPayloadBytes),
        githubSignIn: settings.githubSignIn,
        telegramAlerts: settings.telegramAlerts,
        edgeVersion: settings.edgeVersion,
      })),

    /**
     * Streams every EdgeEvents emission, plus a heartbeat at once (so the
     * caller knows it is subscribed) and every WATCH_HEARTBEAT_MS. Listeners
     * and the timer are removed when the call ends, however it ends.
     */
    async *watchEvents(_req, ctx): AsyncGenerator<WatchEventsResponse> {
      const backlog: WatchEventsResponse[] = [];
      let wake: (() => void) | undefined;
      let overflowed = false;
      const push = (type: string, endpointId = "", webhookId = ""): void => {
        if (backlog.length >= WATCH_MAX_BACKLOG) overflowed = true;
        else backlog.push(create(WatchEventsResponseSchema, { type, endpointId, webhookId }));
        wake?.();
      };
      const unsubscribe = [
        events.on("webhook.received", (e) => push("webhook.received", e.endpointId, e.webhookId)),
        events.on("webhook.updated", (e) => push("webhook.updated", e.endpointId, e.webhookId)),
        events.on("endpoint.changed", (e) => push("endpoint.changed", e.endpointId)),
        events.on("hub.changed", () => push("hub.changed")),
      ];
      const heartbeat = setInterval(() => push("heartbeat"), heartbeatMs);
      const onAbort = (): void => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        push("heartbeat");
        while (!ctx.signal.aborted) {
          if (backlog.length === 0 && !overflowed) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          if (overflowed) {
            throw new ConnectError("event stream fell too far behind; reconnect and refetch", Code.ResourceExhausted);
          }
          yield backlog.shift()!;
        }
      } finally {
        for (const off of unsubscribe) off();
        clearInterval(heartbeat);
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  };
}
