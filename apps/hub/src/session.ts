/**
 * One stream to the edge: authenticated open, sealed messages both ways,
 * deliveries reassembled from chunks and handed to per-endpoint lanes,
 * results sent back, heartbeats both ways. Returns when the stream ends.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import {
  type DeliveryStart,
  EdgeFrameSchema,
  HubFrameSchema,
  type HubFrame,
  StreamRequestSchema,
  type StreamRequest,
  type StreamService,
} from "@hookly/proto/gen/stream_pb";
import { DeliveryResultSchema, DeliveryOutcome } from "@hookly/proto/gen/stream_pb";
import { EnvelopeOpener, EnvelopeSealer, OPEN_HEADERS, deriveSessionKey, signStreamOpen } from "@hookly/proto/stream-auth";
import type { Logger } from "pino";
import type { HubConfig } from "./config.js";
import { BodyBudget, STREAM_BODY_BYTES, type StreamedBody } from "./body.js";
import type { Forwarder, ForwardResult } from "./forward/forward.js";
import { Lane, OUTCOME_TO_WIRE, type LaneJob } from "./lane.js";

/** The hub's version, sent to the edge. */
export const HUB_VERSION = "0.2.0";

/** An async iterable fed by push(); the request side of the bidi stream. */
class Outbound implements AsyncIterable<StreamRequest> {
  // note: hand-written, not connect's createWritableIterable: push() must not wait (lanes and heartbeats send
  // synchronously), and fire-and-forget writes to it are O(n²) — each of its reads wakes every write still
  // pending, so a backlog of 10 000 frames cost about 4 s of CPU (measured, connect 2.1.2); writes after close
  // reject where this drops them. Awaiting each write in turn would need a promise chain, i.e. this queue again.
  private readonly items: StreamRequest[] = [];
  private wake: (() => void) | undefined;
  private done = false;

  push(item: StreamRequest): void {
    if (this.done) return;
    this.items.push(item);
    this.wake?.();
  }

