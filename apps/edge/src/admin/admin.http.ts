/**
 * The REST face of the admin API, for curl and scripts: the same services as
 * AdminService, JSON in snake_case, providers and statuses as lower-case
 * strings (`stripe`, `dead_letter`), times as ISO-8601, errors as
 * `{ "error": { "code", "message" } }`. app.ts authenticates every /api/
 * request before these handlers run and answers whatever they throw
 * (AppError → its status, anything else → a logged, bare 500).
 *
 *   GET    /api/endpoints                 → 200 { endpoints: [Endpoint] }
 *   POST   /api/endpoints                 → 201 { endpoint }
 *   GET    /api/endpoints/:id             → 200 { endpoint }
 *   PATCH  /api/endpoints/:id             → 200 { endpoint }
 *   DELETE /api/endpoints/:id             → 204
 *   POST   /api/endpoints/:id/replay      → 200 { replayed }
 *   GET    /api/webhooks?endpoint_id=&status=&verified=&since=&until=&limit=&page_token=
 *                                         → 200 { webhooks: [Webhook], next_page_token }
 *          (since ≤ received_at < until, ISO-8601 with a zone or a plain date; limit 1–500, default 50;
 *          next_page_token is "" on the last page)
 *   GET    /api/webhooks/:id              → 200 { webhook (+ headers, payload, payload_text), attempts }
 *   POST   /api/webhooks/:id/replay       → 201 { webhook }
 *   GET    /api/status                    → 200 { hub, queues, last_24h, oldest_pending_at, edge_version }
 */
import { z } from "zod";
import { PROVIDER_TYPES, type EndpointService, type EndpointView } from "../endpoint/endpoint.service.js";
import { AppError } from "../errors.js";
import { readJson, sendJson, type NodeResponse, type Route } from "../server/http.js";
import type {
  AttemptView,
  EndpointQueueStats,
  WebhookDetail,
  WebhookService,
  WebhookView,
} from "../webhook/webhook.service.js";
import { statusSnapshot, type AdminSettings, type HubStatusSource } from "./admin.mapping.js";

const iso = (ms: number | null | undefined): string | null => (ms ? new Date(ms).toISOString() : null);

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The payload as text when it is valid UTF-8, else null. */
function payloadText(payload: Uint8Array): string | null {
  try {
    return utf8.decode(payload);
  } catch {
    return null;
  }
}

/** An endpoint as REST JSON. */
export function endpointJson(e: EndpointView, q?: EndpointQueueStats) {
  return {
    id: e.id,
    name: e.name,
    provider_type: e.providerType,
    destination_url: e.destinationUrl,
    muted: e.muted,
    has_signature_secret: e.hasSignatureSecret,
    ingest_url: e.ingestUrl,
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
    queue_depth: q?.pending ?? 0,
    last_delivered_at: iso(q?.lastDeliveredAt),
  };
}

/** A webhook as REST JSON (no body). */
export function webhookJson(w: WebhookView) {
  return {
    id: w.id,
    endpoint_id: w.endpointId,
    received_at: iso(w.receivedAt),
    method: w.method,
    query: w.query,
    payload_size: w.payloadSize,
    content_type: w.contentType,
    source_ip: w.sourceIp,
    signature_valid: w.signatureValid,
    signature_reason: w.signatureReason,
    status: w.status,
    attempts: w.attempts,
    last_attempt_at: iso(w.lastAttemptAt),
    delivered_at: iso(w.deliveredAt),
    next_attempt_at: iso(w.nextAttemptAt),
    deliver_by: iso(w.deliverBy),
    error_message: w.errorMessage,
    replay_of: w.replayOf,
  };
}

/** A webhook with headers and payload (base64, plus `payload_text` when it is valid UTF-8). */
export function webhookDetailJson(w: WebhookDetail) {
  return {
    ...webhookJson(w),
    headers: w.headers.map(([name, value]) => ({ name, value })),
    payload: Buffer.from(w.payload.buffer, w.payload.byteOffset, w.payload.byteLength).toString("base64"),
    payload_text: payloadText(w.payload),
  };
}

