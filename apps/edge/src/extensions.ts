/**
 * The feature modules an edge runs with, chosen from its configuration. main.ts
 * and the demo use this; tests pick extensions explicitly.
 */
import type { ExtensionFactory } from "./core.js";
import { authExtension } from "./auth/auth.extension.js";
import type { EdgeConfig } from "./config.js";
import { mcpExtension } from "./mcp/mcp.extension.js";
import { metricsExtension } from "./metrics/metrics.extension.js";
import { notifyExtension } from "./notify/notify.extension.js";

/** Extensions for a configured edge: sign-in, MCP and metrics always, Telegram alerts when a bot is configured. */
export function defaultExtensions(config: EdgeConfig): ExtensionFactory[] {
  return [authExtension(), mcpExtension(), ...(config.telegram ? [notifyExtension()] : []), metricsExtension()];
}
