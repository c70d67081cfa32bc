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
  ActOnDeliveryResponseSchema,
  EndpointStatsSchema,
  GetStatsResponseSchema,
  StatsPointSchema,
  StatsTotalsSchema,
  AttemptSchema,
  AuditEntrySchema,
  BulkAction,
  BulkActResponseSchema,
  DeliveryAction,
  DeliveryPolicySchema,
  type DeliveryPolicy as DeliveryPolicyMessage,
  OrderingSchema,
  UnverifiedRuleSchema,
  type ListWebhooksRequest,
  type WebhookFilter as WebhookFilterMessage,
  DeliverySchema,
  DestinationSchema,
  EndpointQueueSchema,
  EndpointSchema,
  GetSettingsResponseSchema,
  GetStatusResponseSchema,
  HubCredentialSchema,
  HubSchema,
  HubStatusSchema,
  StatusCountsSchema,
  StorageFaultSchema,
  StorageHealthSchema,
  WatchEventsResponseSchema,
  WebhookSchema,
  type AdminService,
  type Destination,
  type DestinationInput as DestinationInputMessage,
  type Endpoint,
  type Hub,
  type StorageHealth,
  type WatchEventsResponse,
  type Webhook,
} from "@hookly/proto/gen/admin_pb";
import type { AuditRecord } from "../audit/audit.service.js";
import type { StatsTotals, StatsView } from "../stats/stats.service.js";
import { principalKey } from "../auth/auth.service.js";
import type { DeliveryAction as DeliveryActionName } from "../queue/queue.control.js";
import type { BulkAction as BulkActionName } from "../queue/queue.service.js";
import type { DestinationInput } from "../destination/destination.service.js";
import type { DeliveryPolicy, PolicyInput } from "../destination/destination.policy.js";
import type { HubCredential } from "../hub/hub.service.js";
import type { DeliveryRecord } from "../webhook/webhook.store.js";
import type { EndpointView } from "../endpoint/endpoint.service.js";
import { secretsToCreate, secretsToUpdate } from "../endpoint/endpoint.secrets.js";
import { AppError, storageAppError, toConnectError } from "../errors.js";
import type { StorageService, StorageStatus } from "../storage/storage.service.js";
import type { EdgeEvents } from "../events.js";
import type { Logger } from "../logger.js";
import type { ProviderType as ProviderName } from "../verify/verify.service.js";
import type { AttemptView, EndpointQueueStats, WebhookDetail, WebhookFilter, WebhookStatusName, WebhookView } from "../webhook/webhook.service.js";
import {
  destinationSnapshot,
  enumName,
  enumNumber,
  filterFromWire,
  hubSnapshots,
  messageFrom,
  providerFromProto,
  type DestinationSnapshot,
  type HubSnapshot,
  statusFromProto,
  statusSnapshot,
  type AdminDeps,
} from "./admin.mapping.js";

/** How often WatchEvents sends a heartbeat so proxies keep an idle stream open. */
export const WATCH_HEARTBEAT_MS = 15_000;

/** Events a WatchEvents stream may fall behind by before it is ended (the client reconnects and refetches). */
export const WATCH_MAX_BACKLOG = 1_000;

/** Re-exported for the admin RPC's callers: the mapping lives with the error codes. */
export { toConnectError };

// note: each message is derived from its view by field name (messageFrom, admin.mapping.ts); only the
// fields a view holds otherwise, or lacks, are spelled out here.

/** A destination message: its queue and held state flattened, the filter's equals as JSON text. */
export function destinationMessage(d: DestinationSnapshot): Destination {
  return messageFrom(DestinationSchema, d, {
    filter: d.filter && {
      eventTypes: d.filter.eventTypes ?? [],
      jsonPath: d.filter.jsonPath ?? "",
      equalsJson: d.filter.jsonPath ? JSON.stringify(d.filter.equals ?? null) : "",
    },
    queueDepth: d.queue.pending,
    oldestPendingAt: d.queue.oldestPendingAt,
    lastDeliveredAt: d.queue.lastDeliveredAt,
    held: d.held !== null,
    heldError: d.held?.error,
    heldCount: d.queue.held,
    policy: policyMessage(d.policy),
  });
}

