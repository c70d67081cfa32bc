/**
 * The feature modules an edge runs with, chosen from its configuration. main.ts
 * and the demo use this; tests pick extensions explicitly.
 */
import type { ExtensionFactory } from "./app.js";
import { authExtension } from "./auth/auth.extension.js";
import type { EdgeConfig } from "./config.js";

/** Extensions for a configured edge. */
export function defaultExtensions(_config: EdgeConfig): ExtensionFactory[] {
  return [authExtension()];
}
