/**
 * The hub's session against a scripted edge (test/fakes/edge.ts) over an
 * in-memory transport: what the hub takes in is bounded by HUB_MAX_BODY_BYTES
 * whatever a compromised edge announces or sends, and a refused delivery
 * keeps its lane's order (it and everything behind it in its epoch are
 * answered SKIPPED, for the edge to re-send).
 */
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { DeliveryOutcome } from "@hookly/proto/gen/stream_pb";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeEdgeSession, StreamService, fakeEdgeService, resultsOf } from "../../../test/fakes/edge.js";
import { loadHubConfig } from "./config.js";
import type { ForwardRequest, ForwardResult, Forwarder } from "./forward/forward.js";
import { runSession } from "./session.js";

const MiB = 1024 * 1024;
const SECRET = "s".repeat(40);
const { SKIPPED, RESPONSE } = DeliveryOutcome;

const ok: ForwardResult = { outcome: "response", statusCode: 200, durationMs: 1, error: "", retryAfterSeconds: 0, startedAtMs: 0, responseExcerpt: "" };

/** A forwarder whose forwards wait until the test releases them; it reads every body in full, as the real one does. */
function heldForwarder() {
  const running: { req: ForwardRequest; bytes: number; release: () => void }[] = [];
  const forwarded: string[] = [];
  const forwarder: Forwarder = {
    async forward(req) {
      let bytes = 0;
      if (req.body instanceof Uint8Array) bytes = req.body.length;
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const entry = { req, bytes, release };
      running.push(entry);
      if (!(req.body instanceof Uint8Array)) {
        for await (const part of req.body) entry.bytes += part.length;
      }
      await released;
      running.splice(running.indexOf(entry), 1);
      forwarded.push(req.webhookId);
      return ok;
    },
    close() {},
  };
  return { forwarder, running, forwarded };
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** Runs a hub session (HUB_MAX_BODY_BYTES = `maxBodyBytes`) against the fake edge; resolves with the edge's side once the hub is connected. */
async function connect(maxBodyBytes: number, forwarder: Forwarder): Promise<{ edge: FakeEdgeSession; refused: () => number }> {
  let edge!: FakeEdgeSession;
  let connected!: () => void;
  const ready = new Promise<void>((r) => (connected = r));
  const transport = createRouterTransport(({ service }) =>
    service(
      StreamService,
      fakeEdgeService(SECRET, (s) => (edge = s)),
    ),
  );
  const config = loadHubConfig({ EDGE_URL: "http://edge.invalid", HUB_SECRET: SECRET, HUB_ID: "hub_test", HUB_MAX_BODY_BYTES: String(maxBodyBytes) });
  const abort = new AbortController();
  let refused = 0;
  const session = runSession({
    client: createClient(StreamService, transport),
    config,
    forwarder,
    log: pino({ level: "silent" }),
    instanceId: "test",
    signal: abort.signal,
    hooks: { onConnected: () => connected(), onRefused: () => (refused += 1) },
  }).catch(() => undefined);
  stops.push(async () => {
    abort.abort(new Error("test over"));
    await session;
  });
  await ready;
  return { edge, refused: () => refused };
}

/** A delivery's start, whole body attached when it fits in one frame. */
function start(n: number, o: { lane: string; epoch?: number; size: number; first?: number }) {
  return {
    deliveryId: `dl_${n}`,
    webhookId: `wh_${n}`,
    endpointId: "ep_1",
    destinationId: o.lane,
    epoch: BigInt(o.epoch ?? 1),
    attempt: 1,
    method: "POST",
    url: `http://127.0.0.1:9/${o.lane}`,
    headers: [],
    bodySize: BigInt(o.size),
    body: new Uint8Array(o.first ?? o.size),
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe("the hub's memory against a compromised edge", () => {
  it("takes in no more small bodies than HUB_MAX_BODY_BYTES across lanes; the rest are answered SKIPPED", async () => {
    const { forwarder, running } = heldForwarder();
    const { edge, refused } = await connect(8 * MiB, forwarder);
    // 100 lanes with a 1 MiB body each: a real edge bounds bytes per destination only, so this is legal for it too.
    for (let i = 0; i < 100; i++) edge.start(start(i, { lane: `dst_${i}`, size: MiB }));
    await edge.until((f) => resultsOf(f).length >= 92);
    await settle();
    expect(running.length, "forwards holding a body").toBe(8);
    expect(running.reduce((n, r) => n + r.bytes, 0)).toBeLessThanOrEqual(8 * MiB);
    const results = resultsOf(edge.frames);
    expect(results).toHaveLength(92);
    expect(results.every((r) => r.outcome === SKIPPED)).toBe(true);
    expect(refused()).toBe(92);

    // Room again: the re-sent deliveries are taken in and forwarded.
    for (const r of running.splice(0)) r.release();
    await edge.until((f) => resultsOf(f).length >= 100);
    edge.start(start(200, { lane: "dst_50", epoch: 2, size: MiB }));
    await edge.until(() => running.length === 1);
    running[0]!.release();
    await edge.until((f) => resultsOf(f).some((r) => r.webhookId === "wh_200" && r.outcome === RESPONSE));
  });

  it("keeps a lane's order when a body is refused: nothing after it in its epoch is forwarded, even once there is room", async () => {
    const { forwarder, running, forwarded } = heldForwarder();
    const { edge } = await connect(2 * MiB, forwarder);
    edge.start(start(1, { lane: "a", size: MiB }));
    edge.start(start(2, { lane: "a", size: MiB }));
    edge.start(start(3, { lane: "a", size: 10 })); // no room: refused
    await edge.until(() => running.length === 1);
    running[0]!.release(); // wh_1 done: room for 1 MiB again
    await edge.until(() => running.length === 1 && running[0]!.req.webhookId === "wh_2");
    edge.start(start(4, { lane: "a", size: 10 })); // room now, but wh_3 was refused in this epoch
    running[0]!.release();
    await edge.until((f) => resultsOf(f).length >= 4);
    expect(resultsOf(edge.frames).map((r) => `${r.webhookId}:${r.outcome === SKIPPED ? "skipped" : "sent"}`)).toEqual([
      "wh_1:sent",
      "wh_2:sent",
      "wh_3:skipped",
      "wh_4:skipped",
    ]);
    // The edge restarts the lane from wh_3 under a new epoch.
    edge.start(start(3, { lane: "a", epoch: 2, size: 10 }));
    edge.start(start(4, { lane: "a", epoch: 2, size: 10 }));
    for (const id of ["wh_3", "wh_4"]) {
      await edge.until(() => running[0]?.req.webhookId === id);
      running[0]!.release();
    }
    await edge.until((f) => resultsOf(f).length >= 6);
    expect(forwarded).toEqual(["wh_1", "wh_2", "wh_3", "wh_4"]);
  });

  it("refuses a large body sent past its window before its turn, and holds none of it", async () => {
    const { forwarder, running, forwarded } = heldForwarder();
    const { edge, refused } = await connect(16 * MiB, forwarder); // each body's window: 2 MiB
    edge.start(start(1, { lane: "a", size: 10 }));
    await edge.until(() => running.length === 1);
    // The next body of the lane, 12 MiB, all of it at once: an edge keeping to the window would stop at 2 MiB.
    const part = 256 * 1024;
    edge.start(start(2, { lane: "a", size: 12 * MiB, first: part }));
    for (let offset = part; offset < 12 * MiB; offset += part) edge.chunk("dl_2", offset, new Uint8Array(part));
    edge.start(start(3, { lane: "a", size: 10 }));
    await edge.until(() => refused() >= 1);
    running[0]!.release();
    await edge.until((f) => resultsOf(f).length >= 3);
    expect(resultsOf(edge.frames).map((r) => r.outcome)).toEqual([RESPONSE, SKIPPED, SKIPPED]);
    expect(forwarded).toEqual(["wh_1"]);
  });

  it("forwards a large body whose edge keeps to the window, granting it more as the forward reads", async () => {
    const { forwarder, running, forwarded } = heldForwarder();
    const { edge } = await connect(16 * MiB, forwarder);
    const window = Number(edge.headers.get("hookly-body-window"));
    expect(window).toBe(2 * MiB);
    const size = 6 * MiB;
    const part = 256 * 1024;
    edge.start(start(1, { lane: "a", size, first: part }));
    let sent = part;
    let granted = window;
    while (sent < size) {
      while (sent < Math.min(granted, size)) {
        edge.chunk("dl_1", sent, new Uint8Array(part));
        sent += part;
      }
      if (sent >= size) break;
      await edge.until((f) => f.some((x) => x.kind.case === "credit" && Number(x.kind.value.until) > granted));
      granted = Math.max(...edge.frames.flatMap((x) => (x.kind.case === "credit" ? [Number(x.kind.value.until)] : [])));
    }
    await edge.until(() => running.length === 1 && running[0]!.bytes === size);
    running[0]!.release();
    await edge.until((f) => resultsOf(f).length >= 1);
    expect(forwarded).toEqual(["wh_1"]);
  });
});
