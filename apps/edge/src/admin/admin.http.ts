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
 *   GET    /api/webhooks/:id?payload_bytes= → 200 { webhook (+ headers, payload, payload_text, payload_truncated,
 *                                           payload_sha256), attempts }   (the first payload_bytes of the payload,
 *                                           default 65536, at most 1048576; the whole of it: …/payload)
 *   GET    /api/webhooks/:id/payload      → 200 the payload's bytes as received, its content type, as a download
 *   POST   /api/webhooks/:id/replay       → 201 { webhook }
 *   GET    /api/status                    → 200 { hub, hubs, queues, last_24h, oldest_pending_at, edge_version }
 *   GET    /api/hubs                      → 200 { hubs: [Hub] }
 *   POST   /api/hubs                      → 201 { hub, secret, env, compose }   (the credential, shown once)
 *   GET    /api/hubs/:id · PATCH (rename) → 200 { hub }
 *   POST   /api/hubs/:id/revoke · /retire → 200 { hub };  /rotate → 200 { hub, secret, env, compose }
 *   GET    /api/endpoints/:id/destinations → 200 { destinations }; POST → 201 { destination }
 *   GET · PATCH · DELETE /api/destinations/:id
 *   POST   /api/webhooks/:id/replay?destination_id=dst_…&allow_pending=true&resign=true
 *          (one destination, default all; a pending webhook only with allow_pending; resign: a fresh
 *          signature with the endpoint's secret, stripe and generic endpoints)
 *   POST   /api/webhooks/:id/retry-now · /skip · /cancel [?destination_id=dst_…]
 *                                         → 200 { webhook_id, destination_id, action, status, in_flight, stalled }
 *   POST   /api/webhooks/bulk { action: replay|skip, webhook_ids | filter, allow_pending }
 *                                         → 200 { matched, acted, ignored, replay_ids }
 *   GET    /api/audit?webhook_id=&endpoint_id=&limit=&page_token= → 200 { entries, next_page_token }
 *   GET    /api/stats?range=1h|24h|7d&endpoint_id= → 200 { range, bucket_ms, from, to, points, totals, endpoints }
 *   GET    /api/webhooks/export?<the list's filters>&payload=true
 *                                         → 200 NDJSON, one webhook per line, newest first (payload=true: with
 *                                           headers and the first MiB of each payload, as the detail shows them)
 *   GET    /api/webhooks?…&destination_id=&search=&with_total=true → also { total }
 */
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { PROVIDER_TYPES, type EndpointView } from "../endpoint/endpoint.service.js";
import { secretsToCreate, secretsToUpdate } from "../endpoint/endpoint.secrets.js";
import { onlyMutes, requireScope } from "../auth/auth.scopes.js";
import { AppError } from "../errors.js";
import { readJson, sendJson, type NodeResponse, type Route } from "../server/http.js";
import { DELIVERY_ACTIONS } from "../queue/queue.control.js";
import { ORDERINGS, UNVERIFIED_RULES } from "../destination/destination.policy.js";
import { BULK_ACTIONS } from "../queue/queue.service.js";
import { utf8Head } from "../payload/payload.text.js";
import { MAX_PAYLOAD_PREVIEW_BYTES, type AttemptView, type EndpointQueueStats, type WebhookDetail, type WebhookView } from "../webhook/webhook.service.js";
import type { HubService } from "../hub/hub.service.js";
import { destinationSnapshot, hubSnapshots, iso, restJson, statusSnapshot, type AdminDeps, type DestinationSnapshot, type RestJson } from "./admin.mapping.js";

/** An endpoint as REST JSON, with its destinations and queue. */
export function endpointJson(e: EndpointView, q: EndpointQueueStats | undefined, destinations: DestinationSnapshot[]) {
  return {
    ...(restJson({ ...e, destinations: undefined }) as Record<string, RestJson>),
    destinations: destinations.map(destinationJson),
    queue_depth: q?.pending ?? 0,
    last_delivered_at: iso(q?.lastDeliveredAt),
  };
}

/** A destination as REST JSON: its policy's headers as {name, value} (values redacted). */
export function destinationJson(d: DestinationSnapshot) {
  const json = restJson(d) as Record<string, RestJson>;
  return { ...json, policy: { ...(json.policy as Record<string, RestJson>), headers: d.policy.headers.map(([name, value]) => ({ name, value })) } };
}

/** A webhook as REST JSON (no body). */
export function webhookJson(w: WebhookView) {
  return restJson(w) as Record<string, RestJson>;
}

/**
 * A webhook with headers, the start of its payload (base64, plus `payload_text` when it is valid
 * UTF-8; `payload_truncated` when there is more), payload_sha256 and deliveries.
 */
export function webhookDetailJson(w: WebhookDetail) {
  const { headers, payload, deliveries, ...view } = w;
  return {
    ...webhookJson(view),
    headers: headers.map(([name, value]) => ({ name, value })),
    payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("base64"),
    payload_text: utf8Head(payload, w.payloadTruncated)?.text ?? null,
    deliveries: restJson(deliveries.map(({ seq: _seq, ...d }) => d)),
  };
}

/** A file name extension for a payload download: .json, .xml, .txt for what they say, else .bin. */
function extensionOf(contentType: string): string {
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  if (type === "application/json" || type.endsWith("+json")) return ".json";
  if (type === "application/xml" || type === "text/xml" || type.endsWith("+xml")) return ".xml";
  if (type === "application/x-www-form-urlencoded") return ".txt";
  if (type.startsWith("text/")) return ".txt";
  return ".bin";
}

/** An attempt as REST JSON. */
export function attemptJson(a: AttemptView) {
  return restJson(a);
}

// Request validation. Messages name the field; the services check values (URL, name, limits).

const providerType = z.enum(PROVIDER_TYPES, {
  error: `provider_type must be one of ${PROVIDER_TYPES.join(", ")}`,
});
const text = (field: string) => z.string({ error: (iss) => (iss.input === undefined ? `${field} is required` : `${field} must be a string`) });
const flag = (field: string) => z.boolean({ error: `${field} must be true or false` });
const secretList = z.array(text("each of signature_secrets"), { error: "signature_secrets must be an array of strings" });
const dedupWindow = z.number({ error: "dedup_window_ms must be a number of milliseconds" });

const createEndpointBody = z.strictObject(
  {
    name: text("name"),
    provider_type: providerType,
    // note: one secret exactly as given (never split on spaces or commas); several go in signature_secrets.
    signature_secret: text("signature_secret").optional(),
    signature_secrets: secretList.optional(),
    destination_url: text("destination_url").optional(),
    hub_id: text("hub_id").optional(),
    destinations: z
      .array(
        z.lazy(() => destinationBody),
        { error: "destinations must be an array of destinations" },
      )
      .optional(),
    event_type_header: text("event_type_header").nullable().optional(),
    muted: flag("muted").optional(),
    dedup_window_ms: dedupWindow.optional(),
  },
  { error: (iss) => (iss.code === "invalid_type" ? "body must be a JSON object" : undefined) },
);

const updateEndpointBody = z.strictObject(
  {
    name: text("name").optional(),
    provider_type: providerType.optional(),
    // note: "" or null (or signature_secrets: []) removes the secrets.
    signature_secret: text("signature_secret").nullable().optional(),
    signature_secrets: secretList.optional(),
    destination_url: text("destination_url").optional(),
    event_type_header: text("event_type_header").nullable().optional(),
    muted: flag("muted").optional(),
    dedup_window_ms: dedupWindow.optional(),
  },
  { error: (iss) => (iss.code === "invalid_type" ? "body must be a JSON object" : undefined) },
);

const filterBody = z
  .strictObject(
    {
      event_types: z.array(text("filter.event_types[]"), { error: "filter.event_types must be an array of strings" }).optional(),
      json_path: text("filter.json_path").optional(),
      equals: z.union([z.string(), z.number(), z.boolean(), z.null()], { error: "filter.equals must be a string, number, boolean or null" }).optional(),
    },
    { error: (iss) => (iss.code === "invalid_type" ? "filter must be an object or null" : undefined) },
  )
  .nullable();

const limitOrNull = (field: string) => z.number({ error: `${field} must be a number or null` }).nullable();

const policyBody = z
  .strictObject(
    {
      ordering: z.enum(ORDERINGS, { error: `policy.ordering must be one of ${ORDERINGS.join(", ")}` }).optional(),
      concurrency: z.number({ error: "policy.concurrency must be a number" }).optional(),
      timeout_ms: limitOrNull("policy.timeout_ms").optional(),
      max_attempts: limitOrNull("policy.max_attempts").optional(),
      max_age_ms: limitOrNull("policy.max_age_ms").optional(),
      headers: z
        .array(z.strictObject({ name: text("policy.headers[].name"), value: text("policy.headers[].value") }), {
          error: "policy.headers must be an array of {name, value}",
        })
        .optional(),
      unverified: z.enum(UNVERIFIED_RULES, { error: `policy.unverified must be one of ${UNVERIFIED_RULES.join(", ")}` }).optional(),
    },
    { error: (iss) => (iss.code === "invalid_type" ? "policy must be an object or null" : undefined) },
  )
  .nullable();

const destinationFields = {
  hub_id: text("hub_id").optional(),
  url: text("url"),
  name: text("name").optional(),
  enabled: flag("enabled").optional(),
  muted: flag("muted").optional(),
  filter: filterBody.optional(),
  policy: policyBody.optional(),
};

const destinationBody = z.strictObject(destinationFields, {
  error: (iss) => (iss.code === "invalid_type" ? "a destination must be a JSON object" : undefined),
});

const updateDestinationBody = z.strictObject(
  { ...destinationFields, url: text("url").optional() },
  { error: (iss) => (iss.code === "invalid_type" ? "body must be a JSON object" : undefined) },
);

const hubBody = z.strictObject({ name: text("name") }, { error: (iss) => (iss.code === "invalid_type" ? "body must be a JSON object" : undefined) });

/** A destination body as the service takes it. */
const destinationInput = (b: z.output<typeof updateDestinationBody>) => ({
  hubId: b.hub_id,
  url: b.url!,
  name: b.name,
  enabled: b.enabled,
  muted: b.muted,
  filter: b.filter === undefined ? undefined : b.filter && { eventTypes: b.filter.event_types, jsonPath: b.filter.json_path, equals: b.filter.equals },
  policy:
    b.policy === undefined || b.policy === null
      ? b.policy
      : {
          ordering: b.policy.ordering,
          concurrency: b.policy.concurrency,
          timeoutMs: b.policy.timeout_ms,
          maxAttempts: b.policy.max_attempts,
          maxAgeMs: b.policy.max_age_ms,
          headers: b.policy.headers?.map((h) => [h.name, h.value] as [string, string]),
          unverified: b.policy.unverified,
        },
});

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

const trueOrFalse = (field: string) => z.enum(["true", "false"], { error: `${field} must be true or false` }).transform((v) => v === "true");

const filterFields = {
  endpoint_id: z.string().optional(),
  destination_id: z.string().optional(),
  search: z.string().optional(),
  status: z.string().optional(),
  event_type: z.string().optional(),
  verified: trueOrFalse("verified").optional(),
  superseded: trueOrFalse("superseded").optional(),
  since: time("since").optional(),
  until: time("until").optional(),
};

/** The service's filter from parsed filter fields. */
const filterOf = (q: {
  endpoint_id?: string;
  destination_id?: string;
  search?: string;
  status?: string;
  event_type?: string;
  verified?: boolean;
  superseded?: boolean;
  since?: number;
  until?: number;
}) => ({
  endpointId: q.endpoint_id,
  destinationId: q.destination_id,
  search: q.search,
  status: q.status,
  eventType: q.event_type,
  verified: q.verified,
  superseded: q.superseded,
  since: q.since,
  until: q.until,
});

const bulkBody = z.strictObject(
  {
    action: z.enum(BULK_ACTIONS, { error: `action must be one of ${BULK_ACTIONS.join(", ")}` }),
    webhook_ids: z.array(text("each of webhook_ids"), { error: "webhook_ids must be an array of webhook ids" }).optional(),
    filter: z
      .strictObject(
        { ...filterFields, verified: flag("filter.verified").optional(), superseded: flag("filter.superseded").optional() },
        { error: (iss) => (iss.code === "invalid_type" ? "filter must be an object" : undefined) },
      )
      .optional(),
    allow_pending: flag("allow_pending").optional(),
  },
  { error: (iss) => (iss.code === "invalid_type" ? "body must be a JSON object" : undefined) },
);

/** `limit` and `page_token` of a paged list. */
const pagingFields = {
  limit: z
    .string()
    .regex(/^\d{1,6}$/, { error: "limit must be an integer from 1 to 500" })
    .transform(Number)
    .optional(),
  page_token: z.string().optional(),
};

const listAuditQuery = z.strictObject({ webhook_id: z.string().optional(), endpoint_id: z.string().optional(), ...pagingFields });

const listWebhooksQuery = z.strictObject({ ...filterFields, ...pagingFields, with_total: trueOrFalse("with_total").optional() });

const exportQuery = z.strictObject({ ...filterFields, payload: trueOrFalse("payload").optional() });

const getWebhookQuery = z.strictObject({
  payload_bytes: z
    .string()
    .regex(/^\d{1,8}$/, { error: `payload_bytes must be an integer from 1 to ${MAX_PAYLOAD_PREVIEW_BYTES}` })
    .transform(Number)
    .optional(),
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

/** Webhooks an export reads at a time. */
const EXPORT_PAGE = 500;

/** The audit name of a REST caller (`admin`, `token:<id>`, `github:<login>`). */
const actorName = (caller: { id?: string } | undefined): string => caller?.id ?? "unknown";

const noContent = (res: NodeResponse): void => {
  res.writeHead(204, { "cache-control": "no-store" });
  res.end();
};

/** The /api/ routes. */
export function adminRoutes(deps: AdminDeps): Route[] {
  const { endpoints, webhooks, hubs, destinations, relay, queue, audit, stats } = deps;
  const snapshotsOf = (e: EndpointView) => e.destinations.map((d) => destinationSnapshot(destinations.view(d), deps));
  const withQueue = (e: EndpointView) => endpointJson(e, webhooks.queueStats(e.id)[0], snapshotsOf(e));
  const hubJson = (id: string) => restJson(hubSnapshots({ hubs, destinations, relay }).find((h) => h.id === id) ?? hubs.get(id));
  const credentialJson = (c: ReturnType<HubService["create"]>) => ({ ...c, hub: hubJson(c.hub.id) });

  return [
    {
      method: "GET",
      path: "/api/endpoints",
      handler: (_req, res) => {
        const stats = new Map(webhooks.queueStats().map((q) => [q.endpointId, q]));
        sendJson(res, 200, { endpoints: endpoints.list().map((e) => endpointJson(e, stats.get(e.id), snapshotsOf(e))) });
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
          signatureSecrets: secretsToCreate(body.signature_secret, body.signature_secrets),
          destinationUrl: body.destination_url,
          hubId: body.hub_id,
          destinations: body.destinations?.map(destinationInput),
          eventTypeHeader: body.event_type_header,
          muted: body.muted,
          dedupWindowMs: body.dedup_window_ms,
        });
        sendJson(res, 201, { endpoint: withQueue(e) }, { location: `/api/endpoints/${e.id}` });
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
      // note: muting or unmuting alone is an operator's; any other change needs admin (checked below).
      scope: "operate",
      handler: async (req, res, params, _url, caller) => {
        const body = parse(updateEndpointBody, await readJson(req), "field");
        if (Object.keys(body).length === 0) {
          throw new AppError(
            "invalid_argument",
            "body must set at least one of name, provider_type, signature_secret, signature_secrets, destination_url, event_type_header, muted, dedup_window_ms",
          );
        }
        if (caller && !onlyMutes(body)) requireScope(caller.scope, "admin");
        const e = endpoints.update(params.id!, {
          name: body.name,
          providerType: body.provider_type,
          signatureSecrets: secretsToUpdate(body.signature_secret, body.signature_secrets),
          destinationUrl: body.destination_url,
          eventTypeHeader: body.event_type_header,
          muted: body.muted,
          dedupWindowMs: body.dedup_window_ms,
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
      scope: "operate",
      handler: async (_req, res, params, _url, caller) => {
        sendJson(res, 200, { replayed: await webhooks.replayEndpoint(params.id!, actorName(caller)) });
      },
    },
    {
      method: "GET",
      path: "/api/webhooks",
      handler: (_req, res, _params, url) => {
        const q = parse(listWebhooksQuery, queryObject(url), "query parameter");
        const page = webhooks.list({ ...filterOf(q), limit: q.limit, pageToken: q.page_token, withTotal: q.with_total });
        sendJson(res, 200, {
          webhooks: page.webhooks.map(webhookJson),
          next_page_token: page.nextPageToken,
          ...(page.total === undefined ? {} : { total: page.total }),
        });
      },
    },
    {
      method: "GET",
      path: "/api/webhooks/export",
      handler: async (req, res, _params, url) => {
        const q = parse(exportQuery, queryObject(url), "query parameter");
        const filter = filterOf(q);
        // note: the first page is read before the answer starts, so a bad filter is a 400, not a broken download.
        let page = webhooks.list({ ...filter, limit: EXPORT_PAGE });
        res.writeHead(200, {
          "content-type": "application/x-ndjson; charset=utf-8",
          "content-disposition": `attachment; filename="hookly-webhooks-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}.ndjson"`,
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
        });
        let closed = false;
        req.once("close", () => (closed = true));
        for (;;) {
          for (const w of page.webhooks) {
            if (closed) return;
            const line = q.payload ? webhookDetailJson(webhooks.get(w.id, { previewBytes: MAX_PAYLOAD_PREVIEW_BYTES }).webhook) : webhookJson(w);
            // note: as the client takes it: a large export never sits in memory.
            if (!res.write(`${JSON.stringify(line)}\n`)) await new Promise((r) => res.once("drain", r));
          }
          if (!page.nextPageToken || closed) break;
          page = webhooks.list({ ...filter, limit: EXPORT_PAGE, pageToken: page.nextPageToken });
        }
        res.end();
      },
    },
    {
      method: "GET",
      path: "/api/webhooks/:id",
      handler: (_req, res, params, url) => {
        const q = parse(getWebhookQuery, queryObject(url), "query parameter");
        const { webhook, attempts } = webhooks.get(params.id!, { previewBytes: q.payload_bytes });
        sendJson(res, 200, { webhook: webhookDetailJson(webhook), attempts: attempts.map(attemptJson) });
      },
    },
    {
      method: "GET",
      path: "/api/webhooks/:id/payload",
      handler: async (req, res, params) => {
        const { contentType, size, stream } = webhooks.payload(params.id!);
        // note: the bytes are the sender's: a download (attachment), never rendered here (nosniff,
        // a sandbox CSP), whatever content type they claim.
        res.writeHead(200, {
          "content-type": contentType || "application/octet-stream",
          "content-length": size,
          "content-disposition": `attachment; filename="${params.id}${extensionOf(contentType ?? "")}"`,
          "x-content-type-options": "nosniff",
          "content-security-policy": "sandbox; default-src 'none'",
          "cache-control": "no-store",
        });
        if (req.method === "HEAD") {
          res.end();
          return;
        }
        // note: read in parts as the client takes them (pipeline pauses the file while the socket is full).
        await pipeline(stream(), res).catch((err: unknown) => {
          if (!res.destroyed) res.destroy(err instanceof Error ? err : undefined);
        });
      },
    },
    {
      method: "POST",
      path: "/api/webhooks/:id/replay",
      scope: "operate",
      handler: async (_req, res, params, url, caller) => {
        const q = parse(
          z.strictObject({
            destination_id: z.string().optional(),
            allow_pending: trueOrFalse("allow_pending").optional(),
            resign: trueOrFalse("resign").optional(),
          }),
          queryObject(url),
          "query parameter",
        );
        const w = await webhooks.replay(params.id!, {
          destinationId: q.destination_id,
          allowPending: q.allow_pending,
          resign: q.resign,
          actor: actorName(caller),
        });
        sendJson(res, 201, { webhook: webhookJson(w) }, { location: `/api/webhooks/${w.id}` });
      },
    },
    ...DELIVERY_ACTIONS.map(
      (action): Route => ({
        method: "POST",
        path: `/api/webhooks/:id/${action.replace("_", "-")}`,
        scope: "operate",
        handler: (_req, res, params, url, caller) => {
          const q = parse(z.strictObject({ destination_id: z.string().optional() }), queryObject(url), "query parameter");
          const r = queue.act(params.id!, action, { destinationId: q.destination_id, actor: actorName(caller) });
          sendJson(res, 200, restJson(r));
        },
      }),
    ),
    {
      method: "POST",
      path: "/api/webhooks/bulk",
      scope: "operate",
      handler: async (req, res, _params, _url, caller) => {
        const body = parse(bulkBody, await readJson(req), "field");
        const r = await queue.bulk(
          body.action,
          { webhookIds: body.webhook_ids, filter: body.filter && filterOf(body.filter) },
          { actor: actorName(caller), allowPending: body.allow_pending },
        );
        sendJson(res, 200, restJson(r));
      },
    },
    {
      method: "GET",
      path: "/api/stats",
      handler: (_req, res, _params, url) => {
        const q = parse(z.strictObject({ range: z.string().optional(), endpoint_id: z.string().optional() }), queryObject(url), "query parameter");
        if (q.endpoint_id) endpoints.get(q.endpoint_id);
        const v = stats.view(q.range ?? "24h", q.endpoint_id);
        // note: times as ISO-8601, as everywhere in REST (restJson converts only the …At/since names).
        sendJson(res, 200, {
          ...(restJson(v) as Record<string, RestJson>),
          from: iso(v.from),
          to: iso(v.to),
          points: v.points.map((p) => ({ ...(restJson(p) as Record<string, RestJson>), start: iso(p.start) })),
        });
      },
    },
    {
      method: "GET",
      path: "/api/audit",
      handler: (_req, res, _params, url) => {
        const q = parse(listAuditQuery, queryObject(url), "query parameter");
        const page = audit.list({ webhookId: q.webhook_id, endpointId: q.endpoint_id, limit: q.limit, pageToken: q.page_token });
        sendJson(res, 200, { entries: restJson(page.entries), next_page_token: page.nextPageToken });
      },
    },
    {
      method: "GET",
      path: "/api/status",
      handler: (_req, res) => {
        const s = statusSnapshot(deps);
        const json = restJson(s) as Record<string, RestJson>;
        // note: before any hub has connected, its id and version read null, not "".
        sendJson(res, 200, { ...json, hub: { ...(json.hub as Record<string, RestJson>), hub_id: s.hub.hubId || null, hub_version: s.hub.hubVersion || null } });
      },
    },
    {
      method: "GET",
      path: "/api/hubs",
      handler: (_req, res) => sendJson(res, 200, { hubs: restJson(hubSnapshots({ hubs, destinations, relay })) }),
    },
    {
      method: "POST",
      path: "/api/hubs",
      handler: async (req, res) => {
        const body = parse(hubBody, await readJson(req), "field");
        const c = hubs.create({ name: body.name });
        sendJson(res, 201, credentialJson(c), { location: `/api/hubs/${c.hub.id}` });
      },
    },
    {
      method: "GET",
      path: "/api/hubs/:id",
      handler: (_req, res, params) => {
        hubs.get(params.id!);
        sendJson(res, 200, { hub: hubJson(params.id!) });
      },
    },
    {
      method: "PATCH",
      path: "/api/hubs/:id",
      handler: async (req, res, params) => {
        const body = parse(hubBody, await readJson(req), "field");
        hubs.rename(params.id!, body.name);
        sendJson(res, 200, { hub: hubJson(params.id!) });
      },
    },
    {
      method: "POST",
      path: "/api/hubs/:id/revoke",
      handler: (_req, res, params) => {
        hubs.revoke(params.id!);
        sendJson(res, 200, { hub: hubJson(params.id!) });
      },
    },
    {
      method: "POST",
      path: "/api/hubs/:id/rotate",
      handler: (_req, res, params) => sendJson(res, 200, credentialJson(hubs.rotate(params.id!))),
    },
    {
      method: "POST",
      path: "/api/hubs/:id/retire",
      handler: (_req, res, params) => {
        hubs.retire(params.id!);
        sendJson(res, 200, { hub: hubJson(params.id!) });
      },
    },
    {
      method: "GET",
      path: "/api/endpoints/:id/destinations",
      handler: (_req, res, params) => sendJson(res, 200, { destinations: snapshotsOf(endpoints.get(params.id!)).map(destinationJson) }),
    },
    {
      method: "POST",
      path: "/api/endpoints/:id/destinations",
      handler: async (req, res, params) => {
        const body = parse(destinationBody, await readJson(req), "field");
        const endpoint = endpoints.get(params.id!);
        const d = destinations.create(endpoint.id, destinationInput(body));
        sendJson(res, 201, { destination: destinationJson(destinationSnapshot(d, deps)) }, { location: `/api/destinations/${d.id}` });
      },
    },
    {
      method: "GET",
      path: "/api/destinations/:id",
      handler: (_req, res, params) => sendJson(res, 200, { destination: destinationJson(destinationSnapshot(destinations.get(params.id!), deps)) }),
    },
    {
      method: "PATCH",
      path: "/api/destinations/:id",
      handler: async (req, res, params) => {
        const body = parse(updateDestinationBody, await readJson(req), "field");
        if (Object.keys(body).length === 0)
          throw new AppError("invalid_argument", "body must set at least one of hub_id, url, name, enabled, muted, filter, policy");
        const input = destinationInput(body);
        const d = destinations.update(params.id!, { ...input, url: body.url, filter: body.filter === undefined ? undefined : input.filter });
        sendJson(res, 200, { destination: destinationJson(destinationSnapshot(d, deps)) });
      },
    },
    {
      method: "DELETE",
      path: "/api/destinations/:id",
      handler: (_req, res, params) => {
        destinations.delete(params.id!);
        noContent(res);
      },
    },
  ];
}