/** A policy message (its header values as the view has them: redacted). */
function policyMessage(p: DeliveryPolicy) {
  return create(DeliveryPolicySchema, {
    ordering: enumNumber(OrderingSchema, p.ordering) ?? 0,
    concurrency: p.concurrency,
    timeoutMs: p.timeoutMs ?? 0,
    maxAttempts: p.maxAttempts ?? 0,
    maxAgeMs: BigInt(p.maxAgeMs ?? 0),
    headers: p.headers.map(([name, value]) => ({ name, value })),
    unverified: enumNumber(UnverifiedRuleSchema, p.unverified) ?? 0,
  });
}

/** The limits `clear_policy_fields` may name, and the policy field each clears. */
const CLEARABLE = { timeout_ms: "timeoutMs", max_attempts: "maxAttempts", max_age_ms: "maxAgeMs" } as const;

/**
 * A policy change from its message: zero fields keep theirs (undefined); headers replace the list when any
 * are given; `clearFields` (timeout_ms, max_attempts, max_age_ms) take limits back to their default.
 */
export function policyFromWire(
  m: DeliveryPolicyMessage | undefined,
  opts: { clearHeaders?: boolean; clearFields?: readonly string[] } = {},
): PolicyInput | undefined {
  const clear = opts.clearFields ?? [];
  for (const f of clear) {
    if (!Object.hasOwn(CLEARABLE, f))
      throw new AppError("invalid_argument", `clear_policy_fields: ${JSON.stringify(f)} is not one of ${Object.keys(CLEARABLE).join(", ")}`);
  }
  if (!m && !opts.clearHeaders && clear.length === 0) return undefined;
  const cleared = Object.fromEntries(clear.map((f) => [CLEARABLE[f as keyof typeof CLEARABLE], null]));
  const ordering = m?.ordering ? enumName(OrderingSchema, m.ordering) : undefined;
  const unverified = m?.unverified ? enumName(UnverifiedRuleSchema, m.unverified) : undefined;
  if (m?.ordering && !ordering) throw new AppError("invalid_argument", `policy: ordering ${m.ordering} is not an Ordering`);
  if (m?.unverified && !unverified) throw new AppError("invalid_argument", `policy: unverified ${m.unverified} is not an UnverifiedRule`);
  return {
    ordering: ordering as PolicyInput["ordering"],
    concurrency: m?.concurrency || undefined,
    timeoutMs: m?.timeoutMs || undefined,
    maxAttempts: m?.maxAttempts || undefined,
    maxAgeMs: m?.maxAgeMs ? Number(m.maxAgeMs) : undefined,
    headers: opts.clearHeaders ? [] : m && m.headers.length > 0 ? m.headers.map((h) => [h.name, h.value] as [string, string]) : undefined,
    unverified: unverified as PolicyInput["unverified"],
    ...cleared,
  };
}

/** The storage health message. */
export function storageMessage(h: StorageStatus): StorageHealth {
  return messageFrom(StorageHealthSchema, h, { faults: h.faults.map((f) => messageFrom(StorageFaultSchema, f)) });
}

/** A hub message. */
export function hubMessage(h: HubSnapshot): Hub {
  return messageFrom(HubSchema, h);
}

/** A delivery message; next_attempt_at only while pending. */
function deliveryMessage(d: DeliveryRecord) {
  return messageFrom(DeliverySchema, d, { nextAttemptAt: d.status === "pending" ? d.nextAttemptAt : undefined });
}

/** A destination to create, from its message. */
function destinationInput(m: DestinationInputMessage): DestinationInput {
  return {
    hubId: m.hubId || undefined,
    url: m.url,
    name: m.name,
    enabled: !m.disabled,
    muted: m.muted,
    filter: filterFromWire(m.filter) ?? null,
    policy: policyFromWire(m.policy),
  };
}

/** An endpoint message, with its queue depth and last delivery when known. */
function endpointMessage(e: EndpointView, q: EndpointQueueStats | undefined, destinations: Destination[]): Endpoint {
  return messageFrom(EndpointSchema, e, { destinations, queueDepth: q?.pending ?? 0, lastDeliveredAt: q?.lastDeliveredAt });
}

/** A webhook message; headers, payload, deliveries and replays only for a detail. */
function webhookMessage(
  w: WebhookView,
  body?: Pick<WebhookDetail, "headers" | "payload" | "payloadTruncated" | "payloadSha256" | "deliveries" | "replays">,
): Webhook {
  return messageFrom(WebhookSchema, w, {
    headers: body?.headers.map(([name, value]) => ({ name, value })),
    payload: body?.payload,
    payloadTruncated: body?.payloadTruncated,
    payloadSha256: body?.payloadSha256,
    deliveries: body?.deliveries.map(deliveryMessage),
    replays: body?.replays.map((r) => webhookMessage(r)),
  });
}

