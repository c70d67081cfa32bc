/**
 * The Hookly MCP tools, shared by both transports (Streamable HTTP at /mcp on
 * the edge, and the stdio command). Each tool validates its input with zod,
 * calls `HooklyApi`, and answers JSON as text content plus the same object as
 * structuredContent: the AdminService response as messageJson renders it
 * (admin.mapping.ts: proto field names, lower-case enums, ISO-8601 times, as
 * the REST API), with the few MCP differences in {@link mcpJson}.
 *
 * Errors become tool results with `isError: true` and the service's safe
 * message ("endpoint \"ep_x\" not found", "destination_url must use http or
 * https") plus a hint where one helps; never a stack trace.
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { isMessage } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import {
  CreateDestinationResponseSchema,
  CreateEndpointResponseSchema,
  DestinationFilterSchema,
  GetEndpointResponseSchema,
  GetStatsResponseSchema,
  GetStatusResponseSchema,
  GetWebhookResponseSchema,
  HubCredentialSchema,
  ListEndpointsResponseSchema,
  ListHubsResponseSchema,
  ListWebhooksResponseSchema,
  ActOnDeliveryResponseSchema,
  BulkAction,
  BulkActResponseSchema,
  DeliveryAction,
  ListAuditResponseSchema,
  Ordering,
  UnverifiedRule,
  ReplayWebhookResponseSchema,
  RetireHubCredentialResponseSchema,
  RevokeHubResponseSchema,
  UpdateDestinationResponseSchema,
  UpdateEndpointResponseSchema,
  UpdateHubResponseSchema,
  WebhookSchema,
  type DestinationFilter,
  type HubCredential,
  type Webhook,
} from "@hookly/proto/gen/admin_pb";
import { z } from "zod";
import { messageJson, providerToProto, statusToProto, type RestJson } from "../admin/admin.mapping.js";
import { PROVIDER_TYPES } from "../endpoint/endpoint.service.js";
import type { Logger } from "../logger.js";
import { utf8Head } from "../payload/payload.text.js";
import { WEBHOOK_STATUSES } from "../webhook/webhook.store.js";
import type { HooklyApi } from "./mcp.api.js";

/** Name the server reports to MCP clients. */
export const MCP_SERVER_NAME = "hookly";

/** Every tool, in the order they are listed. */
export const TOOL_NAMES = [
  "hookly_list_endpoints",
  "hookly_get_endpoint",
  "hookly_create_endpoint",
  "hookly_update_endpoint",
  "hookly_delete_endpoint",
  "hookly_mute_endpoint",
  "hookly_unmute_endpoint",
  "hookly_list_webhooks",
  "hookly_get_webhook",
  "hookly_search_webhooks",
  "hookly_replay_webhook",
  "hookly_act_on_delivery",
  "hookly_bulk_act",
  "hookly_list_audit",
  "hookly_get_status",
  "hookly_get_stats",
  "hookly_list_hubs",
  "hookly_create_hub",
  "hookly_rename_hub",
  "hookly_revoke_hub",
  "hookly_rotate_hub_credential",
  "hookly_retire_hub_credential",
  "hookly_add_destination",
  "hookly_update_destination",
  "hookly_remove_destination",
] as const;

/** Page size of hookly_list_webhooks when none is asked for (smaller than the API's 50 to spare the context). */
export const DEFAULT_WEBHOOK_LIMIT = 20;

/** Said with every credential the hub tools return. */
export const SHOWN_ONCE =
  "This credential is shown once: the edge keeps it sealed and cannot show it again. Put env (or compose) on the hub now; if it is lost, hookly_rotate_hub_credential issues a new one.";

// ── output: proto messages → JSON an assistant reads ────────────────────────

/** A filter as the tools take it (`equals` as JSON instead of equals_json text); null when it keeps everything. */
function filterJson(f: DestinationFilter, json: { [key: string]: RestJson }): RestJson {
  if (f.eventTypes.length === 0 && f.jsonPath === "") return null;
  const { equals_json: _equalsJson, ...rest } = json;
  if (!f.jsonPath) return rest;
  let equals: RestJson = null;
  try {
    equals = f.equalsJson === "" ? null : (JSON.parse(f.equalsJson) as RestJson);
  } catch {
    equals = f.equalsJson;
  }
  return { ...rest, equals };
}

/** How much of a payload hookly_get_webhook shows when max_bytes is not given, and the most it shows. */
export const DEFAULT_PAYLOAD_BYTES = 16 * 1024;
export const MAX_PAYLOAD_BYTES_SHOWN = 1024 * 1024;

/**
 * At most `maxBytes` of the payload: as UTF-8 text when it decodes as such, else base64, with
 * how many bytes are shown and, when that is not all of them, a note that says so.
 */
function payloadJson(w: Webhook) {
  const text = utf8Head(w.payload, w.payloadTruncated);
  const shown = text ? text.bytes : w.payload.length;
  return {
    payload_encoding: text ? ("utf8" as const) : ("base64" as const),
    payload: text ? text.text : Buffer.from(w.payload).toString("base64"),
    payload_truncated: w.payloadTruncated,
    payload_shown_bytes: shown,
    ...(w.payloadTruncated && {
      payload_note: `Only the first ${shown} of ${w.payloadSize} bytes are shown. Call hookly_get_webhook again with a larger max_bytes (at most ${MAX_PAYLOAD_BYTES_SHOWN}) to see more.`,
    }),
  };
}

/**
 * A response as the tools answer it: every field derived by messageJson
 * (admin.mapping.ts, the same names, enums and times as REST), but for what
 * the tools show otherwise: filters ({@link filterJson}), and webhooks,
 * whose headers, payload and deliveries only GetWebhook fills
 * (`webhookBody`: shown, the payload as text or base64; else left out).
 */
