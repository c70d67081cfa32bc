/**
 * A half-open connection (packets silently dropped, no FIN/RST) is noticed
 * by both sides within the dead-peer timeout; the hub re-dials and the edge
 * re-sends what was not acknowledged.
 */
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import { startBlackholeProxy } from "../fakes/blackhole-proxy.js";
import { createEndpoint, postWebhook, waitUntil } from "../harness.js";

const scope = useCleanups();

describe("liveness", () => {
  it("notices a silently dead connection on both sides and recovers", async () => {
    const timing = { HUB_HEARTBEAT_MS: "300", HUB_DEAD_AFTER_MS: "1500" };
    const edge = await scope.edge({ env: timing });
    const target = await scope.receiver();
    const proxy = await startBlackholeProxy(edge.port);
    scope.cleanups.push(() => proxy.close());
    const ep = await createEndpoint(edge.url, target.url);
    const hub = await scope.hub(`http://127.0.0.1:${proxy.port}`, { ...timing, HUB_RECONNECT_MAX_MS: "300" });
    await waitUntil(() => hub.state().connected && edge.app.relay.connected(), 5_000, "connected");
    await postWebhook(ep.ingestUrl, JSON.stringify({ n: 0 }));
    await target.waitFor(1);

    const frozenAt = Date.now();
    proxy.freeze();
    await postWebhook(ep.ingestUrl, JSON.stringify({ n: 1 }));
    await waitUntil(() => !edge.app.relay.connected(), 10_000, "edge to notice the dead hub");
    const edgeNoticed = Date.now() - frozenAt;
    await waitUntil(() => hub.state().streamId === undefined || !hub.state().connected, 10_000, "hub to notice");
    // Within the dead-peer timeout plus one heartbeat, with room for a loaded machine.
    expect(edgeNoticed).toBeLessThan(1500 + 300 + 2_000);
    // The hub re-dials through the (now relaying) proxy and the pending webhook arrives.
    await waitUntil(() => hub.state().connected, 10_000, "reconnect");
    const nOf = (r: { body: Buffer }) => (JSON.parse(r.body.toString()) as { n: number }).n;
    await target.waitFor(1, { timeoutMs: 10_000, filter: (r) => nOf(r) === 1 });
    // Webhook 0 may arrive twice (its result may have been lost in the freeze), never out of order.
    const seen = target.requests.map(nOf);
    expect(seen.at(-1)).toBe(1);
    expect(seen.filter((n) => n === 1)).toHaveLength(1);
    expect(hub.state().reconnects).toBeGreaterThanOrEqual(1);
  });
});
