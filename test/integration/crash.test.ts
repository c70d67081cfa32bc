/**
 * Crashes: SIGKILL the hub mid-delivery and the edge mid-ingest (real child
 * processes). Everything that got a 2xx is delivered, in order per endpoint;
 * duplicates happen only for what was in flight and carry the same id.
 */
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import { childHubEnv, createEndpoint, firstArrivals, spawnApp, tryPost, waitForIds, waitUntil, webhookIdOf } from "../harness.js";

const { track, receiver, childEdge } = useCleanups();

describe("crash recovery", () => {
  it("hub SIGKILLed mid-delivery: after restart everything arrives in order, duplicates only for in-flight", async () => {
    const { port } = await childEdge();
    const targets = [await receiver(), await receiver()];
    for (const t of targets) t.respondWith(() => ({ status: 200, delayMs: 5 }));
    const eps = await Promise.all(targets.map((t) => createEndpoint(`http://127.0.0.1:${port}`, t.url)));
    const N = 150;
    const acked: string[][] = [[], []];
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < 2; i++) {
        const id = await tryPost(eps[i]!.ingestUrl, JSON.stringify({ n }));
        expect(id).toBeDefined();
        acked[i]!.push(id!);
      }
    }
    let hub = track(spawnApp("hub", childHubEnv(port, "crash-hub")));
    await waitUntil(() => targets[0]!.requests.length >= 30, 20_000, "deliveries under way");
    await hub.kill("SIGKILL");
    const atKill = targets.map((t) => t.requests.length);
    expect(atKill[0]).toBeLessThan(N);
    hub = track(spawnApp("hub", childHubEnv(port, "crash-hub")));
    for (let i = 0; i < 2; i++) {
      await waitUntil(() => new Set(targets[i]!.requests.map(webhookIdOf)).size >= N, 30_000, `endpoint ${i} complete`);
      expect(firstArrivals(targets[i]!.requests)).toEqual(acked[i]);
      const dups = targets[i]!.requests.length - N;
      // At most what the edge had in flight to the hub when it died (its dispatch window).
      expect(dups).toBeLessThanOrEqual(128);
      for (const r of targets[i]!.requests) expect(acked[i]).toContain(webhookIdOf(r));
    }
  });

  it("edge SIGKILLed mid-ingest: every webhook that got a 2xx is delivered after restart, in order", async () => {
    const { edge, port, db } = await childEdge();
    const targets = [await receiver(), await receiver(), await receiver()];
    const eps = await Promise.all(targets.map((t) => createEndpoint(`http://127.0.0.1:${port}`, t.url)));
    const acked: string[][] = [[], [], []];
    let stop = false;
    const deadline = Date.now() + 15_000;
    // Three concurrent posters (one per endpoint), each sequential so its acks are in arrival order.
    const posters = eps.map(async (ep, i) => {
      for (let n = 0; n < 2_000 && !stop && Date.now() < deadline; n++) {
        const id = await tryPost(ep.ingestUrl, JSON.stringify({ n, pad: "x".repeat(200) }));
        if (id) acked[i]!.push(id);
        else await new Promise((r) => setTimeout(r, 20));
      }
    });
    await waitUntil(() => acked.every((a) => a.length >= 50), 10_000, "ingest under way");
    await edge.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 200));
    await childEdge({ db, port });
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(posters);
    track(spawnApp("hub", childHubEnv(port, "crash-hub")));
    for (let i = 0; i < 3; i++) {
      const want = acked[i]!;
      // Delivery order of the acknowledged ones is their acknowledgement order.
      expect(await waitForIds(targets[i]!, want, 40_000, `endpoint ${i}`)).toEqual(want);
    }
  });
});
