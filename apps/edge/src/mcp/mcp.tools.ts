/**
 * The Hookly MCP tools, shared by both transports (Streamable HTTP at /mcp on
 * the edge, and the stdio command). Each tool validates its input with zod,
 * calls `HooklyApi`, and answers JSON as text content plus the same object as
 * structuredContent. Field names, lower-case enums and ISO-8601 times match the
 * REST API (admin.http.ts).
 *
 * Errors become tool results with `isError: true` and the service's safe
 * message ("endpoint \"ep_x\" not found", "destination_url must use http or
 * https") plus a hint where one helps; never a stack trace.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import {
  DeliveryStatus,
  type Attempt,
  type Delivery,
  type Destination,
  type DestinationFilter,
  type Endpoint,
  type GetStatusResponse,
  type Hub,
  type HubCredential,
  type Webhook,
} from "@hookly/proto/gen/admin_pb";
import { z } from "zod";
import { providerFromProto, providerToProto, statusFromProto, statusToProto } from "../admin/admin.mapping.js";
import type { Logger } from "../logger.js";
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
  "hookly_replay_webhook",
  "hookly_get_status",
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

const iso = (t: Timestamp | undefined): string | null => (t && (t.seconds !== 0n || t.nanos !== 0) ? new Date(timestampMs(t)).toISOString() : null);
const orNull = (s: string): string | null => (s === "" ? null : s);
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function endpointJson(e: Endpoint) {
  return {
    id: e.id,
    name: e.name,
    provider_type: providerFromProto(e.providerType) ?? "unspecified",
    destination_url: e.destinationUrl,
    destinations: e.destinations.map(destinationJson),
    muted: e.muted,
    has_signature_secret: e.hasSignatureSecret,
    ingest_url: e.ingestUrl,
    queue_depth: Number(e.queueDepth),
    last_delivered_at: iso(e.lastDeliveredAt),
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
  };
}

/** A filter as the tools take it; null when it keeps everything. */
function filterJson(f: DestinationFilter | undefined) {
  if (!f || (f.eventTypes.length === 0 && f.jsonPath === "")) return null;
  let equals: unknown = null;
  try {
    equals = f.equalsJson === "" ? null : JSON.parse(f.equalsJson);
  } catch {
    equals = f.equalsJson;
  }
  return { event_types: f.eventTypes, json_path: orNull(f.jsonPath), ...(f.jsonPath ? { equals } : {}) };
}

function destinationJson(d: Destination) {
  return {
    id: d.id,
    hub_id: d.hubId,
    url: d.url,
    name: orNull(d.name),
    enabled: d.enabled,
    muted: d.muted,
    filter: filterJson(d.filter),
    queue_depth: Number(d.queueDepth),
    oldest_pending_at: iso(d.oldestPendingAt),
    last_delivered_at: iso(d.lastDeliveredAt),
    held: d.held,
    held_error: orNull(d.heldError),
  };
}

function hubJson(h: Hub) {
  return {
    id: h.id,
    name: h.name,
    bootstrap: h.bootstrap,
    revoked: h.revoked,
    connected: h.connected,
    since: iso(h.since),
    last_seen_at: iso(h.lastSeenAt),
    version: orNull(h.version),
    queue_depth: Number(h.queueDepth),
    in_flight: Number(h.inFlight),
    destinations: h.destinations,
    previous_credential_valid: h.previousCredentialValid,
    has_credential: h.hasCredential,
  };
}

function credentialJson(c: HubCredential) {
  return { hub: hubJson(c.hub!), secret: c.secret, env: c.env, compose: c.compose, note: SHOWN_ONCE };
}

function webhookJson(w: Webhook) {
  return {
    id: w.id,
    endpoint_id: w.endpointId,
    received_at: iso(w.receivedAt),
    method: w.method,
    query: w.query,
    payload_size: Number(w.payloadSize),
    content_type: orNull(w.contentType),
    source_ip: orNull(w.sourceIp),
    signature_valid: w.signatureValid,
    signature_reason: orNull(w.signatureReason),
    event_type: orNull(w.eventType),
    status: statusFromProto(w.status) ?? "unspecified",
    attempts: w.attempts,
    last_attempt_at: iso(w.lastAttemptAt),
    delivered_at: iso(w.deliveredAt),
    next_attempt_at: iso(w.nextAttemptAt),
    error_message: orNull(w.errorMessage),
    replay_of: orNull(w.replayOf),
  };
}