/** An attempt as REST JSON. */
export function attemptJson(a: AttemptView) {
  return {
    id: a.id,
    webhook_id: a.webhookId,
    number: a.number,
    started_at: iso(a.startedAt),
    duration_ms: a.durationMs,
    status_code: a.statusCode,
    outcome: a.outcome,
    error: a.error,
    response_excerpt: a.responseExcerpt,
  };
}

// Request validation. Messages name the field; the services check values (URL, name, limits).

const providerType = z.enum(PROVIDER_TYPES, {
  error: `provider_type must be one of ${PROVIDER_TYPES.join(", ")}`,
});
const text = (field: string) =>
  z.string({ error: (iss) => (iss.input === undefined ? `${field} is required` : `${field} must be a string`) });
const flag = (field: string) => z.boolean({ error: `${field} must be true or false` });

const createEndpointBody = z.strictObject(
  {
    name: text("name"),
    provider_type: providerType,
    signature_secret: text("signature_secret").optional(),
    destination_url: text("destination_url"),
    muted: flag("muted").optional(),
  },
  { error: (iss) => (iss.code === "invalid_type" ? "body must be a JSON object" : undefined) },
);

const updateEndpointBody = z.strictObject(
  {
    name: text("name").optional(),
    provider_type: providerType.optional(),
    // note: "" or null removes the secret.
    signature_secret: text("signature_secret").nullable().optional(),
    destination_url: text("destination_url").optional(),
    muted: flag("muted").optional(),
  },
  { error: (iss) => (iss.code === "invalid_type" ? "body must be a JSON object" : undefined) },
);