function mcpJson<D extends DescMessage>(schema: D, message: MessageShape<D>, opts: { webhookBody?: boolean } = {}) {
  return messageJson(schema, message, (m, json) => {
    if (isMessage(m, DestinationFilterSchema)) return filterJson(m, json);
    if (!isMessage(m, WebhookSchema)) return json;
    // note: only the webhook asked for carries its body; the replays listed in it are summaries.
    if (opts.webhookBody && (isMessage(message, GetWebhookResponseSchema) ? message.webhook === m : true)) return { ...json, ...payloadJson(m) };
    const { headers: _headers, payload: _payload, deliveries: _deliveries, replays: _replays, payload_truncated: _t, payload_sha256: _s, ...summary } = json;
    return summary;
  });
}

/** `value` without its null fields, at any depth (arrays keep their positions). */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = withoutNulls(v);
  return out;
}

/** Adds `endpoint_name` next to each `endpoint_id` of a list's rows, so an assistant need not look them up. */
async function withEndpointNames<R extends { endpoint_id?: unknown }>(api: HooklyApi, rows: R[]): Promise<(R & { endpoint_name?: string })[]> {
  if (rows.length === 0) return rows;
  const names = new Map((await api.listEndpoints({})).endpoints.map((e) => [e.id, e.name]));
  return rows.map((r) => (typeof r.endpoint_id === "string" && names.has(r.endpoint_id) ? { ...r, endpoint_name: names.get(r.endpoint_id)! } : r));
}

/** A credential, with the reminder that it is shown once. */
const credentialJson = (c: HubCredential) => ({ ...mcpJson(HubCredentialSchema, c), note: SHOWN_ONCE });

// ── input schemas ─────────────────────────────────────────────────────────────

const endpointId = z.string().min(1).describe("The endpoint's id (ep_…), as returned by hookly_list_endpoints.");
const webhookId = z.string().min(1).describe("The webhook's id (wh_…), as returned by hookly_list_webhooks.");
const providerType = z
  .enum(PROVIDER_TYPES)
  .describe(
    "How the provider signs its webhooks: generic (Standard Webhooks, whsec_ secrets), stripe (Stripe-Signature), github (X-Hub-Signature-256) or telegram (X-Telegram-Bot-Api-Secret-Token).",
  );
const destinationUrl = z
  .string()
  .min(1)
  .describe("Where the home hub forwards each webhook on the LAN: an absolute http(s) URL, e.g. http://192.168.1.20:8123/api/webhook/x.");
const signatureSecret = z
  .string()
  .describe(
    "The provider's signing secret, exactly as the provider shows it (spaces and commas are part of it), used to mark webhooks verified or not (unverified ones are still stored and forwarded). For several at once, use signature_secrets.",
  );
const signatureSecrets = z
  .array(z.string().min(1))
  .max(10)
  .describe(
    "Several signing secrets at once, during a rotation (the old and the new): a webhook verifies with any of them. Each exactly as the provider shows it.",
  );
const dedupWindowMs = z
  .number()
  .int()
  .min(0)
  .max(604_800_000)
  .describe(
    "Opt-in deduplication: a webhook whose provider id (Stripe event id, X-GitHub-Delivery, webhook-id, Telegram update_id) already arrived within this many milliseconds is stored as a duplicate and not delivered. 600000 is 10 minutes; 0 turns it off (the default: every webhook is delivered).",
  );
const hubId = z.string().min(1).describe("The hub's id (hub_…), as returned by hookly_list_hubs.");
const destinationId = z.string().min(1).describe("The destination's id (dst_…), as listed in its endpoint's destinations (hookly_get_endpoint).");
const hubName = z.string().min(1).max(100).describe('A name for people, e.g. "home NAS" or "garage pi".');
const destinationHub = hubId.describe("The hub that forwards to this destination (hub_…, from hookly_list_hubs). Default: the bootstrap hub, or the only hub.");
const filter = z
  .object({
    event_types: z
      .array(z.string().min(1).max(200))
      .max(100)
      .optional()
      .describe("Event types to keep: exact (push, invoice.paid), a dotted prefix (issues keeps issues.opened) or prefix* (invoice.*). Empty: any type."),
    json_path: z
      .string()
      .min(1)
      .optional()
      .describe("A JSON path into the body, e.g. $.data.object.livemode: only webhooks whose value there equals `equals` are kept."),
    equals: z
      .union([z.string(), z.number(), z.boolean(), z.null()])
      .optional()
      .describe('The JSON scalar the value at json_path must equal ("paid", true, 3 or null). Default null.'),
  })
  .describe(
    "What the destination receives; both parts must match. Event types: Stripe's type, GitHub's event(.action), Telegram's update kind, a generic endpoint's type.",
  );
const destinationName = z.string().max(100).describe('A name for people, e.g. "Home Assistant".');
const destinationEnabled = z.boolean().describe("false: new webhooks are not routed to it (what is queued waits). Default true.");
const destinationMuted = z.boolean().describe("true: its queue fills but nothing is sent until unmuted. Default false.");
const policy = z
  .object({
    ordering: z
      .enum(["strict", "concurrent"])
      .optional()
      .describe("strict (default): one after another, never out of order. concurrent: up to `concurrency` at once; a failing one waits alone."),
    concurrency: z.number().int().min(1).max(64).optional().describe("In flight at once with concurrent ordering, 2–64 (default 4)."),
    timeout_ms: z.number().int().min(100).max(600_000).nullable().optional().describe("Each attempt's timeout; null: the hub's default."),
    max_attempts: z.number().int().min(1).max(1_000).nullable().optional().describe("Attempts before giving up (dead letter); null: no limit but the age."),
    max_age_ms: z
      .number()
      .int()
      .min(60_000)
      .max(90 * 86_400_000)
      .nullable()
      .optional()
      .describe("Dead-letter what is pending longer than this, from arrival; null: the edge's default (7 days)."),
    headers: z
      .array(z.object({ name: z.string().min(1), value: z.string() }))
      .max(20)
      .optional()
      .describe(
        "Headers added to each forward (replacing the webhook's own of that name), e.g. the LAN service's Authorization. Replaces the list; values are never shown again (send \"[redacted]\" to keep one).",
      ),
    unverified: z
      .enum(["deliver", "hold", "drop"])
      .optional()
      .describe(
        "Webhooks whose signature did not check out: deliver (default), hold until released (hookly_act_on_delivery release), or drop (stored, never sent).",
      ),
  })
  .describe("How the destination's queue is sent; fields left out keep their value.");