/** The payload as UTF-8 text when it decodes as such, else base64. */
function payloadJson(payload: Uint8Array): { payload_encoding: "utf8" | "base64"; payload: string } {
  try {
    return { payload_encoding: "utf8", payload: utf8.decode(payload) };
  } catch {
    return { payload_encoding: "base64", payload: Buffer.from(payload).toString("base64") };
  }
}

function deliveryJson(d: Delivery) {
  return {
    destination_id: d.destinationId,
    destination_name: orNull(d.destinationName),
    hub_id: d.hubId,
    url: d.url,
    // note: the enum's own names are the lower-case delivery statuses of REST (DEAD_LETTER → dead_letter).
    status: (DeliveryStatus[d.status] ?? "unspecified").toLowerCase(),
    attempts: d.attempts,
    last_attempt_at: iso(d.lastAttemptAt),
    next_attempt_at: iso(d.nextAttemptAt),
    delivered_at: iso(d.deliveredAt),
    error_message: orNull(d.errorMessage),
  };
}

function attemptJson(a: Attempt) {
  return {
    id: a.id,
    destination_id: orNull(a.destinationId),
    number: a.number,
    started_at: iso(a.startedAt),
    duration_ms: a.durationMs,
    status_code: a.statusCode,
    outcome: a.outcome,
    error: orNull(a.error),
    response_excerpt: orNull(a.responseExcerpt),
  };
}

function statusJson(s: GetStatusResponse) {
  return {
    hub: {
      connected: s.hub?.connected ?? false,
      since: iso(s.hub?.since),
      hub_id: orNull(s.hub?.hubId ?? ""),
      hub_version: orNull(s.hub?.hubVersion ?? ""),
      last_seen_at: iso(s.hub?.lastSeenAt),
      in_flight: Number(s.hub?.inFlight ?? 0n),
    },
    queues: s.queues.map((q) => ({
      endpoint_id: q.endpointId,
      name: q.name,
      depth: Number(q.depth),
      oldest_pending_at: iso(q.oldestPendingAt),
      muted: q.muted,
    })),
    last_24h: {
      received: Number(s.last24h?.received ?? 0n),
      delivered: Number(s.last24h?.delivered ?? 0n),
      failed: Number(s.last24h?.failed ?? 0n),
      dead_letter: Number(s.last24h?.deadLetter ?? 0n),
      pending: Number(s.last24h?.pending ?? 0n),
    },
    oldest_pending_at: iso(s.oldestPendingAt),
    hubs: s.hubs.map(hubJson),
    edge_version: s.edgeVersion,
  };
}

// ── input schemas ─────────────────────────────────────────────────────────────

const PROVIDERS = ["generic", "stripe", "github", "telegram"] as const;
const STATUSES = ["pending", "delivered", "failed", "dead_letter", "partial", "filtered"] as const;

const endpointId = z.string().min(1).describe("The endpoint's id (ep_…), as returned by hookly_list_endpoints.");
const webhookId = z.string().min(1).describe("The webhook's id (wh_…), as returned by hookly_list_webhooks.");
const providerType = z
  .enum(PROVIDERS)
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
    "The provider's signing secret, used to mark webhooks verified or not (unverified ones are still stored and forwarded). Several may be given separated by commas or new lines during a rotation.",
  );
const hubId = z.string().min(1).describe("The hub's id (hub_…), as returned by hookly_list_hubs.");
const destinationId = z
  .string()
  .min(1)
  .describe("The destination's id (dst_…), as listed in its endpoint's destinations (hookly_get_endpoint).");
const hubName = z.string().min(1).max(100).describe('A name for people, e.g. "home NAS" or "garage pi".');
const destinationHub = hubId.describe(
  "The hub that forwards to this destination (hub_…, from hookly_list_hubs). Default: the bootstrap hub, or the only hub.",
);
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

