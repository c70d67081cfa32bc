/**
 * Status tells the truth after an outage (issue #14): a hub that was
 * connected and went away keeps its last-seen time, in REST, Connect and MCP.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describe, expect, it } from "vitest";
import { mcpExtension } from "../../apps/edge/src/mcp/mcp.extension.js";
import { useCleanups } from "../cleanup.js";
import { TEST_SECRETS, adminClient, startHub, waitUntil } from "../harness.js";

const scope = useCleanups();

describe("status after the hub goes", () => {
  it("keeps the hub's last-seen time once it disconnects, everywhere status is shown", async () => {
    const e = await scope.edge({ extensions: [mcpExtension()] });
    const hub = await startHub(e.url);
    await waitUntil(() => e.app.relay.connected(), 10_000, "hub connected");
    const connectedAt = Date.now();
    await hub.stop();
    await waitUntil(() => !e.app.relay.connected(), 10_000, "hub gone");

    const rest = (await e.api("GET", "/api/status")).body;
    expect(rest.hub.connected).toBe(false);
    expect(Date.parse(rest.hub.last_seen_at)).toBeGreaterThanOrEqual(connectedAt - 1_000);
    expect(rest.hubs[0].last_seen_at).toBe(rest.hub.last_seen_at);
    const rpc = await adminClient(e.url).getStatus({});
    expect(rpc.hub?.lastSeenAt).toBeDefined();

    const client = new Client({ name: "t", version: "0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${e.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${TEST_SECRETS.ADMIN_TOKEN}` } } }),
    );
    scope.cleanups.push(() => client.close());
    const r = await client.callTool({ name: "hookly_get_status", arguments: {} });
    const status = r.structuredContent as { hub: { connected: boolean; last_seen_at?: string } };
    expect(status.hub.connected).toBe(false);
    expect(status.hub.last_seen_at).toBe(rest.hub.last_seen_at);
  });
});
