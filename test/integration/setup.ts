/**
 * Global set-up of the integration tests: builds the JavaScript that
 * production runs (scripts/bundle.ts, about a second), so every test that
 * starts an edge, a hub, the CLI or the stdio MCP server as a process runs
 * exactly what ships, built from the sources under test — never a stale build.
 */
import { bundleApps } from "../../scripts/bundle.js";

export default async function setup(): Promise<void> {
  await bundleApps();
}