  end(): void {
    this.done = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamRequest> {
    for (;;) {
      const item = this.items.shift();
      if (item) {
        yield item;
        continue;
      }
      if (this.done) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}

/** A delivery whose body is still arriving. */
interface Assembly {
  start: DeliveryStart;
  parts: Uint8Array[];
  received: number;
  size: number;
  /** Refused or taken in while stopping: its parts are counted, not kept. */
  drop: boolean;
  resolve: (body: Uint8Array) => void;
  reject: (err: Error) => void;
}

/** Session events for status and health. */
export interface SessionHooks {
  /** The welcome checked out: the hub is connected. */
  onConnected(streamId: string): void;
  /** Bytes of streamed bodies held after a part arrived; `paused`: reading now waits for them to drain. */
  onBodyBytes?(held: number, paused: boolean): void;
  /** A credit for more of a body went to the edge. */
  onCredit?(): void;
  /** A delivery was refused for want of room (HUB_MAX_BODY_BYTES); the edge re-sends it. */
  onRefused?(): void;
}

/** Thrown for a protocol violation by the edge. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/**
 * Runs one stream until it ends. Rejects with the cause (ConnectError for
 * transport or auth failures, EnvelopeError/ProtocolError for bad messages).
 */
export async function runSession(deps: {
  client: Client<typeof StreamService>;
  config: HubConfig;
  forwarder: Forwarder;
  log: Logger;
  /** Random per hub process (see OPEN_HEADERS.instance). */
  instanceId: string;
  signal: AbortSignal;
  /**
   * Aborted when the hub is stopping: take no new deliveries, let the running
   * forwards finish and send their results, then half-close so the edge ends
   * the stream. `signal` still cuts everything (the caller's time limit).
   */
  drain?: AbortSignal;
  hooks: SessionHooks;
}): Promise<void> {
  const { client, config, forwarder, log, hooks } = deps;
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(deps.signal.reason);
  deps.signal.addEventListener("abort", onOuterAbort);
  const outbound = new Outbound();
  const aborted = new Promise<void>((resolve) => abort.signal.addEventListener("abort", () => resolve(), { once: true }));
  const lanes = new Map<string, Lane>();
  const assemblies = new Map<string, Assembly>();
  // note: bodies over STREAM_BODY_BYTES are forwarded as they arrive (body.ts), within one budget of held bytes.
  const budget = new BodyBudget(config.maxBodyBytes);
  const streams = new Map<string, StreamedBody>();
  /** Set while reading waits for held body bytes to drain (the edge's silence is then ours). */
  let readingPaused = false;
  let sealer: EnvelopeSealer | undefined;
  let lastArrival = Date.now();
  let heartbeat: NodeJS.Timeout | undefined;
  let draining = false;

  const send = (frame: HubFrame): void => {
    if (!sealer) return;
    outbound.push(create(StreamRequestSchema, sealer.seal(toBinary(HubFrameSchema, frame))));
  };

  const report = (job: LaneJob, result: ForwardResult | "skipped"): void => {
    const value =
      result === "skipped"
        ? create(DeliveryResultSchema, { deliveryId: job.deliveryId, webhookId: job.webhookId, outcome: DeliveryOutcome.SKIPPED })
        : create(DeliveryResultSchema, {
            deliveryId: job.deliveryId,
            webhookId: job.webhookId,
            outcome: OUTCOME_TO_WIRE[result.outcome],
            statusCode: result.statusCode,
            durationMs: Math.max(0, Math.round(result.durationMs)),
            error: result.error,
            retryAfterSeconds: result.retryAfterSeconds,
            startedAtMs: BigInt(Math.round(result.startedAtMs)),
            responseExcerpt: result.responseExcerpt,
          });
    if (result !== "skipped") {
      log.debug({ webhookId: job.webhookId, outcome: result.outcome, status: result.statusCode, ms: result.durationMs }, "forwarded");
    }
    send(create(HubFrameSchema, { kind: { case: "result", value } }));
  };

  const laneOf = (endpointId: string): Lane => {
    let lane = lanes.get(endpointId);
    if (!lane) {
      lane = new Lane(report);
      lanes.set(endpointId, lane);
    }
    return lane;
  };

  const addPart = (a: Assembly, data: Uint8Array): void => {
    a.received += data.length;
    if (!a.drop && data.length > 0) a.parts.push(data);
  };

  const complete = (a: Assembly): void => {
    assemblies.delete(a.start.deliveryId);
    a.resolve(a.drop ? new Uint8Array() : a.parts.length === 1 ? a.parts[0]! : Buffer.concat(a.parts, a.size));
  };

  const onStart = (start: DeliveryStart): void => {
    const size = Number(start.bodySize);
    if (assemblies.has(start.deliveryId) || streams.has(start.deliveryId) || start.body.length > size) {
      throw new ProtocolError(`bad delivery start ${start.deliveryId}`);
    }
    const lane = draining ? undefined : laneOf(start.destinationId || start.endpointId);
    // note: a refused body is taken in (its chunks must not look like a protocol error) but never held: its job is answered
    // SKIPPED in order and blocks the epoch, so nothing behind it in the lane overtakes it (lane.ts).
    let refused = lane?.refusing(start.epoch) ?? false;
    let body: Promise<Uint8Array | StreamedBody>;
    let a: Assembly | undefined;
    let streamed: StreamedBody | undefined;
    let done: (() => void) | undefined;
    if (size > STREAM_BODY_BYTES) {
      refused ||= !draining && !budget.admitsStream(size);
      streamed = budget.open(size, start.body, (until) => {
        send(create(HubFrameSchema, { kind: { case: "credit", value: { deliveryId: start.deliveryId, until: BigInt(until) } } }));
        hooks.onCredit?.();
      });
      if (!streamed.complete) streams.set(start.deliveryId, streamed);
      body = Promise.resolve(streamed);
      const s = streamed;
      done = () => s.discard();
      if (draining || refused) s.discard();
    } else {
      refused ||= !draining && !budget.reserve(size);
      const reservation = draining || refused ? 0 : size;
      let resolve!: (b: Uint8Array) => void;
      let reject!: (e: Error) => void;
      body = new Promise<Uint8Array>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      body.catch(() => undefined);
      a = { start, parts: [], received: 0, size, drop: reservation === 0, resolve, reject };
      assemblies.set(start.deliveryId, a);
      addPart(a, start.body);
      let released = false;
      done = () => {
        if (released) return;
        released = true;
        budget.release(reservation);
      };
    }
    if (refused) {
      lane?.refuse(start.epoch);
      hooks.onRefused?.();
      log.debug({ webhookId: start.webhookId, size, committed: budget.committed, max: budget.maxBytes }, "no room for the body: refused");
    }
    if (!lane) return;
    const s = streamed;
    lane.push({
      deliveryId: start.deliveryId,
      webhookId: start.webhookId,
      epoch: start.epoch,
      body,
      refused: refused ? () => true : s && (() => s.refused),
      done,
      concurrency: start.concurrency || 1,
      run: (b) =>
        forwarder.forward(
          {
            webhookId: start.webhookId,
            endpointId: start.endpointId,
            destinationId: start.destinationId,
            eventType: start.eventType,
            attempt: start.attempt,
            method: start.method,
            url: start.url,
            headers: start.headers,
            body: b,
            signatureValid: start.signatureValid,
            timeoutMs: start.timeoutMs || config.forwardTimeoutMs,
          },
          abort.signal,
        ),
    });
    if (a && a.received === size) complete(a);
  };

  const onChunk = (deliveryId: string, offset: bigint, data: Uint8Array): void => {
    const streamed = streams.get(deliveryId);
    if (streamed) {
      if (Number(offset) !== streamed.received || streamed.received + data.length > streamed.size) {
        throw new ProtocolError(`unexpected chunk for ${deliveryId} at ${offset}`);
      }
      const wasRefused = streamed.refused;
      streamed.push(data);
      if (streamed.complete) streams.delete(deliveryId);
      hooks.onBodyBytes?.(budget.held, budget.paused());
      if (streamed.refused && !wasRefused) {
        hooks.onRefused?.();
        log.warn({ deliveryId }, "the edge sent more of a body than its window before its turn: refused");
      }
      return;
    }
    const a = assemblies.get(deliveryId);
    if (!a || Number(offset) !== a.received || a.received + data.length > a.size) {
      throw new ProtocolError(`unexpected chunk for ${deliveryId} at ${offset}`);
    }
    addPart(a, data);
    if (a.received === a.size) complete(a);
  };

  const onDrain = (): void => {
    if (draining) return;
    draining = true;
    if (!sealer) {
      abort.abort(new Error("hub stopping"));
      return;
    }
    const running = [...lanes.values()].filter((l) => l.size > 0).length;
    log.info({ running }, "stopping: finishing the forwards under way");
    void Promise.all([...lanes.values()].map((l) => l.finish())).then(() => outbound.end());
  };
  deps.drain?.addEventListener("abort", onDrain);

  const headers: Record<string, string> = {
    ...signStreamOpen(config.secret, config.hubId, Date.now()),
    "hookly-hub-version": HUB_VERSION,
    [OPEN_HEADERS.instance]: deps.instanceId,
    [OPEN_HEADERS.bodyWindow]: String(budget.window),
    [OPEN_HEADERS.allowlist]: config.allowedDestinations ? "set" : "none",
  };
  try {
    const responses = client.stream(outbound, { headers, signal: abort.signal });
    let opener: EnvelopeOpener | undefined;
    for await (const res of responses) {
      lastArrival = Date.now();
      if (!opener) {
        const frame = fromBinary(EdgeFrameSchema, res.frame);
        if (frame.kind.case !== "welcome") throw new ProtocolError("first message from the edge was not a welcome");
        const w = frame.kind.value;
        const key = deriveSessionKey(config.secret, headers["hookly-nonce"]!, w.edgeNonce, w.streamId);
        opener = new EnvelopeOpener(key, "edge-to-hub", w.streamId);
        opener.open(res);
        sealer = new EnvelopeSealer(key, "hub-to-edge", w.streamId);
        const interval = Math.min(w.heartbeatIntervalMs || config.heartbeatMs, config.heartbeatMs);
        heartbeat = setInterval(() => {
          if (!readingPaused && Date.now() - lastArrival > config.deadAfterMs) {
            log.warn({ silentMs: Date.now() - lastArrival }, "edge stopped answering; dropping the stream");
            abort.abort(new ProtocolError("edge stopped answering"));
            return;
          }
          send(create(HubFrameSchema, { kind: { case: "heartbeat", value: { sentAtMs: BigInt(Date.now()) } } }));
        }, interval);
        hooks.onConnected(w.streamId);
        continue;
      }
      const frame = fromBinary(EdgeFrameSchema, opener.open(res));
      switch (frame.kind.case) {
        case "start":
          onStart(frame.kind.value);
          break;
        case "chunk":
          onChunk(frame.kind.value.deliveryId, frame.kind.value.offset, frame.kind.value.data);
          break;
        case "heartbeat":
          break;
        default:
          throw new ProtocolError(`unexpected ${frame.kind.case ?? "empty"} message`);
      }
      if (budget.paused()) {
        // note: HTTP/2 flow control holds the edge back meanwhile; its heartbeats wait unread, so silence is not death.
        readingPaused = true;
        log.debug({ held: budget.held, max: budget.maxBytes }, "streamed bodies hold the budget; reading waits for their forwards");
        await Promise.race([budget.whileFull(), aborted]);
        readingPaused = false;
        lastArrival = Date.now();
      }
    }
    if (abort.signal.aborted && abort.signal.reason instanceof Error) throw abort.signal.reason;
  } catch (err) {
    if (abort.signal.aborted && abort.signal.reason instanceof Error && !deps.signal.aborted) throw abort.signal.reason;
    throw err;
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    deps.signal.removeEventListener("abort", onOuterAbort);
    deps.drain?.removeEventListener("abort", onDrain);
    outbound.end();
    for (const lane of lanes.values()) lane.stop();
    for (const a of assemblies.values()) a.reject(new Error("stream ended"));
    budget.failAll(new Error("stream to the edge ended mid-body"));
    if (!abort.signal.aborted) abort.abort(new Error("session over"));
  }
}