/** A policy in its wire form: unset fields 0 (kept). */
const policyToWire = (p: z.infer<typeof policy>) => ({
  ordering: p.ordering === undefined ? 0 : p.ordering === "strict" ? Ordering.STRICT : Ordering.CONCURRENT,
  concurrency: p.concurrency ?? 0,
  timeoutMs: p.timeout_ms ?? 0,
  maxAttempts: p.max_attempts ?? 0,
  maxAgeMs: BigInt(p.max_age_ms ?? 0),
  headers: p.headers ?? [],
  unverified: p.unverified === undefined ? 0 : { deliver: UnverifiedRule.DELIVER, hold: UnverifiedRule.HOLD, drop: UnverifiedRule.DROP }[p.unverified],
});

/** A filter in its wire form (equals as JSON text); an empty one keeps everything. */
const filterToWire = (f: z.infer<typeof filter> | null) => ({
  eventTypes: f?.event_types ?? [],
  jsonPath: f?.json_path ?? "",
  equalsJson: f?.equals === undefined ? "" : JSON.stringify(f.equals),
});

/** A webhook filter as the tools take it (hookly_list_webhooks, hookly_bulk_act), in its wire form; superseded ones left out unless asked for. */
function filterOfArgs(f: {
  endpoint_id?: string | undefined;
  status?: (typeof WEBHOOK_STATUSES)[number] | undefined;
  event_type?: string | undefined;
  verified?: boolean | undefined;
  since?: string | undefined;
  until?: string | undefined;
  include_superseded?: boolean | undefined;
}) {
  return {
    endpointId: f.endpoint_id ?? "",
    status: f.status === undefined ? undefined : statusToProto(f.status),
    eventType: f.event_type ?? "",
    verified: f.verified,
    since: f.since === undefined ? undefined : timestampFromMs(Date.parse(f.since)),
    until: f.until === undefined ? undefined : timestampFromMs(Date.parse(f.until)),
    superseded: f.include_superseded ? undefined : false,
  };
}

const isoTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d{2}-\d{2}/.test(v), {
  message: "must be an ISO-8601 time such as 2025-01-31T12:00:00Z",
});

// ── errors ────────────────────────────────────────────────────────────────────

/** What an assistant should do after an error of this code, if anything helps. */
function hint(code: Code, tool: string): string {
  if (code === Code.NotFound) {
    if (tool.includes("destination")) {
      return " Use hookly_list_endpoints (or hookly_get_endpoint) to find endpoint and destination ids, hookly_list_hubs for hub ids.";
    }
    if (tool.includes("hub") || tool === "hookly_create_endpoint") return " Use hookly_list_hubs to find hub ids.";
    return tool.includes("webhook") ? " Use hookly_list_webhooks to find webhook ids." : " Use hookly_list_endpoints to find endpoint ids.";
  }
  if (code === Code.Unauthenticated) return " The Hookly edge refused the token: check HOOKLY_TOKEN (ADMIN_TOKEN or an API token).";
  if (code === Code.PermissionDenied) return " The token may not do this.";
  if (code === Code.Unavailable || code === Code.DeadlineExceeded) return " The Hookly edge did not answer; check that it is running and reachable.";
  return "";
}

function toolError(err: unknown, tool: string, log: Logger | undefined): CallToolResult {
  let text: string;
  if (err instanceof ConnectError && err.code !== Code.Internal && err.code !== Code.Unknown) {
    text = `${err.rawMessage}.${hint(err.code, tool)}`.replace(/\.\./g, ".");
  } else {
    log?.error({ err, tool }, "MCP tool failed unexpectedly");
    text = "The Hookly edge failed with an internal error; its logs have the details.";
  }
  return { isError: true, content: [{ type: "text", text }] };
}

// ── server ────────────────────────────────────────────────────────────────────

/**
 * Creates an MCP server with every Hookly tool, calling `api`. A server serves
 * one connection (stdio) or one request (stateless Streamable HTTP).
 */
