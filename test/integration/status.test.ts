/**
 * Status tells the truth after an outage (issue #14): a hub that was
 * connected and went away keeps its last-seen time, in REST, Connect and MCP.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describe, expect, it } from "vitest";
import { mcpExtension } from "../../apps/edge/src/mcp/mcp.extension.js";
import { useCleanups } from "../cleanup.js";
import { TEST_SECRETS, adminClient, createEndpoint, postWebhook, startHub, waitUntil } from "../harness.js";

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

describe("delivery charts", () => {
  it("count received, delivered and failed per bucket with end-to-end latency, over REST, Connect and MCP", async () => {
    const e = await scope.edge({ extensions: [mcpExtension()] });
    const t = await scope.receiver();
    t.respondWith((r) => (r.body.toString() === '"fail"' ? 400 : 200));
    const ep = await createEndpoint(e.url, t.url, { name: "charted" });
    await scope.hub(e.url);
    for (const body of ['"a"', '"b"', '"fail"']) await postWebhook(ep.ingestUrl, body);
    await waitUntil(
      async () => {
        const s = (await e.api("GET", "/api/stats?range=1h")).body;
        return s.totals.delivered === 2 && s.totals.failed === 1 ? s : undefined;
      },
      10_000,
      "the deliveries counted",
    );
    const s = (await e.api("GET", `/api/stats?range=1h&endpoint_id=${ep.id}`)).body;
    expect(s).toMatchObject({ range: "1h", bucket_ms: 60_000, totals: { received: 3, delivered: 2, failed: 1 } });
    expect(s.points).toHaveLength(60);
    // Times as ISO-8601, as everywhere in REST.
    expect(s.from).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(s.points[0].start).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(s.totals.success_rate).toBeCloseTo(2 / 3);
    expect(s.totals.p50_ms).toBeGreaterThanOrEqual(0);
    expect(s.endpoints[0]).toMatchObject({ endpoint_id: ep.id, received: 3 });
    expect((await e.api("GET", "/api/stats?range=1y")).body.error.message).toMatch(/range must be one of/);
    const rpc = await adminClient(e.url).getStats({ range: "24h" });
    expect(rpc.totals?.received).toBe(3n);

    const client = new Client({ name: "t", version: "0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${e.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${TEST_SECRETS.ADMIN_TOKEN}` } } }),
    );
    scope.cleanups.push(() => client.close());
    const r = await client.callTool({ name: "hookly_get_stats", arguments: { range: "1h" } });
    const data = r.structuredContent as { totals: { received: number }; endpoints: { endpoint_name: string }[]; points?: unknown };
    expect(data.totals.received).toBe(3);
    expect(data.endpoints[0]!.endpoint_name).toBe("charted");
    expect(data.points).toBeUndefined();
  });
});