/** A filter in its wire form (equals as JSON text); an empty one keeps everything. */
const filterToWire = (f: z.infer<typeof filter> | null) => ({
  eventTypes: f?.event_types ?? [],
  jsonPath: f?.json_path ?? "",
  equalsJson: f?.equals === undefined ? "" : JSON.stringify(f.equals),
});

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

  /** Runs a tool body; its result becomes JSON text + structuredContent, errors become isError results. */
  const run = async (tool: string, body: () => Promise<Record<string, unknown>>): Promise<CallToolResult> => {
    try {
      const data = await body();
      return { content: [{ type: "text", text: JSON.stringify(data, null, 2) }], structuredContent: data };
    } catch (err) {
      return toolError(err, tool, opts.log);
    }
  };

  const admin = api;
  const readOnly = { readOnlyHint: true, destructiveHint: false, openWorldHint: false } as const;
  const setMuted = async (id: string, muted: boolean) => {
    const { endpoint } = await api.updateEndpoint({ id, muted });
    return { endpoint: endpointJson(endpoint!) };
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
        const { endpoints } = await api.listEndpoints({});
        return { endpoints: endpoints.map(endpointJson) };
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
    ({ endpoint_id }) =>
      run("hookly_get_endpoint", async () => ({ endpoint: endpointJson((await api.getEndpoint({ id: endpoint_id })).endpoint!) })),
  );

  server.registerTool(
    "hookly_create_endpoint",
    {
      title: "Create an endpoint",
      description:
        "Creates an endpoint with one destination and returns it. Give its ingest_url to the provider (Stripe, GitHub, …); webhooks posted there are stored and forwarded by the hub to destination_url. More destinations: hookly_add_destination.",
      inputSchema: {
        name: z.string().min(1).max(200).describe("A name for people, e.g. \"Stripe → Home Assistant\"."),
        provider_type: providerType.default("generic"),
        destination_url: destinationUrl,
        signature_secret: signatureSecret.optional(),
        hub_id: destinationHub.optional(),
        muted: z.boolean().optional().describe("Create it muted: webhooks are stored but not delivered until unmuted. Default false."),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args) =>
      run("hookly_create_endpoint", async () => {
        const { endpoint } = await api.createEndpoint({
          name: args.name,
          providerType: providerToProto(args.provider_type),
          destinationUrl: args.destination_url,
          signatureSecret: args.signature_secret ?? "",
          hubId: args.hub_id ?? "",
          muted: args.muted ?? false,
        });
        return { endpoint: endpointJson(endpoint!) };
      }),
  );

  server.registerTool(
    "hookly_update_endpoint",
    {
      title: "Update an endpoint",
      description:
        "Changes the given fields of an endpoint (the others stay as they are) and returns it. destination_url changes the first destination's URL (hookly_update_destination changes any). An empty signature_secret removes the secret. The ingest_url never changes.",
      inputSchema: {
        endpoint_id: endpointId,
        name: z.string().min(1).max(200).optional().describe("New name."),
        provider_type: providerType.optional(),
        destination_url: destinationUrl.optional(),
        signature_secret: signatureSecret.optional(),
        muted: z.boolean().optional().describe("true holds delivery (webhooks are still stored); false resumes it."),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      run("hookly_update_endpoint", async () => {
        const { endpoint } = await api.updateEndpoint({
          id: args.endpoint_id,
          name: args.name,
          providerType: args.provider_type === undefined ? undefined : providerToProto(args.provider_type),
          destinationUrl: args.destination_url,
          signatureSecret: args.signature_secret,
          muted: args.muted,
        });
        return { endpoint: endpointJson(endpoint!) };
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
      description: `Lists received webhooks, newest first, without their payloads (use hookly_get_webhook for one webhook's payload, headers, deliveries and attempts), each with its event_type. Status, over all its destinations: pending (waiting for delivery or a retry), delivered, failed (a destination answered a permanent 4xx), dead_letter (not delivered in time), partial (delivered to some destinations, failed at others) or filtered (no destination's filter took it). Pages: pass next_page_token back as page_token; it is null on the last page.`,
      inputSchema: {
        endpoint_id: endpointId.optional().describe("Only this endpoint's webhooks (ep_…)."),
        status: z.enum(STATUSES).optional().describe("Only webhooks with this status."),
        event_type: z.string().min(1).max(200).optional().describe("Only webhooks of this exact event type, e.g. invoice.paid, issues.opened, push."),
        verified: z.boolean().optional().describe("true: only webhooks whose provider signature was valid; false: only those whose was not."),
        since: isoTime.optional().describe("Only webhooks received at or after this ISO-8601 time, e.g. 2025-01-31T12:00:00Z."),
        limit: z.number().int().min(1).max(500).optional().describe(`Webhooks per page, 1–500. Default ${DEFAULT_WEBHOOK_LIMIT}.`),
        page_token: z.string().optional().describe("next_page_token of the previous page."),
      },
      annotations: readOnly,
    },
    (args) =>
      run("hookly_list_webhooks", async () => {
        const page = await api.listWebhooks({
          endpointId: args.endpoint_id ?? "",
          status: args.status === undefined ? undefined : statusToProto(args.status),
          eventType: args.event_type ?? "",
          verified: args.verified,
          since: args.since === undefined ? undefined : timestampFromMs(Date.parse(args.since)),
          limit: args.limit ?? DEFAULT_WEBHOOK_LIMIT,
          pageToken: args.page_token ?? "",
        });
        return { webhooks: page.webhooks.map(webhookJson), next_page_token: orNull(page.nextPageToken) };
      }),
  );

  server.registerTool(
    "hookly_get_webhook",
    {
      title: "Get a webhook",
      description:
        "Returns one webhook in full: status, event_type, signature check, the request headers and the whole payload exactly as the provider sent it (payload_encoding utf8: payload is the text; base64: payload is the bytes in base64), its deliveries (one per destination: status, attempts, error_message, next_attempt_at while pending) and every delivery attempt with its destination, status code, error and response excerpt. Nothing is redacted.",
      inputSchema: { webhook_id: webhookId },
      annotations: readOnly,
    },
    ({ webhook_id }) =>
      run("hookly_get_webhook", async () => {
        const { webhook, attempts } = await api.getWebhook({ id: webhook_id });
        return {
          webhook: {
            ...webhookJson(webhook!),
            headers: webhook!.headers.map((h) => ({ name: h.name, value: h.value })),
            ...payloadJson(webhook!.payload),
            deliveries: webhook!.deliveries.map(deliveryJson),
          },
          attempts: attempts.map(attemptJson),
        };
      }),
  );

  server.registerTool(
    "hookly_replay_webhook",
    {
      title: "Replay a webhook",
      description:
        "Delivers a webhook again: stores a copy (a new wh_… id, replay_of = the original) at the end of its destinations' queues, with the same method, headers and payload: to every destination whose filter takes it, or only to destination_id. Works for any status; the original is unchanged. Returns the copy.",
      inputSchema: {
        webhook_id: webhookId,
        destination_id: destinationId
          .optional()
          .describe("Only to this destination of the webhook's endpoint (dst_…, see the webhook's deliveries), whatever its filter says. Default: every destination whose filter takes it."),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ webhook_id, destination_id }) =>
      run("hookly_replay_webhook", async () => ({
        webhook: webhookJson((await api.replayWebhook({ id: webhook_id, destinationId: destination_id ?? "" })).webhook!),
      })),
  );

  server.registerTool(
    "hookly_get_status",
    {
      title: "Get delivery status",
      description:
        "Reports delivery health: whether a hub is connected (hub, a summary), every hub (connected, since, last_seen_at, queue_depth, in_flight, revoked), each endpoint's queue (depth, oldest pending webhook, muted), and counts of webhooks received in the last 24 h by status.",
      annotations: readOnly,
    },
    () => run("hookly_get_status", async () => statusJson(await api.getStatus({}))),
  );

  server.registerTool(
    "hookly_list_hubs",
    {
      title: "List hubs",
      description:
        "Lists every hub (a relay on a home network that dials out to the edge and forwards webhooks to its destinations), the bootstrap hub (credential HOME_HUB_SECRET) first: id, name, connected (and since when), last_seen_at, version, queue_depth (pending deliveries of its destinations), in_flight, revoked, and previous_credential_valid while a rotation is under way.",
      annotations: readOnly,
    },
    () => run("hookly_list_hubs", async () => ({ hubs: (await admin.listHubs({})).hubs.map(hubJson) })),
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
    ({ hub_id, name }) => run("hookly_rename_hub", async () => ({ hub: hubJson((await admin.updateHub({ id: hub_id, name })).hub!) })),
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
    ({ hub_id }) => run("hookly_revoke_hub", async () => ({ hub: hubJson((await admin.revokeHub({ id: hub_id })).hub!) })),
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
    ({ hub_id }) =>
      run("hookly_rotate_hub_credential", async () => credentialJson((await admin.rotateHubCredential({ id: hub_id })).credential!)),
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
    ({ hub_id }) => run("hookly_retire_hub_credential", async () => ({ hub: hubJson((await admin.retireHubCredential({ id: hub_id })).hub!) })),
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
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args) =>
      run("hookly_add_destination", async () => {
        const { destination } = await admin.createDestination({
          endpointId: args.endpoint_id,
          destination: {
            hubId: args.hub_id ?? "",
            url: args.url,
            name: args.name ?? "",
            disabled: args.enabled === false,
            muted: args.muted ?? false,
            filter: args.filter ? filterToWire(args.filter) : undefined,
          },
        });
        return { destination: destinationJson(destination!) };
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
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      run("hookly_update_destination", async () => {
        const { destination } = await admin.updateDestination({
          id: args.destination_id,
          hubId: args.hub_id,
          url: args.url,
          name: args.name,
          enabled: args.enabled,
          muted: args.muted,
          filter: args.filter === undefined ? undefined : filterToWire(args.filter),
        });
        return { destination: destinationJson(destination!) };
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

  return server;
}
