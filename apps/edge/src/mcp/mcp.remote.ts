/**
 * The remote `HooklyApi` (the stdio command): a Connect client of a running
 * edge over HTTP with a bearer token. Kept apart from the in-process one
 * (mcp.api.ts) so the stdio program, bundled on its own, carries nothing of
 * the edge's internals.
 */
import type { Client, Interceptor } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "@hookly/proto/gen/admin_pb";

/** The AdminService methods the MCP tools use. */
export type HooklyApi = Pick<
  Client<typeof AdminService>,
  | "listEndpoints"
  | "getEndpoint"
  | "createEndpoint"
  | "updateEndpoint"
  | "deleteEndpoint"
  | "listWebhooks"
  | "getWebhook"
  | "replayWebhook"
  | "actOnDelivery"
  | "bulkAct"
  | "listAudit"
  | "getStatus"
  | "getStats"
  | "listHubs"
  | "createHub"
  | "updateHub"
  | "revokeHub"
  | "rotateHubCredential"
  | "retireHubCredential"
  | "createDestination"
  | "updateDestination"
  | "deleteDestination"
>;

/** Default deadline of a remote call. */
export const REMOTE_TIMEOUT_MS = 30_000;

/** An API client of a running edge (Connect over HTTP/1.1), authenticated with a bearer token. */
export function remoteHooklyApi(opts: { baseUrl: string; token: string; timeoutMs?: number }): HooklyApi {
  const bearer: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${opts.token}`);
    return next(req);
  };
  const transport = createConnectTransport({
    baseUrl: opts.baseUrl,
    httpVersion: "1.1",
    interceptors: [bearer],
    defaultTimeoutMs: opts.timeoutMs ?? REMOTE_TIMEOUT_MS,
  });
  return createClient(AdminService, transport);
}
