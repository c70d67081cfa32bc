/**
 * Logs that cannot be written (#15): a real edge and a real hub run with
 * stdout on /dev/full, where every write fails with ENOSPC, and log at debug.
 * Both keep working: the edge answers and takes webhooks, the hub delivers
 * them, neither process exits, and SIGTERM still ends both cleanly.
 */
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import {
  adminClient,
  childEdgeEnv,
  childHubEnv,
  createEndpoint,
  freePort,
  postWebhook,
  spawnApp,
  tempDir,
  waitUntil,
  webhookIdOf,
  type Spawned,
} from "../harness.js";

const { track, receiver, cleanups } = useCleanups();

/** Status of GET `url`, or undefined when nothing answers within a second. */
async function statusOf(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

const running = (p: Spawned) => p.child.exitCode === null && p.child.signalCode === null;

/** `promise`, or a rejection naming `what` after `ms`. */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What the edge and both processes say, for a failure message: the hubs as the edge sees them, the webhooks' states, stderr. */
async function diagnose(edgeUrl: string, edge: Spawned, hub: Spawned): Promise<string> {
  const client = adminClient(edgeUrl);
  const parts: string[] = [];
  try {
    const { hubs } = await client.listHubs({});
    parts.push(
      `hubs: ${JSON.stringify(hubs.map((h) => ({ id: h.id, connected: h.connected, inFlight: String(h.inFlight), queueDepth: String(h.queueDepth) })))}`,
    );
    const { webhooks } = await client.listWebhooks({ limit: 50 });
    parts.push(`webhooks: ${JSON.stringify(webhooks.map((w) => ({ id: w.id, status: w.status, attempts: w.attempts, error: w.errorMessage })))}`);
  } catch (err) {
    parts.push(`the edge's admin API: ${String(err)}`);
  }
  for (const [name, p] of [
    ["edge", edge],
    ["hub", hub],
  ] as const) {
    parts.push(`${name} (exit ${p.child.exitCode ?? p.child.signalCode ?? "none"}) stderr: ${p.output().slice(-2000)}`);
  }
  return parts.join("\n");
}

/** An edge and a connected hub, both logging at debug to /dev/full, and an endpoint to a recording target. */
async function startOnDevFull() {
  const { dir, remove } = tempDir();
  cleanups.push(async () => remove());
  const full = openSync("/dev/full", "w");
  cleanups.push(async () => closeSync(full));
  const port = await freePort();
  const edgeUrl = `http://127.0.0.1:${port}`;
  const hubHealthPort = await freePort();

  const edge = track(spawnApp("edge", childEdgeEnv(join(dir, "hookly.db"), port, { LOG_LEVEL: "debug" }), { stdout: full }));
  await waitUntil(async () => (await statusOf(`${edgeUrl}/healthz`)) === 200 || !running(edge), 30_000, "the edge's /healthz");
  expect(running(edge), edge.output()).toBe(true);

  const target = await receiver();
  const ep = await createEndpoint(edgeUrl, target.url);
  const hub = track(
    spawnApp("hub", childHubEnv(port, "logs-hub", { LOG_LEVEL: "debug", HUB_HEALTH_PORT: String(hubHealthPort), HUB_HEALTH_HOST: "127.0.0.1" }), {
      stdout: full,
    }),
  );
  // /readyz answers 200 only while the hub's stream to the edge is up.
  await waitUntil(async () => (await statusOf(`http://127.0.0.1:${hubHealthPort}/readyz`)) === 200 || !running(hub), 30_000, "the hub connected (/readyz)");
  expect(running(hub), hub.output()).toBe(true);
  // …and the edge has the hub's stream too, so the deliveries below have somewhere to go.
  await waitUntil(async () => (await adminClient(edgeUrl).listHubs({})).hubs.some((h) => h.connected), 30_000, "the edge to see the hub connected");
  return { edge, hub, edgeUrl, ep, target };
}

describe("stdout refuses every write", () => {
  it("the edge and the hub keep relaying webhooks and neither exits", async () => {
    const { edge, hub, edgeUrl, ep, target } = await startOnDevFull();
    const ids: string[] = [];
    for (let n = 0; n < 20; n++) ids.push(await postWebhook(ep.ingestUrl, JSON.stringify({ n })));
    const got = await target.waitFor(ids.length, { timeoutMs: 20_000 }).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await diagnose(edgeUrl, edge, hub)}`);
    });
    expect(got.map(webhookIdOf)).toEqual(ids);
    expect(JSON.parse(got[0]!.body.toString())).toEqual({ n: 0 });

    expect(await statusOf(`${edgeUrl}/healthz`)).toBe(200);
    expect(running(edge), edge.output()).toBe(true);
    expect(running(hub), hub.output()).toBe(true);
  });

  it("SIGTERM still shuts both down cleanly (exit 0)", async () => {
    const { edge, hub } = await startOnDevFull();
    expect(await within(20_000, hub.kill("SIGTERM"), "the hub to exit"), hub.output()).toBe(0);
    expect(await within(30_000, edge.kill("SIGTERM"), "the edge to exit"), edge.output()).toBe(0);
  });
});
