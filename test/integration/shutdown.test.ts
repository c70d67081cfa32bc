/**
 * Graceful shutdown with real child processes: SIGTERM to the edge under load
 * (restarted on the same database), SIGTERM to the hub mid-forward. Nothing
 * that got a 2xx is lost or reordered, nothing without one appears, and both
 * exit 0.
 */
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import { childHubEnv, createEndpoint, firstArrivals, spawnApp, tryPost, waitForIds, waitUntil, webhookIdOf } from "../harness.js";

const { track, receiver, childEdge } = useCleanups();

describe("graceful shutdown", () => {
  it("edge SIGTERM mid-load: exits 0; after a restart every 2xx'd webhook is delivered once, in order", async () => {
    const { edge, port, db } = await childEdge();
    const targets = [await receiver(), await receiver(), await receiver()];
    for (const t of targets) t.respondWith(() => ({ status: 200, delayMs: 2 }));
    const eps = await Promise.all(targets.map((t) => createEndpoint(`http://127.0.0.1:${port}`, t.url)));
    const hub = track(spawnApp("hub", childHubEnv(port, "shutdown-hub")));
    await hub.waitForLog(/connected to edge/);

    const PER_ENDPOINT = 100;
    const acked: string[][] = [[], [], []];
    const refused = [0, 0, 0];
    const deadline = Date.now() + 20_000;
    // One sequential poster per endpoint, so its acknowledgements are in arrival order.
    const posters = eps.map(async (ep, i) => {
      for (let n = 0; acked[i]!.length < PER_ENDPOINT && Date.now() < deadline; n++) {
        const id = await tryPost(ep.ingestUrl, JSON.stringify({ n, pad: "x".repeat(300) }));
        if (id) acked[i]!.push(id);
        else {
          refused[i]! += 1;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    });

    await waitUntil(() => acked.every((a) => a.length >= 30) && targets.every((t) => t.requests.length >= 10), 10_000, "ingest and delivery under way");
    const signalledAt = Date.now();
    const code = await edge.kill("SIGTERM");
    const tookMs = Date.now() - signalledAt;
    expect(code, edge.output().slice(-2000)).toBe(0);
    expect(edge.output()).toMatch(/shut down cleanly/);
    expect(tookMs).toBeLessThan(8_000);

    await childEdge({ db, port });
    await Promise.all(posters);
    expect(acked.map((a) => a.length)).toEqual([PER_ENDPOINT, PER_ENDPOINT, PER_ENDPOINT]);
    expect(
      refused.reduce((a, b) => a + b),
      "the edge was really down for a while",
    ).toBeGreaterThan(0);

    for (let i = 0; i < 3; i++) {
      const want = acked[i]!;
      await waitForIds(targets[i]!, want, 30_000, `endpoint ${i}`);
      expect(firstArrivals(targets[i]!.requests)).toEqual(want);
      // Nothing without a 2xx was stored: every 2xx came after its commit and every commit got its 2xx.
      for (const r of targets[i]!.requests) expect(want).toContain(webhookIdOf(r));
      // The edge waited for the hub's results before closing the stream: at most a few repeats.
      expect(targets[i]!.requests.length - want.length).toBeLessThanOrEqual(3);
    }
  });

  it("hub SIGTERM mid-forward: the running forward finishes and is recorded; the hub exits 0", async () => {
    const { edge, port } = await childEdge();
    const target = await receiver();
    target.respondWith((r) => ({ status: 200, delayMs: JSON.parse(r.body.toString()).n === 0 ? 1_500 : 0 }));
    const ep = await createEndpoint(`http://127.0.0.1:${port}`, target.url);
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push((await tryPost(ep.ingestUrl, JSON.stringify({ n })))!);
    expect(ids.every(Boolean)).toBe(true);

    let hub = track(spawnApp("hub", childHubEnv(port, "shutdown-hub")));
    await target.waitFor(1, { timeoutMs: 10_000 });
    const signalledAt = Date.now();
    expect(await hub.kill("SIGTERM"), hub.output().slice(-2000)).toBe(0);
    const tookMs = Date.now() - signalledAt;
    expect(tookMs, "waited for the slow forward").toBeGreaterThan(1_000);
    expect(tookMs, "but not for the grace limit").toBeLessThan(5_000);
    expect(target.requests.map(webhookIdOf)).toEqual([ids[0]]);

    hub = track(spawnApp("hub", childHubEnv(port, "shutdown-hub")));
    await target.waitFor(3, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    // The first webhook's result reached the edge before the stream closed: it is not forwarded again.
    expect(target.requests.map(webhookIdOf)).toEqual(ids);
    expect(await hub.kill("SIGTERM")).toBe(0);
    expect(await edge.kill("SIGTERM")).toBe(0);
  });
});
