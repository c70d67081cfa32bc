/**
 * A half-open connection (packets silently dropped, no FIN/RST) is noticed
 * by both sides within the dead-peer timeout; the hub re-dials and the edge
 * re-sends what was not acknowledged. The connection deadlines that close
 * idle and unfinished connections leave the hub's stream alone.
 */
import http2 from "node:http2";
import net from "node:net";
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

  it("keeps the hub's stream through the deadlines that close idle and unfinished connections", async () => {
    // Deadlines of 300 ms instead of 10 s and 30 s; the hub's heartbeats come every 10 s.
    const e = await scope.edge({ deadlines: { sniffTimeoutMs: 300, h2IdleSessionMs: 300 } });
    const t = await scope.receiver();
    const ep = await createEndpoint(e.url, t.url);
    const h = await scope.hub(e.url);
    await waitUntil(() => h.state().connected, 10_000, "hub connected");
    const { port } = new URL(e.url);
    // Each deadline fires on connections beside the hub's, round after round, for longer than an idle session
    // lives once closed (the deadline, then GOAWAY and a second's grace): the hub's stream must see none of it.
    const connectedAt = Date.now();
    for (let round = 0; round < 40 && Date.now() - connectedAt < 3_000; round++) {
      // A socket that never says which protocol it speaks.
      const mute = net.connect(Number(port), "127.0.0.1");
      mute.on("error", () => undefined);
      // An HTTP/2 session that sends its preface and opens no stream.
      const idle = http2.connect(e.url);
      idle.on("error", () => undefined);
      await Promise.all([new Promise((r) => mute.once("close", r)), new Promise((r) => idle.once("close", r))]);
    }
    expect(h.state().connected).toBe(true);
    expect(h.state().reconnects, "the hub's stream was never closed").toBe(0);
    const id = await postWebhook(ep.ingestUrl, "{}");
    const [got] = await t.waitFor(1);
    expect(got!.headers["x-hookly-webhook-id"]).toBe(id);
  });
});