/** A date (midnight UTC) or a date-time with a zone; Date.parse alone would also take local times and prose. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;
const time = (field: string) =>
  z.string().transform((v, ctx) => {
    const ms = ISO_TIME.test(v) ? Date.parse(v) : NaN;
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: "custom", message: `${field} must be an ISO-8601 time such as 2025-01-31T12:00:00Z` });
      return z.NEVER;
    }
    return ms;
  });

const listWebhooksQuery = z.strictObject({
  endpoint_id: z.string().optional(),
  status: z.string().optional(),
  verified: z.enum(["true", "false"], { error: "verified must be true or false" }).optional(),
  since: time("since").optional(),
  until: time("until").optional(),
  limit: z
    .string()
    .regex(/^\d{1,6}$/, { error: "limit must be an integer from 1 to 500" })
    .transform(Number)
    .optional(),
  page_token: z.string().optional(),
});

/** Parses with a schema; invalid_argument naming every bad field otherwise. */
function parse<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const messages = result.error.issues.map((i) => {
    if (i.code === "unrecognized_keys") return `unknown ${what} ${i.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    return i.message;
  });
  throw new AppError("invalid_argument", [...new Set(messages)].join("; "));
}

/** Query parameters as an object; a repeated parameter is an error. */
function queryObject(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) {
    if (k in out) throw new AppError("invalid_argument", `query parameter ${JSON.stringify(k)} is given more than once`);
    out[k] = v;
  }
  return out;
}

const noContent = (res: NodeResponse): void => {
  res.writeHead(204, { "cache-control": "no-store" });
  res.end();
};

/** The /api/ routes. */
export function adminRoutes(deps: {
  endpoints: EndpointService;
  webhooks: WebhookService;
  relay: HubStatusSource;
  settings: AdminSettings;
}): Route[] {
  const { endpoints, webhooks, relay, settings } = deps;
  const withQueue = (e: EndpointView) => endpointJson(e, webhooks.queueStats(e.id)[0]);

  return [
    {
      method: "GET",
      path: "/api/endpoints",
      handler: (_req, res) => {
        const stats = new Map(webhooks.queueStats().map((q) => [q.endpointId, q]));
        sendJson(res, 200, { endpoints: endpoints.list().map((e) => endpointJson(e, stats.get(e.id))) });
      },
    },
    {
      method: "POST",
      path: "/api/endpoints",
      handler: async (req, res) => {
        const body = parse(createEndpointBody, await readJson(req), "field");
        const e = endpoints.create({
          name: body.name,
          providerType: body.provider_type,
          signatureSecret: body.signature_secret,
          destinationUrl: body.destination_url,
          muted: body.muted,
        });
        sendJson(res, 201, { endpoint: endpointJson(e) }, { location: `/api/endpoints/${e.id}` });
      },
    },
    {
      method: "GET",
      path: "/api/endpoints/:id",
      handler: (_req, res, params) => sendJson(res, 200, { endpoint: withQueue(endpoints.get(params.id!)) }),
    },
    {
      method: "PATCH",
      path: "/api/endpoints/:id",
      handler: async (req, res, params) => {
        const body = parse(updateEndpointBody, await readJson(req), "field");
        if (Object.keys(body).length === 0) {
          throw new AppError(
            "invalid_argument",
            "body must set at least one of name, provider_type, signature_secret, destination_url, muted",
          );
        }
        const e = endpoints.update(params.id!, {
          name: body.name,
          providerType: body.provider_type,
          signatureSecret: body.signature_secret === null ? "" : body.signature_secret,
          destinationUrl: body.destination_url,
          muted: body.muted,
        });
        sendJson(res, 200, { endpoint: withQueue(e) });
      },
    },
    {
      method: "DELETE",
      path: "/api/endpoints/:id",
      handler: (_req, res, params) => {
        endpoints.delete(params.id!);
        noContent(res);
      },
    },
    {
      method: "POST",
      path: "/api/endpoints/:id/replay",
      handler: async (_req, res, params) => {
        sendJson(res, 200, { replayed: await webhooks.replayEndpoint(params.id!) });
      },
    },
    {
      method: "GET",
      path: "/api/webhooks",
      handler: (_req, res, _params, url) => {
        const q = parse(listWebhooksQuery, queryObject(url), "query parameter");
        const page = webhooks.list({
          endpointId: q.endpoint_id,
          status: q.status,
          verified: q.verified === undefined ? undefined : q.verified === "true",
          since: q.since,
          until: q.until,
          limit: q.limit,
          pageToken: q.page_token,
        });
        sendJson(res, 200, { webhooks: page.webhooks.map(webhookJson), next_page_token: page.nextPageToken });
      },
    },
    {
      method: "GET",
      path: "/api/webhooks/:id",
      handler: (_req, res, params) => {
        const { webhook, attempts } = webhooks.get(params.id!);
        sendJson(res, 200, { webhook: webhookDetailJson(webhook), attempts: attempts.map(attemptJson) });
      },
    },
    {
      method: "POST",
      path: "/api/webhooks/:id/replay",
      handler: async (_req, res, params) => {
        const w = await webhooks.replay(params.id!);
        sendJson(res, 201, { webhook: webhookJson(w) }, { location: `/api/webhooks/${w.id}` });
      },
    },
    {
      method: "GET",
      path: "/api/status",
      handler: (_req, res) => {
        const s = statusSnapshot({ endpoints, webhooks, relay, settings });
        sendJson(res, 200, {
          hub: {
            connected: s.hub.connected,
            since: iso(s.hub.since),
            hub_id: s.hub.hubId || null,
            hub_version: s.hub.hubVersion || null,
            last_seen_at: iso(s.hub.lastSeenAt),
            in_flight: s.hub.inFlight,
          },
          queues: s.queues.map((q) => ({
            endpoint_id: q.endpointId,
            name: q.name,
            depth: q.depth,
            oldest_pending_at: iso(q.oldestPendingAt),
            muted: q.muted,
          })),
          last_24h: {
            received: s.last24h.received,
            delivered: s.last24h.delivered,
            failed: s.last24h.failed,
            dead_letter: s.last24h.deadLetter,
            pending: s.last24h.pending,
          },
          oldest_pending_at: iso(s.oldestPendingAt),
          edge_version: s.edgeVersion,
        });
      },
    },
  ];
}