export function createHooklyMcpServer(api: HooklyApi, opts: { version: string; log?: Logger }): McpServer {
  const server = new McpServer(
    { name: MCP_SERVER_NAME, version: opts.version },
    {
      instructions:
        "Hookly is a self-hosted webhook relay: providers (Stripe, GitHub, Telegram, …) post webhooks to an endpoint's ingest_url on the public edge, which stores them durably; hubs on home networks dial out to the edge and forward them to the endpoint's destinations (1–20 per endpoint, each a URL on one hub with its own ordered queue and an optional event filter). Use these tools to manage endpoints, destinations and hubs, inspect and replay webhooks, and check delivery health.",
    },
  );

  /**
   * Runs a tool body; its result becomes JSON text + structuredContent (text alone with
   * `textOnly`, for results whose bulk should not be sent twice), errors become isError results.
   */
  const run = async (tool: string, body: () => Promise<Record<string, unknown>>, shape: { textOnly?: boolean } = {}): Promise<CallToolResult> => {
    try {
      // note: compact, and without null fields: an assistant's context is the scarce resource.
      const data = withoutNulls(await body()) as Record<string, unknown>;
      const content: CallToolResult["content"] = [{ type: "text", text: JSON.stringify(data) }];
      return shape.textOnly ? { content } : { content, structuredContent: data };
    } catch (err) {
      return toolError(err, tool, opts.log);
    }
  };

  const admin = api;
  const readOnly = { readOnlyHint: true, destructiveHint: false, openWorldHint: false } as const;
  const setMuted = async (id: string, muted: boolean) => {
    return mcpJson(UpdateEndpointResponseSchema, await api.updateEndpoint({ id, muted }));
  };

  server.registerTool(
    "hookly_list_endpoints",
    {
      title: "List endpoints",
      description:
        "Lists every Hookly endpoint, oldest first: id, name, provider_type, destination_url (the first destination's), destinations (each with its hub, url, filter and queue), muted, ingest_url (the URL to give the provider) and queue_depth (webhooks waiting for delivery).",
      annotations: readOnly,
    },
    () =>
      run("hookly_list_endpoints", async () => {
        return mcpJson(ListEndpointsResponseSchema, await api.listEndpoints({}));
      }),
  );

  server.registerTool(
    "hookly_get_endpoint",
    {
      title: "Get an endpoint",
      description:
        "Returns one endpoint with its ingest_url, its destinations (id, hub_id, url, enabled, muted, filter, queue_depth, held when the hub refuses the URL), muted flag, queue_depth and last delivery time.",
      inputSchema: { endpoint_id: endpointId },
      annotations: readOnly,
    },
    ({ endpoint_id }) => run("hookly_get_endpoint", async () => mcpJson(GetEndpointResponseSchema, await api.getEndpoint({ id: endpoint_id }))),
  );

  server.registerTool(
    "hookly_create_endpoint",
    {
      title: "Create an endpoint",
      description:
        "Creates an endpoint with one destination and returns it. Give its ingest_url to the provider (Stripe, GitHub, …); webhooks posted there are stored and forwarded by the hub to destination_url. More destinations: hookly_add_destination.",
      inputSchema: {
        name: z.string().min(1).max(200).describe('A name for people, e.g. "Stripe → Home Assistant".'),
        provider_type: providerType.default("generic"),
        destination_url: destinationUrl,
        signature_secret: signatureSecret.optional(),
        signature_secrets: signatureSecrets.optional(),
        hub_id: destinationHub.optional(),
        muted: z.boolean().optional().describe("Create it muted: webhooks are stored but not delivered until unmuted. Default false."),
        dedup_window_ms: dedupWindowMs.optional(),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args) =>
      run("hookly_create_endpoint", async () => {
        const created = await api.createEndpoint({
          name: args.name,
          providerType: providerToProto(args.provider_type),
          destinationUrl: args.destination_url,
          signatureSecret: args.signature_secret ?? "",
          signatureSecrets: args.signature_secrets ?? [],
          hubId: args.hub_id ?? "",
          muted: args.muted ?? false,
          dedupWindowMs: args.dedup_window_ms ?? 0,
        });
        return mcpJson(CreateEndpointResponseSchema, created);
      }),
  );

  server.registerTool(
    "hookly_update_endpoint",
    {
      title: "Update an endpoint",
      description:
        "Changes the given fields of an endpoint (the others stay as they are) and returns it. destination_url changes the first destination's URL (hookly_update_destination changes any). signature_secret (one) or signature_secrets (a list) replaces the secrets; an empty one or an empty list removes them. The ingest_url never changes.",
      inputSchema: {
        endpoint_id: endpointId,
        name: z.string().min(1).max(200).optional().describe("New name."),
        provider_type: providerType.optional(),
        destination_url: destinationUrl.optional(),
        signature_secret: signatureSecret.optional(),
        signature_secrets: signatureSecrets.optional(),
        muted: z.boolean().optional().describe("true holds delivery (webhooks are still stored); false resumes it."),
        dedup_window_ms: dedupWindowMs.optional(),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      run("hookly_update_endpoint", async () => {
        const updated = await api.updateEndpoint({
          id: args.endpoint_id,
          name: args.name,
          providerType: args.provider_type === undefined ? undefined : providerToProto(args.provider_type),
          destinationUrl: args.destination_url,
          signatureSecret: args.signature_secret,
          signatureSecrets: args.signature_secrets === undefined ? undefined : { secrets: args.signature_secrets },
          muted: args.muted,
          dedupWindowMs: args.dedup_window_ms,
        });
        return mcpJson(UpdateEndpointResponseSchema, updated);
      }),
  );

  server.registerTool(
    "hookly_delete_endpoint",
    {
      title: "Delete an endpoint",
      description:
        "Deletes an endpoint and every webhook it holds, delivered or not. Its ingest_url stops accepting webhooks (providers get 404). This cannot be undone; to pause delivery instead, use hookly_mute_endpoint.",
      inputSchema: { endpoint_id: endpointId },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    ({ endpoint_id }) =>
      run("hookly_delete_endpoint", async () => {
        await api.deleteEndpoint({ id: endpoint_id });
        return { deleted: endpoint_id };
      }),
  );

  server.registerTool(
    "hookly_mute_endpoint",
    {
      title: "Mute an endpoint",
      description:
        "Holds delivery for an endpoint: new webhooks are still accepted and stored, in order, and are delivered once it is unmuted (hookly_unmute_endpoint).",
      inputSchema: { endpoint_id: endpointId },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ endpoint_id }) => run("hookly_mute_endpoint", () => setMuted(endpoint_id, true)),
  );

  server.registerTool(
    "hookly_unmute_endpoint",
    {
      title: "Unmute an endpoint",
      description: "Resumes delivery for a muted endpoint; the webhooks stored meanwhile are delivered in arrival order.",
      inputSchema: { endpoint_id: endpointId },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ endpoint_id }) => run("hookly_unmute_endpoint", () => setMuted(endpoint_id, false)),
  );

  server.registerTool(
    "hookly_list_webhooks",
    {
      title: "List webhooks",
      description: `Lists received webhooks, newest first, without their payloads (use hookly_get_webhook for one webhook's payload, headers, deliveries and attempts), each with its event_type. Status, over all its destinations: pending (waiting for delivery or a retry), delivered, failed (a destination answered a permanent 4xx), dead_letter (not delivered in time), partial (delivered to some destinations, failed at others) or filtered (no destination's filter took it). Pages: pass next_page_token back as page_token; it is absent on the last page (null fields are left out of every answer).`,
      inputSchema: {
        endpoint_id: endpointId.optional().describe("Only this endpoint's webhooks (ep_…)."),
        status: z.enum(WEBHOOK_STATUSES).optional().describe("Only webhooks with this status."),
        event_type: z.string().min(1).max(200).optional().describe("Only webhooks of this exact event type, e.g. invoice.paid, issues.opened, push."),
        verified: z.boolean().optional().describe("true: only webhooks whose provider signature was valid; false: only those whose was not."),
        since: isoTime.optional().describe("Only webhooks received at or after this ISO-8601 time, e.g. 2025-01-31T12:00:00Z."),
        until: isoTime.optional().describe("Only webhooks received before this ISO-8601 time."),
        include_superseded: z
          .boolean()
          .optional()
          .describe(
            "true: also list webhooks whose work a delivered replay already did (superseded_by is set). Default false: they are left out, so failed ones listed still need attention.",
          ),
        limit: z.number().int().min(1).max(500).optional().describe(`Webhooks per page, 1–500. Default ${DEFAULT_WEBHOOK_LIMIT}.`),
        page_token: z.string().optional().describe("next_page_token of the previous page."),
      },
      annotations: readOnly,
    },
    (args) =>
      run("hookly_list_webhooks", async () => {
        const page = await api.listWebhooks({
          ...filterOfArgs(args),
          limit: args.limit ?? DEFAULT_WEBHOOK_LIMIT,
          pageToken: args.page_token ?? "",
        });
        const json = mcpJson(ListWebhooksResponseSchema, page) as { webhooks: { endpoint_id?: unknown }[] };
        return { ...json, webhooks: await withEndpointNames(api, json.webhooks) };
      }),
  );

  server.registerTool(
    "hookly_search_webhooks",
    {
      title: "Search webhooks",
      description:
        'Finds webhooks by words in their payload (its first 64 KiB of text), header values (never secret ones) and event type — an order number, an e-mail, an error message, a delivery id. Every word must match; a word is matched as a phrase (invoice.paid, alice@example.com), and "quoted words" stay together. Newest first, with the total count; filters as hookly_list_webhooks. Webhooks stored in the last second may not be found yet.',
      inputSchema: {
        query: z.string().min(1).max(500).describe('What to find, e.g. "A-1001" or "card declined" alice@example.com.'),
        endpoint_id: endpointId.optional().describe("Only this endpoint's webhooks (ep_…)."),
        status: z.enum(WEBHOOK_STATUSES).optional().describe("Only webhooks with this status."),
        since: isoTime.optional().describe("Only webhooks received at or after this ISO-8601 time."),
        until: isoTime.optional().describe("Only webhooks received before this ISO-8601 time."),
        include_superseded: z.boolean().optional().describe("true: also webhooks a delivered replay superseded. Default false."),
        limit: z.number().int().min(1).max(500).optional().describe(`Webhooks per page, 1–500. Default ${DEFAULT_WEBHOOK_LIMIT}.`),
        page_token: z.string().optional().describe("next_page_token of the previous page."),
      },
      annotations: readOnly,
    },
    (args) =>
      run("hookly_search_webhooks", async () => {
        const page = await api.listWebhooks({
          ...filterOfArgs(args),
          search: args.query,
          withTotal: !args.page_token,
          limit: args.limit ?? DEFAULT_WEBHOOK_LIMIT,
          pageToken: args.page_token ?? "",
        });
        const json = mcpJson(ListWebhooksResponseSchema, page) as { webhooks: { endpoint_id?: unknown }[] };
        return { ...json, webhooks: await withEndpointNames(api, json.webhooks) };
      }),
  );

  server.registerTool(
    "hookly_get_webhook",
    {
      title: "Get a webhook",
      description: `Returns one webhook: status, event_type, signature check, the request headers and its payload exactly as the provider sent it, up to max_bytes (payload_encoding utf8: payload is the text; base64: payload is the bytes in base64; payload_size is the whole size, payload_truncated says whether more exists, and payload_note says how to see it), its deliveries (one per destination: status, attempts, error_message, next_attempt_at while pending) and every delivery attempt with its destination, status code, error and response excerpt. Nothing is redacted.`,
      inputSchema: {
        webhook_id: webhookId,
        max_bytes: z
          .number()
          .int()
          .min(1)
          .max(MAX_PAYLOAD_BYTES_SHOWN)
          .optional()
          .describe(`Most payload bytes to show, 1–${MAX_PAYLOAD_BYTES_SHOWN}. Default ${DEFAULT_PAYLOAD_BYTES}.`),
      },
      annotations: readOnly,
    },
    ({ webhook_id, max_bytes }) =>
      run(
        "hookly_get_webhook",
        async () =>
          mcpJson(GetWebhookResponseSchema, await api.getWebhook({ id: webhook_id, payloadPreviewBytes: max_bytes ?? DEFAULT_PAYLOAD_BYTES }), {
            webhookBody: true,
          }),
        // note: the payload is the bulk of this answer: it goes to the assistant once, as text.
        { textOnly: true },
      ),
  );

  server.registerTool(
    "hookly_replay_webhook",
    {
      title: "Replay a webhook",
      description:
        "Delivers a webhook again: stores a copy (a new wh_… id, replay_of = the original) at the end of its destinations' queues, with the same method, headers and payload: to every destination whose filter takes it, or only to destination_id. The original is marked superseded_by the copy once the copy is delivered. A pending webhook is refused unless allow_pending is true (it would then arrive twice). Returns the copy.",
      inputSchema: {
        webhook_id: webhookId,
        destination_id: destinationId
          .optional()
          .describe(
            "Only to this destination of the webhook's endpoint (dst_…, see the webhook's deliveries), whatever its filter says. Default: every destination whose filter takes it.",
          ),
        allow_pending: z.boolean().optional().describe("true: replay it even though it is still pending (its destinations then get it twice). Default false."),
        resign: z
          .boolean()
          .optional()
          .describe(
            "true: sign the copy afresh with the endpoint's secret and the current time (stripe and generic endpoints), so a receiver that checks the signature's 5-minute tolerance accepts it; the copy says resigned: true. Default false: the provider's original headers.",
          ),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ webhook_id, destination_id, allow_pending, resign }) =>
      run("hookly_replay_webhook", async () =>
        mcpJson(
          ReplayWebhookResponseSchema,
          await api.replayWebhook({ id: webhook_id, destinationId: destination_id ?? "", allowPending: allow_pending, resign }),
        ),
      ),
  );

  server.registerTool(
    "hookly_act_on_delivery",
    {
      title: "Retry now, skip or cancel a delivery",
      description:
        'Unsticks an ordered queue. Each destination delivers its webhooks strictly in order, so a failing webhook at the head holds back every one behind it. retry_now: a delivery waiting for its next retry is tried at once. skip: the head of its queue is settled as failed ("skipped by <you>") and the queue moves on. cancel: a pending delivery behind the head is settled as failed before it is tried. A webhook\'s deliveries (hookly_get_webhook) say which is queue_head. Recorded in the audit trail.',
      inputSchema: {
        webhook_id: webhookId,
        action: z
          .enum(["retry_now", "skip", "cancel", "release"])
          .describe("retry_now, skip (the head of its queue), cancel (a pending one behind the head) or release (a held, unverified one: it joins the tail)."),
        destination_id: destinationId.optional().describe("Which delivery, when the webhook has more than one pending (dst_…)."),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    ({ webhook_id, action, destination_id }) =>
      run("hookly_act_on_delivery", async () => {
        const wire = { retry_now: DeliveryAction.RETRY_NOW, skip: DeliveryAction.SKIP, cancel: DeliveryAction.CANCEL, release: DeliveryAction.RELEASE }[action];
        return mcpJson(ActOnDeliveryResponseSchema, await api.actOnDelivery({ webhookId: webhook_id, action: wire, destinationId: destination_id ?? "" }));
      }),
  );

  server.registerTool(
    "hookly_bulk_act",
    {
      title: "Replay or skip many webhooks",
      description:
        "Acts on many webhooks at once, oldest first: named by webhook_ids, or every webhook a filter selects (at most 10000; a larger selection is refused whole). replay: each failed, dead-lettered or partly delivered webhook is replayed to the destinations that missed it (pending ones only with allow_pending). skip: every pending delivery of each is settled as failed and its queue moves on. Returns matched, acted, ignored (nothing to do for them) and the replays' ids. Recorded in the audit trail.",
      inputSchema: {
        action: z.enum(["replay", "skip", "release"]).describe("replay, skip, or release (held unverified ones join the tail, in arrival order)."),
        webhook_ids: z.array(webhookId).max(10_000).optional().describe("The webhooks (wh_…). Or leave out and give filter."),
        filter: z
          .object({
            endpoint_id: endpointId.optional(),
            status: z.enum(WEBHOOK_STATUSES).optional(),
            event_type: z.string().min(1).max(200).optional(),
            verified: z.boolean().optional(),
            since: isoTime.optional(),
            until: isoTime.optional(),
            include_superseded: z.boolean().optional().describe("Default false: webhooks a delivered replay superseded are left out."),
          })
          .optional()
          .describe("Which webhooks, as hookly_list_webhooks filters them (at least one field)."),
        allow_pending: z.boolean().optional().describe("For replay: also replay pending webhooks (to every destination). Default false."),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    (args) =>
      run("hookly_bulk_act", async () => {
        const f = args.filter;
        const r = await api.bulkAct({
          action: { replay: BulkAction.REPLAY, skip: BulkAction.SKIP, release: BulkAction.RELEASE }[args.action],
          webhookIds: args.webhook_ids ?? [],
          filter: f && filterOfArgs(f),
          allowPending: args.allow_pending,
        });
        return mcpJson(BulkActResponseSchema, r);
      }),
  );

  server.registerTool(
    "hookly_list_audit",
    {
      title: "List the audit trail",
      description:
        "Who did what, newest first: every retry now, skip, cancel and replay, from the UI, the API, MCP, the CLI or Telegram, with the actor (admin, token:<id>, github:<login>, telegram:<chat>), the webhook and destination, and details (a replay's new id). Pages: pass next_page_token back as page_token.",
      inputSchema: {
        webhook_id: webhookId.optional().describe("Only actions on this webhook."),
        endpoint_id: endpointId.optional().describe("Only actions on this endpoint's webhooks."),
        limit: z.number().int().min(1).max(500).optional().describe("Entries per page, 1–500. Default 100."),
        page_token: z.string().optional(),
      },
      annotations: readOnly,
    },
    (args) =>
      run("hookly_list_audit", async () => {
        const page = await api.listAudit({
          webhookId: args.webhook_id ?? "",
          endpointId: args.endpoint_id ?? "",
          limit: args.limit ?? 0,
          pageToken: args.page_token ?? "",
        });
        const json = mcpJson(ListAuditResponseSchema, page) as { entries: { endpoint_id?: unknown }[] };
        return { ...json, entries: await withEndpointNames(api, json.entries) };
      }),
  );

  server.registerTool(
    "hookly_get_stats",
    {
      title: "Get delivery statistics",
      description:
        "How delivery went over the last hour, day or week: webhooks received, delivered and failed, the success rate and end-to-end latency (arrival → delivered, p50 and p95), in all and per endpoint (with its name). with_points adds the series per bucket (1 min, 15 min or 1 h) — long; ask only when the shape over time matters.",
      inputSchema: {
        range: z.enum(["1h", "24h", "7d"]).optional().describe("Default 24h."),
        endpoint_id: endpointId.optional().describe("Only this endpoint (ep_…)."),
        with_points: z.boolean().optional().describe("Also the series per bucket. Default false."),
      },
      annotations: readOnly,
    },
    (args) =>
      run("hookly_get_stats", async () => {
        const json = mcpJson(GetStatsResponseSchema, await api.getStats({ range: args.range ?? "24h", endpointId: args.endpoint_id ?? "" })) as {
          points?: unknown;
          endpoints: { endpoint_id?: unknown; spark?: unknown }[];
        };
        const { points, ...rest } = json;
        const endpoints = (await withEndpointNames(api, json.endpoints)).map(({ spark: _spark, ...e }) => e);
        return { ...rest, endpoints, ...(args.with_points ? { points } : {}) };
      }),
  );

  server.registerTool(
    "hookly_get_status",
    {
      title: "Get delivery status",
      description:
        "Reports delivery health: whether a hub is connected (hub, a summary), every hub (connected, since, last_seen_at, queue_depth, in_flight, revoked), each endpoint's queue (depth, oldest pending webhook, muted), and counts of webhooks received in the last 24 h by status.",
      annotations: readOnly,
    },
    () => run("hookly_get_status", async () => mcpJson(GetStatusResponseSchema, await api.getStatus({}))),
  );

  server.registerTool(
    "hookly_list_hubs",
    {
      title: "List hubs",
      description:
        "Lists every hub (a relay on a home network that dials out to the edge and forwards webhooks to its destinations), the bootstrap hub (credential HOME_HUB_SECRET) first: id, name, connected (and since when), last_seen_at, version, queue_depth (pending deliveries of its destinations), in_flight, revoked, and previous_credential_valid while a rotation is under way.",
      annotations: readOnly,
    },
    () => run("hookly_list_hubs", async () => mcpJson(ListHubsResponseSchema, await admin.listHubs({}))),
  );

  server.registerTool(
    "hookly_create_hub",
    {
      title: "Create a hub",
      description:
        "Registers a new hub and returns its credential, shown this once: secret (HUB_SECRET), env (a .env block with EDGE_URL, HUB_ID and HUB_SECRET for the hub) and compose (a docker compose service). Give it to the person setting up the hub; it cannot be shown again (hookly_rotate_hub_credential issues a new one).",
      inputSchema: { name: hubName },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ name }) => run("hookly_create_hub", async () => credentialJson((await admin.createHub({ name })).credential!)),
  );

  server.registerTool(
    "hookly_rename_hub",
    {
      title: "Rename a hub",
      description: "Changes a hub's name (for people; its id, credential and connection stay as they are) and returns the hub.",
      inputSchema: { hub_id: hubId, name: hubName },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ hub_id, name }) => run("hookly_rename_hub", async () => mcpJson(UpdateHubResponseSchema, await admin.updateHub({ id: hub_id, name }))),
  );

  server.registerTool(
    "hookly_revoke_hub",
    {
      title: "Revoke a hub",
      description:
        "Revokes a hub for good (a lost or compromised device): its stream is closed at once, its credentials are forgotten and every later connection is refused. Its destinations keep their queues, waiting; move them to another hub with hookly_update_destination (hub_id). This cannot be undone; create a new hub instead.",
      inputSchema: { hub_id: hubId },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    ({ hub_id }) => run("hookly_revoke_hub", async () => mcpJson(RevokeHubResponseSchema, await admin.revokeHub({ id: hub_id }))),
  );

  server.registerTool(
    "hookly_rotate_hub_credential",
    {
      title: "Rotate a hub's credential",
      description:
        "Issues a new credential for a hub and returns it, shown this once (secret, env, compose). The previous credential stays valid until hookly_retire_hub_credential, so the hub can be switched without downtime. Not for the bootstrap hub, whose credential is HOME_HUB_SECRET in the edge's environment.",
      inputSchema: { hub_id: hubId },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ hub_id }) => run("hookly_rotate_hub_credential", async () => credentialJson((await admin.rotateHubCredential({ id: hub_id })).credential!)),
  );

  server.registerTool(
    "hookly_retire_hub_credential",
    {
      title: "Retire a hub's previous credential",
      description:
        "Ends a rotation: the credential from before the last hookly_rotate_hub_credential stops being accepted (a hub still using it is refused when it next connects). Returns the hub.",
      inputSchema: { hub_id: hubId },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    ({ hub_id }) =>
      run("hookly_retire_hub_credential", async () => mcpJson(RetireHubCredentialResponseSchema, await admin.retireHubCredential({ id: hub_id }))),
  );

  server.registerTool(
    "hookly_add_destination",
    {
      title: "Add a destination",
      description:
        "Adds a destination to an endpoint (at most 20): a URL on the LAN of one hub, with its own ordered queue and an optional filter. New webhooks of the endpoint go to it from now on; earlier ones are not copied (replay them with hookly_replay_webhook and destination_id). Returns the destination.",
      inputSchema: {
        endpoint_id: endpointId,
        url: destinationUrl,
        hub_id: destinationHub.optional(),
        name: destinationName.optional(),
        filter: filter.optional(),
        enabled: destinationEnabled.optional(),
        muted: destinationMuted.optional(),
        policy: policy.optional(),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args) =>
      run("hookly_add_destination", async () => {
        const created = await admin.createDestination({
          endpointId: args.endpoint_id,
          destination: {
            hubId: args.hub_id ?? "",
            url: args.url,
            name: args.name ?? "",
            disabled: args.enabled === false,
            muted: args.muted ?? false,
            filter: args.filter ? filterToWire(args.filter) : undefined,
            policy: args.policy ? policyToWire(args.policy) : undefined,
          },
        });
        return mcpJson(CreateDestinationResponseSchema, created);
      }),
  );

  server.registerTool(
    "hookly_update_destination",
    {
      title: "Update a destination",
      description:
        "Changes the given fields of a destination (the others stay as they are) and returns it. A new hub_id moves its queue to that hub; a filter replaces the old one (null removes it: everything is received). Filters apply to webhooks that arrive from now on.",
      inputSchema: {
        destination_id: destinationId,
        hub_id: destinationHub.optional(),
        url: destinationUrl.optional(),
        name: destinationName.optional(),
        filter: filter.nullable().optional(),
        enabled: destinationEnabled.optional(),
        muted: destinationMuted.optional(),
        policy: policy.nullable().optional().describe("Changes the policy's given fields; null resets it to the default."),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      run("hookly_update_destination", async () => {
        const updated = await admin.updateDestination({
          id: args.destination_id,
          hubId: args.hub_id,
          url: args.url,
          name: args.name,
          enabled: args.enabled,
          muted: args.muted,
          filter: args.filter === undefined ? undefined : filterToWire(args.filter),
          policy: args.policy ? policyToWire(args.policy) : undefined,
          resetPolicy: args.policy === null,
          clearPolicyHeaders: args.policy?.headers?.length === 0,
          // note: a limit given as null goes back to its default (a zero on the wire would keep it).
          clearPolicyFields: (["timeout_ms", "max_attempts", "max_age_ms"] as const).filter((f) => args.policy?.[f] === null),
        });
        return mcpJson(UpdateDestinationResponseSchema, updated);
      }),
  );

  server.registerTool(
    "hookly_remove_destination",
    {
      title: "Remove a destination",
      description:
        "Deletes a destination and its queue: webhooks still pending for it are not delivered there (the webhooks themselves stay, with their other deliveries). An endpoint keeps at least one destination. This cannot be undone; to pause it instead, use hookly_update_destination with muted or enabled.",
      inputSchema: { destination_id: destinationId },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    ({ destination_id }) =>
      run("hookly_remove_destination", async () => {
        await admin.deleteDestination({ id: destination_id });
        return { removed: destination_id };
      }),
  );

  registerGuides(server, api);
  return server;
}

/** The prompts an assistant's user can pick, by name. */
export const PROMPT_NAMES = ["triage_failed_webhooks", "unstick_queue"] as const;

/**
 * Prompts (a worked procedure the user picks, filled with what they name) and
 * resources (what an assistant can read into its context without a tool
 * call): the status, and one webhook by id.
 */
function registerGuides(server: McpServer, api: HooklyApi): void {
  server.registerPrompt(
    "triage_failed_webhooks",
    {
      title: "Triage failed webhooks",
      description: "Find what failed (and what is still failing), group it by cause, and propose what to replay, retry or skip.",
      argsSchema: {
        endpoint_id: z.string().optional().describe("Only this endpoint (ep_…); default: all."),
        since: z.string().optional().describe("Only webhooks received since this ISO-8601 time; default: the last 24 hours."),
      },
    },
    ({ endpoint_id, since }) => ({
      messages: [
        {
          role: "user",
          content: {
            type: "text",
            text: [
              `Triage the failed webhooks of Hookly${endpoint_id ? ` endpoint ${endpoint_id}` : ""}${since ? ` received since ${since}` : " received in the last 24 hours"}.`,
              "1. hookly_get_status: which hubs are down, which endpoints have a queue, whether storage is degraded (that explains many failures at once).",
              `2. hookly_list_webhooks with status failed, then dead_letter, then partial${endpoint_id ? `, endpoint_id ${endpoint_id}` : ""}${since ? `, since ${since}` : ""} (superseded ones are left out: a delivered replay already did their work).`,
              "3. Group them by endpoint, destination and error (hookly_get_webhook on one of each group shows the attempts and the destination's answer). Say for each group what the cause most likely is: the LAN service rejecting the payload (4xx), down (5xx, timeouts, connection errors), or a hub refusing the destination (not allowed).",
              "4. Check for queues still failing: hookly_get_endpoint shows each destination's `failing` (stuck_since when it is stuck). A stuck head holds back everything behind it.",
              "5. Propose, and wait for my go-ahead before doing any of it: hookly_bulk_act replay for groups whose cause is fixed; hookly_act_on_delivery retry_now for a stuck head whose service is back, or skip for one that can never succeed. Never replay pending webhooks.",
            ].join("\n"),
          },
        },
      ],
    }),
  );
  server.registerPrompt(
    "unstick_queue",
    {
      title: "Unstick a queue",
      description: "A destination's head keeps failing: see why, and retry it now or skip it so the rest goes on.",
      argsSchema: { webhook_id: z.string().describe("The webhook at the head of the stuck queue (wh_…), as the alert names it.") },
    },
    ({ webhook_id }) => ({
      messages: [
        {
          role: "user",
          content: {
            type: "text",
            text: [
              `Webhook ${webhook_id} heads a queue that keeps failing.`,
              "1. hookly_get_webhook: its deliveries (the pending one is queue_head), its attempts and the destination's last answer.",
              "2. Tell me what the destination says and whether a retry can succeed now.",
              "3. Then, with my go-ahead: hookly_act_on_delivery retry_now if it can, or skip if it never will (it is settled as failed and can be replayed later with hookly_replay_webhook).",
            ].join("\n"),
          },
        },
      ],
    }),
  );
  server.registerResource(
    "status",
    "hookly://status",
    {
      title: "Delivery status",
      description: "Hubs, queues, the last 24 hours' counts and storage health, as hookly_get_status returns them.",
      mimeType: "application/json",
    },
    async (uri) => ({
      contents: [
        { uri: uri.href, mimeType: "application/json", text: JSON.stringify(withoutNulls(mcpJson(GetStatusResponseSchema, await api.getStatus({})))) },
      ],
    }),
  );
  server.registerResource(
    "webhook",
    new ResourceTemplate("hookly://webhooks/{id}", { list: undefined }),
    { title: "A webhook", description: "One webhook with its headers, the start of its payload, deliveries and attempts.", mimeType: "application/json" },
    async (uri, { id }) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: "application/json",
          text: JSON.stringify(
            withoutNulls(
              mcpJson(GetWebhookResponseSchema, await api.getWebhook({ id: String(id), payloadPreviewBytes: DEFAULT_PAYLOAD_BYTES }), { webhookBody: true }),
            ),
          ),
        },
      ],
    }),
  );
}
