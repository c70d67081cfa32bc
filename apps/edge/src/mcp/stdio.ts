/**
 * The Hookly MCP server over stdio, for desktop assistants that start MCP
 * servers as commands. A separate program from the edge: it calls a running
 * edge's AdminService over HTTP with a bearer token.
 *
 *   HOOKLY_URL=https://hooks.example.com HOOKLY_TOKEN=… node apps/edge/dist/mcp-stdio.js
 *   (built by `npm run build`; from the sources: npm run mcp)
 *
 * Environment (read here only; this program has no other configuration):
 *   HOOKLY_URL    the edge's public URL (BASE_URL), http(s). Required.
 *   HOOKLY_TOKEN  ADMIN_TOKEN or an API token. Required.
 *   LOG_LEVEL     pino level for stderr. Default warn.
 *
 * stdout carries the MCP protocol only; logs go to stderr.
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { pino } from "pino";
import { z } from "zod";
import { remoteHooklyApi } from "./mcp.remote.js";
import { createHooklyMcpServer } from "./mcp.tools.js";
import { EDGE_VERSION } from "../version.js";

/** The stdio command's environment. */
export const stdioEnvSchema = z.object({
  HOOKLY_URL: z.url({
    protocol: /^https?$/,
    error: (iss) =>
      iss.input === undefined
        ? "is required: the edge's URL, e.g. https://hooks.example.com"
        : "must be the edge's http(s) URL, e.g. https://hooks.example.com",
  }), // The edge to call. Required.
  HOOKLY_TOKEN: z.string({ error: "is required: ADMIN_TOKEN or an API token of the edge" }).min(1, "must not be empty"), // Bearer token. Required.
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("warn"), // stderr log level. Default warn.
});

const parsed = stdioEnvSchema.safeParse(Object.fromEntries(Object.entries(process.env).filter(([k, v]) => k in stdioEnvSchema.shape && v !== "")));
if (!parsed.success) {
  const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
  process.stderr.write(`hookly mcp: invalid environment:\n${lines.join("\n")}\n`);
  process.exit(1);
}
const env = parsed.data;

const log = pino({ name: "hookly-mcp", level: env.LOG_LEVEL }, pino.destination(2));

const server = createHooklyMcpServer(remoteHooklyApi({ baseUrl: env.HOOKLY_URL.replace(/\/+$/, ""), token: env.HOOKLY_TOKEN }), {
  version: EDGE_VERSION,
  log,
});

let closing = false;
const shutdown = (why: string): void => {
  if (closing) return;
  closing = true;
  log.info({ why }, "stopping");
  server.close().finally(() => process.exit(0));
};
process.stdin.once("end", () => shutdown("stdin closed"));
process.once("SIGINT", () => shutdown("SIGINT"));
process.once("SIGTERM", () => shutdown("SIGTERM"));

await server.connect(new StdioServerTransport());
log.info({ edge: env.HOOKLY_URL }, "Hookly MCP server on stdio");
