/**
 * MCP over Streamable HTTP at `/mcp` on the edge, for assistants that speak
 * HTTP (the stdio command, stdio.ts, serves the others).
 *
 * Stateless: every POST gets a fresh MCP server and transport
 * (`sessionIdGenerator: undefined`) and is answered with plain JSON, so
 * nothing is kept between requests and any edge replica can answer. GET (a
 * server-to-client SSE stream) and DELETE (ending a session) have no meaning
 * without sessions: they answer 405, which MCP clients expect from a stateless
 * server.
 *
 * Authentication: `Authorization: Bearer <token>`, checked by the API's own
 * authenticators (ADMIN_TOKEN, and API tokens when the auth extension is on).
 * Cookie sessions are not accepted here: /mcp has no CSRF protection and
 * assistants send bearer tokens anyway. No or a wrong token → 401 JSON.
 *
 * The MCP SDK and the tools are loaded on the first request (about 10 MiB of
 * memory an edge nobody queries by MCP does not need).
 *
 * Wiring (main.ts): `createApp(config, { extensions: [mcpExtension()] })`.
 */
import type http from "node:http";
import { createReadStream, existsSync, statSync } from "node:fs";
import { STANDALONE_MCP_FILE } from "../install.js";
import type { ExtensionFactory } from "../core.js";
import { EDGE_VERSION } from "../version.js";
import { AppError } from "../errors.js";
import { readBody, sendError, sendJson, type NodeRequest, type NodeResponse, type Route } from "../server/http.js";
import { inProcessHooklyApi } from "./mcp.api.js";

/** Path of the MCP endpoint. */
/** Where the edge serves the stdio MCP server as one file (scripts/bundle.ts, STANDALONE_MCP). */
export const STANDALONE_MCP_PATH = "/downloads/hookly-mcp.mjs";

/** The protected-resource metadata of /mcp (RFC 9728). */
export const PROTECTED_RESOURCE_PATH = "/.well-known/oauth-protected-resource";

export const MCP_PATH = "/mcp";

/** Largest JSON-RPC request body accepted (tool arguments are small; a signature secret list is the largest). */
export const MCP_MAX_BODY_BYTES = 1024 * 1024;

/** A JSON-RPC error answer (the shape MCP clients read). */
function sendRpcError(res: NodeResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { jsonrpc: "2.0", error: { code, message }, id: null }, headers);
}

/** The MCP SDK's HTTP transport and our tools, imported once, when first needed. */
let mcpModules: Promise<[typeof import("@modelcontextprotocol/sdk/server/streamableHttp.js"), typeof import("./mcp.tools.js")]> | undefined;
function loadMcp() {
  mcpModules ??= Promise.all([import("@modelcontextprotocol/sdk/server/streamableHttp.js"), import("./mcp.tools.js")]);
  return mcpModules;
}

/** Builds the /mcp extension. */
export function mcpExtension(): ExtensionFactory {
  return (core) => {
    const apiFor = inProcessHooklyApi(core);

    const header = (req: NodeRequest) => (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(", ") : v;
    };

    /** The bearer caller, or undefined after answering 401. */
    const authenticate = (req: NodeRequest, res: NodeResponse) => {
      const principal = core.authenticate(header(req));
      if (principal?.via === "bearer") return principal;
      sendJson(
        res,
        401,
        { error: { code: "unauthenticated", message: "send Authorization: Bearer <token> (ADMIN_TOKEN or an API token)" } },
        // note: where an OAuth-capable client learns how to get a token (RFC 9728); a static bearer token works too.
        { "www-authenticate": `Bearer realm="hookly", resource_metadata="${core.config.baseUrl}${PROTECTED_RESOURCE_PATH}"` },
      );
      return undefined;
    };

    const post: Route["handler"] = async (req, res) => {
      const principal = authenticate(req, res);
      if (!principal) return;
      let body: unknown;
      try {
        body = JSON.parse((await readBody(req, MCP_MAX_BODY_BYTES)).toString("utf8"));
      } catch (err) {
        if (err instanceof AppError) return sendRpcError(res, 413, -32600, err.message);
        return sendRpcError(res, 400, -32700, "Parse error: the body is not valid JSON");
      }
      const [{ StreamableHTTPServerTransport }, { createHooklyMcpServer }] = await loadMcp();
      const server = createHooklyMcpServer(apiFor(principal), { version: EDGE_VERSION, log: core.log });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on("close", () => {
        void transport.close();
        void server.close();
      });
      try {
        await server.connect(transport);
        // note: Node's HTTP/2 compatibility request/response mimic the HTTP/1 ones closely enough for the SDK's adapter.
        await transport.handleRequest(req as http.IncomingMessage, res as http.ServerResponse, body);
      } catch (err) {
        sendError(res, err, core.log, { path: MCP_PATH });
      }
    };

    const notAllowed: Route["handler"] = (req, res) => {
      if (!authenticate(req, res)) return;
      sendRpcError(res, 405, -32000, "Method not allowed: this MCP server is stateless; send requests with POST", { allow: "POST" });
    };

    // note: public (it is code, the same for everyone; a token is still needed to use it), so a desktop
    // assistant's user can fetch it with curl onto a machine that has only node.
    const download: Route["handler"] = (req, res) => {
      if (!existsSync(STANDALONE_MCP_FILE)) {
        sendJson(res, 404, { error: { code: "not_found", message: "the stdio MCP server is not built here: run npm run build" } });
        return;
      }
      res.writeHead(200, {
        "content-type": "text/javascript; charset=utf-8",
        "content-length": statSync(STANDALONE_MCP_FILE).size,
        "content-disposition": 'attachment; filename="hookly-mcp.mjs"',
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
      });
      if (req.method === "HEAD") {
        res.end();
        return;
      }
      createReadStream(STANDALONE_MCP_FILE).pipe(res as http.ServerResponse);
    };

    return {
      routes: [
        { method: "POST", path: MCP_PATH, handler: post },
        { method: "GET", path: MCP_PATH, handler: notAllowed },
        { method: "DELETE", path: MCP_PATH, handler: notAllowed },
        { method: "GET", path: STANDALONE_MCP_PATH, handler: download },
        // note: RFC 9728, at the root and at the resource's own path (clients try both).
        ...[PROTECTED_RESOURCE_PATH, `${PROTECTED_RESOURCE_PATH}${MCP_PATH}`].map(
          (path): Route => ({
            method: "GET",
            path,
            handler: (_req, res) =>
              sendJson(res, 200, {
                resource: `${core.config.baseUrl}${MCP_PATH}`,
                authorization_servers: [core.config.baseUrl],
                scopes_supported: ["read", "operate", "admin"],
                bearer_methods_supported: ["header"],
                resource_name: "Hookly",
              }),
          }),
        ),
      ],
    };
  };
}
