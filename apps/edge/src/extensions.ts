/**
 * The feature modules an edge runs with, chosen from its configuration. main.ts
 * and the demo use this; tests pick extensions explicitly.
 */
import type { ExtensionFactory } from "./core.js";
import { authExtension } from "./auth/auth.extension.js";
import type { EdgeConfig } from "./config.js";
import { mcpExtension } from "./mcp/mcp.extension.js";
import { metricsExtension } from "./metrics/metrics.extension.js";

/**
 * Extensions for a configured edge: sign-in, MCP and metrics always, Telegram
 * alerts when a bot is configured. The Telegram module (and grammy with it) is
 * only loaded then, so an edge without alerts does not carry it in memory.
 */
export async function defaultExtensions(config: EdgeConfig): Promise<ExtensionFactory[]> {
  const notify = config.telegram ? [(await import("./notify/notify.extension.js")).notifyExtension()] : [];
  return [authExtension(), mcpExtension(), ...notify, metricsExtension()];
}