/** Chart totals as their message. */
function totalsMessage(t: StatsTotals) {
  return create(StatsTotalsSchema, {
    received: BigInt(t.received),
    delivered: BigInt(t.delivered),
    failed: BigInt(t.failed),
    successRate: t.successRate ?? undefined,
    p50Ms: t.p50Ms === null ? undefined : BigInt(t.p50Ms),
    p95Ms: t.p95Ms === null ? undefined : BigInt(t.p95Ms),
  });
}

/** The delivery charts as their message. */
function statsMessage(v: StatsView) {
  return create(GetStatsResponseSchema, {
    range: v.range,
    bucketMs: BigInt(v.bucketMs),
    from: timestampFromMs(v.from),
    to: timestampFromMs(v.to),
    points: v.points.map((p) =>
      create(StatsPointSchema, {
        start: timestampFromMs(p.start),
        received: BigInt(p.received),
        delivered: BigInt(p.delivered),
        failed: BigInt(p.failed),
        p50Ms: p.p50Ms === null ? undefined : BigInt(p.p50Ms),
        p95Ms: p.p95Ms === null ? undefined : BigInt(p.p95Ms),
      }),
    ),
    totals: totalsMessage(v.totals),
    endpoints: v.endpoints.map((e) =>
      create(EndpointStatsSchema, { endpointId: e.endpointId, totals: totalsMessage(e), spark: e.spark.map((n) => BigInt(n)) }),
    ),
  });
}

/** An audit entry message: its detail as JSON text. */
function auditMessage(a: AuditRecord) {
  return messageFrom(AuditEntrySchema, a, { detailJson: a.detail ? JSON.stringify(a.detail) : "" });
}

/** A webhook filter from its message (as ListWebhooks reads one). */
function filterOf(f: WebhookFilterMessage | ListWebhooksRequest | undefined): Omit<WebhookFilter, "limit" | "pageToken"> {
  if (!f) return {};
  let status: WebhookStatusName | undefined;
  if (f.status !== 0) {
    status = statusFromProto(f.status);
    if (!status) throw new AppError("invalid_argument", `status ${f.status} is not a WebhookStatus`);
  }
  return {
    endpointId: f.endpointId || undefined,
    status,
    eventType: f.eventType || undefined,
    verified: f.verified,
    superseded: f.superseded,
    destinationId: f.destinationId || undefined,
    search: f.search || undefined,
    since: f.since ? timestampMs(f.since) : undefined,
    until: f.until ? timestampMs(f.until) : undefined,
  };
}

/** The caller's audit name: `admin`, `token:<id>`, `github:<login>`; "unknown" outside an authenticated call (tests). */
export function actorOf(ctx: HandlerContext): string {
  return ctx.values.get(principalKey)?.id ?? "unknown";
}

const DELIVERY_ACTION_NAMES: Record<number, DeliveryActionName | undefined> = {
  [DeliveryAction.RETRY_NOW]: "retry_now",
  [DeliveryAction.SKIP]: "skip",
  [DeliveryAction.CANCEL]: "cancel",
  [DeliveryAction.RELEASE]: "release",
};
const BULK_ACTION_NAMES: Record<number, BulkActionName | undefined> = {
  [BulkAction.REPLAY]: "replay",
  [BulkAction.SKIP]: "skip",
  [BulkAction.RELEASE]: "release",
};

/** An attempt message. */
function attemptMessage(a: AttemptView) {
  return messageFrom(AttemptSchema, a);
}

/** A hub credential message (shown once), with the hub's live state. */
function credentialMessage(c: HubCredential, snapshot: HubSnapshot) {
  return messageFrom(HubCredentialSchema, c, { hub: hubMessage(snapshot) });
}

