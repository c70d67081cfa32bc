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
import type { Attempt, Endpoint, GetStatusResponse, Webhook } from "@hookly/proto/gen/admin_pb";
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
] as const;

/** Page size of hookly_list_webhooks when none is asked for (smaller than the API's 50 to spare the context). */
export const DEFAULT_WEBHOOK_LIMIT = 20;

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
    muted: e.muted,
    has_signature_secret: e.hasSignatureSecret,
    ingest_url: e.ingestUrl,
    queue_depth: Number(e.queueDepth),
    last_delivered_at: iso(e.lastDeliveredAt),
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
  };
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

function attemptJson(a: Attempt) {
  return {
    id: a.id,
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
    edge_version: s.edgeVersion,
  };
}

// ── input schemas ─────────────────────────────────────────────────────────────

const PROVIDERS = ["generic", "stripe", "github", "telegram"] as const;
const STATUSES = ["pending", "delivered", "failed", "dead_letter"] as const;

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
const isoTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d{2}-\d{2}/.test(v), {
  message: "must be an ISO-8601 time such as 2025-01-31T12:00:00Z",
});

// ── errors ────────────────────────────────────────────────────────────────────

/** What an assistant should do after an error of this code, if anything helps. */
function hint(code: Code, tool: string): string {
  if (code === Code.NotFound) {
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
        "Hookly is a self-hosted webhook relay: providers (Stripe, GitHub, Telegram, …) post webhooks to an endpoint's ingest_url on the public edge, which stores them durably; a hub on the home network forwards them, in order per endpoint, to the endpoint's destination_url. Use these tools to manage endpoints, inspect and replay webhooks, and check delivery health.",
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
        "Lists every Hookly endpoint, oldest first: id, name, provider_type, destination_url, muted, ingest_url (the URL to give the provider) and queue_depth (webhooks waiting for delivery).",
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
      description: "Returns one endpoint with its ingest_url, destination_url, muted flag, queue_depth and last delivery time.",
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
        "Creates an endpoint and returns it. Give its ingest_url to the provider (Stripe, GitHub, …); webhooks posted there are stored and forwarded by the home hub to destination_url.",
      inputSchema: {
        name: z.string().min(1).max(200).describe("A name for people, e.g. \"Stripe → Home Assistant\"."),
        provider_type: providerType.default("generic"),
        destination_url: destinationUrl,
        signature_secret: signatureSecret.optional(),
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
        "Changes the given fields of an endpoint (the others stay as they are) and returns it. An empty signature_secret removes the secret. The ingest_url never changes.",
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
      description: `Lists received webhooks, newest first, without their payloads (use hookly_get_webhook for one webhook's payload, headers and attempts). Status is pending (waiting for delivery or a retry), delivered, failed (the destination answered a permanent 4xx) or dead_letter (not delivered in time). Pages: pass next_page_token back as page_token; it is null on the last page.`,
      inputSchema: {
        endpoint_id: endpointId.optional().describe("Only this endpoint's webhooks (ep_…)."),
        status: z.enum(STATUSES).optional().describe("Only webhooks with this status."),
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
        "Returns one webhook in full: status, signature check, the request headers and the whole payload exactly as the provider sent it (payload_encoding utf8: payload is the text; base64: payload is the bytes in base64), and every delivery attempt with its status code, error and response excerpt. Nothing is redacted.",
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
        "Delivers a webhook again: stores a copy (a new wh_… id, replay_of = the original) at the end of its endpoint's queue, with the same method, headers and payload. Works for any status; the original is unchanged. Returns the copy.",
      inputSchema: { webhook_id: webhookId },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ webhook_id }) =>
      run("hookly_replay_webhook", async () => ({ webhook: webhookJson((await api.replayWebhook({ id: webhook_id })).webhook!) })),
  );

  server.registerTool(
    "hookly_get_status",
    {
      title: "Get delivery status",
      description:
        "Reports delivery health: whether the home hub is connected (and since when), each endpoint's queue (depth, oldest pending webhook, muted), and counts of webhooks received in the last 24 h by status.",
      annotations: readOnly,
    },
    () => run("hookly_get_status", async () => statusJson(await api.getStatus({}))),
  );

  return server;
}