/** Creates the AdminService implementation (without the token RPCs). */
export function createAdminRpc(
  deps: AdminDeps & {
    events: EdgeEvents;
    /** Where unexpected errors are logged before Connect answers Internal. */
    log?: Logger;
    /** Heartbeat interval of WatchEvents (ms); default WATCH_HEARTBEAT_MS. */
    watchHeartbeatMs?: number;
    /** Storage health: a write it refuses is reported here (the caller gets Unavailable); status shows it. */
    storage: Pick<StorageService, "failed" | "status">;
  },
): Partial<ServiceImpl<typeof AdminService>> {
  const { endpoints, webhooks, hubs, destinations, relay, queue, audit, stats, settings, events, log } = deps;
  const heartbeatMs = deps.watchHeartbeatMs ?? WATCH_HEARTBEAT_MS;

  /** Runs a handler body, mapping AppError to ConnectError. */
  const guard = async <T>(ctx: HandlerContext, body: () => T | Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (err) {
      if (deps.storage.failed("admin", err)) throw toConnectError(err);
      if (!(err instanceof AppError) && !(err instanceof ConnectError) && !storageAppError(err)) {
        log?.error({ err, rpc: ctx.method.name }, "unexpected error in admin RPC");
      }
      throw toConnectError(err);
    }
  };

  const destinationsOf = (e: EndpointView) => e.destinations.map((d) => destinationMessage(destinationSnapshot(destinations.view(d), deps)));
  const endpointWithQueue = (e: EndpointView) => endpointMessage(e, webhooks.queueStats(e.id)[0], destinationsOf(e));
  const hubById = (id: string): HubSnapshot => {
    const h = hubSnapshots({ hubs, destinations, relay }).find((x) => x.id === id);
    if (!h) throw new AppError("not_found", `hub ${JSON.stringify(id)} not found`);
    return h;
  };

  return {
    createEndpoint: (req, ctx) =>
      guard(ctx, () => {
        const providerType = providerFromProto(req.providerType);
        if (!providerType) throw new AppError("invalid_argument", "provider_type is required (GENERIC, STRIPE, GITHUB or TELEGRAM)");
        const e = endpoints.create({
          name: req.name,
          providerType,
          signatureSecrets: secretsToCreate(req.signatureSecret, req.signatureSecrets),
          destinationUrl: req.destinationUrl || undefined,
          hubId: req.hubId || undefined,
          destinations: req.destinations.map(destinationInput),
          eventTypeHeader: req.eventTypeHeader || null,
          muted: req.muted,
          dedupWindowMs: req.dedupWindowMs,
        });
        return { endpoint: endpointWithQueue(e) };
      }),

    getEndpoint: (req, ctx) => guard(ctx, () => ({ endpoint: endpointWithQueue(endpoints.get(req.id)) })),

    listEndpoints: (_req, ctx) =>
      guard(ctx, () => {
        const stats = new Map(webhooks.queueStats().map((q) => [q.endpointId, q]));
        return { endpoints: endpoints.list().map((e) => endpointMessage(e, stats.get(e.id), destinationsOf(e))) };
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
          signatureSecrets: secretsToUpdate(req.signatureSecret, req.signatureSecrets?.secrets),
          destinationUrl: req.destinationUrl,
          eventTypeHeader: req.eventTypeHeader,
          muted: req.muted,
          dedupWindowMs: req.dedupWindowMs,
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
        const page = webhooks.list({ ...filterOf(req), limit: req.limit || undefined, pageToken: req.pageToken || undefined, withTotal: req.withTotal });
        return {
          webhooks: page.webhooks.map((w) => webhookMessage(w)),
          nextPageToken: page.nextPageToken,
          total: page.total === undefined ? undefined : BigInt(page.total),
        };
      }),

    getWebhook: (req, ctx) =>
      guard(ctx, () => {
        const { webhook, attempts } = webhooks.get(req.id, { previewBytes: req.payloadPreviewBytes });
        return { webhook: webhookMessage(webhook, webhook), attempts: attempts.map(attemptMessage) };
      }),

    replayWebhook: (req, ctx) =>
      guard(ctx, async () => ({
        webhook: webhookMessage(
          await webhooks.replay(req.id, {
            destinationId: req.destinationId || undefined,
            allowPending: req.allowPending,
            resign: req.resign,
            actor: actorOf(ctx),
          }),
        ),
      })),

    replayEndpoint: (req, ctx) => guard(ctx, async () => ({ replayed: await webhooks.replayEndpoint(req.endpointId, actorOf(ctx)) })),

    actOnDelivery: (req, ctx) =>
      guard(ctx, () => {
        const action = DELIVERY_ACTION_NAMES[req.action];
        if (!action) throw new AppError("invalid_argument", "action is required (RETRY_NOW, SKIP, CANCEL or RELEASE)");
        const r = queue.act(req.webhookId, action, { destinationId: req.destinationId || undefined, actor: actorOf(ctx) });
        return messageFrom(ActOnDeliveryResponseSchema, r, { stalled: r.stalled ?? "" });
      }),

    bulkAct: (req, ctx) =>
      guard(ctx, async () => {
        const action = BULK_ACTION_NAMES[req.action];
        if (!action) throw new AppError("invalid_argument", "action is required (REPLAY, SKIP or RELEASE)");
        const r = await queue.bulk(
          action,
          { webhookIds: req.webhookIds, filter: filterOf(req.filter) },
          { actor: actorOf(ctx), allowPending: req.allowPending },
        );
        return messageFrom(BulkActResponseSchema, r);
      }),

    getStats: (req, ctx) =>
      guard(ctx, () => {
        if (req.endpointId) endpoints.get(req.endpointId);
        return statsMessage(stats.view(req.range || "24h", req.endpointId || undefined));
      }),

    listAudit: (req, ctx) =>
      guard(ctx, () => {
        const page = audit.list({ webhookId: req.webhookId, endpointId: req.endpointId, limit: req.limit, pageToken: req.pageToken });
        return { entries: page.entries.map(auditMessage), nextPageToken: page.nextPageToken };
      }),

    getStatus: (_req, ctx) =>
      guard(ctx, () => {
        const s = statusSnapshot(deps);
        return messageFrom(GetStatusResponseSchema, s, {
          hub: messageFrom(HubStatusSchema, s.hub),
          queues: s.queues.map((q) => messageFrom(EndpointQueueSchema, q)),
          last24h: messageFrom(StatusCountsSchema, s.last24h),
          hubs: s.hubs.map(hubMessage),
          storage: storageMessage(s.storage),
        });
      }),

    listHubs: (_req, ctx) => guard(ctx, () => ({ hubs: hubSnapshots({ hubs, destinations, relay }).map(hubMessage) })),

    createHub: (req, ctx) =>
      guard(ctx, () => {
        const c = hubs.create({ name: req.name });
        return { credential: credentialMessage(c, hubById(c.hub.id)) };
      }),

    updateHub: (req, ctx) =>
      guard(ctx, () => {
        hubs.rename(req.id, req.name);
        return { hub: hubMessage(hubById(req.id)) };
      }),

    revokeHub: (req, ctx) =>
      guard(ctx, () => {
        hubs.revoke(req.id);
        return { hub: hubMessage(hubById(req.id)) };
      }),

    rotateHubCredential: (req, ctx) =>
      guard(ctx, () => {
        const c = hubs.rotate(req.id);
        return { credential: credentialMessage(c, hubById(req.id)) };
      }),

    retireHubCredential: (req, ctx) =>
      guard(ctx, () => {
        hubs.retire(req.id);
        return { hub: hubMessage(hubById(req.id)) };
      }),

    createDestination: (req, ctx) =>
      guard(ctx, () => {
        if (!req.destination) throw new AppError("invalid_argument", "destination is required");
        const endpoint = endpoints.get(req.endpointId);
        const d = destinations.create(endpoint.id, destinationInput(req.destination));
        return { destination: destinationMessage(destinationSnapshot(d, deps)) };
      }),

    updateDestination: (req, ctx) =>
      guard(ctx, () => {
        const d = destinations.update(req.id, {
          hubId: req.hubId,
          url: req.url,
          name: req.name,
          enabled: req.enabled,
          muted: req.muted,
          filter: req.filter ? (filterFromWire(req.filter) ?? null) : undefined,
          policy: req.resetPolicy ? null : policyFromWire(req.policy, { clearHeaders: req.clearPolicyHeaders, clearFields: req.clearPolicyFields }),
        });
        return { destination: destinationMessage(destinationSnapshot(d, deps)) };
      }),

    deleteDestination: (req, ctx) =>
      guard(ctx, () => {
        destinations.delete(req.id);
        return {};
      }),

    getSettings: (_req, ctx) => guard(ctx, () => messageFrom(GetSettingsResponseSchema, settings)),

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
        events.on("hub.registry", () => push("hub.changed")),
        events.on("storage.changed", () => push("storage.changed")),
        events.on("destination.changed", (e) => push("endpoint.changed", e.endpointId)),
        // note: a queue became stuck or recovered: its endpoint's view changes (the UI shows it).
        events.on("queue.health", (e) => push("endpoint.changed", e.endpointId)),
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
