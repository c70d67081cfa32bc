/**
 * StreamService on the edge: authenticates a hub's open, then runs one
 * HubLink over the bidi stream until either side ends it or the hub goes
 * silent for HUB_DEAD_AFTER_MS.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type DeliveryStart,
  DeliveryChunkSchema,
  EdgeFrameSchema,
  type EdgeFrame,
  HubFrameSchema,
  type StreamRequest,
  StreamResponseSchema,
  type StreamResponse,
  StreamService,
} from "@hookly/proto/gen/stream_pb";
import { EnvelopeOpener, EnvelopeSealer, deriveSessionKey, verifyStreamOpen } from "@hookly/proto/stream-auth";
import { randomBytes } from "node:crypto";
import type { Clock } from "../clock.js";
import type { Db } from "../db/db.js";
import { newId } from "../ids.js";
import type { Logger } from "../logger.js";
import type { HubLink, RelayService } from "./relay.service.js";

/** Largest body slice per stream message. Small so big bodies interleave with other endpoints' deliveries. */
export const CHUNK_BYTES = 256 * 1024;

/** Stream settings. */
export interface StreamOptions {
  hubSecrets: readonly string[];
  heartbeatMs: number;
  deadAfterMs: number;
  edgeVersion: string;
}

/** Remembers accepted open nonces in SQLite so a replay fails even after a restart. */
export function createNonceStore(db: Db) {
  const claim = db.prepare<[string, number]>(`INSERT OR IGNORE INTO hub_nonce (nonce, expires_at) VALUES (?, ?)`);
  return (nonce: string, expiresAt: number): boolean => claim.run(nonce, expiresAt).changes === 1;
}

/** One body being sent, in chunks after the start frame. */
interface Transfer {
  start: DeliveryStart;
  body: Buffer;
  offset: number;
}

/**
 * What the edge sends on one stream: control frames first, then deliveries
 * round-robin, one frame each, so a 100 MB body shares the stream with
 * everything else instead of blocking it.
 */
class Outbox {
  private readonly control: EdgeFrame[] = [];
  private readonly transfers: Transfer[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  pushControl(frame: EdgeFrame): void {
    this.control.push(frame);
    this.notify();
  }

  pushTransfer(t: Transfer): void {
    this.transfers.push(t);
    this.notify();
  }

  close(): void {
    this.closed = true;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private next(): EdgeFrame | undefined {
    const c = this.control.shift();
    if (c) return c;
    const t = this.transfers.shift();
    if (!t) return undefined;
    let frame: EdgeFrame;
    if (t.offset === 0) {
      const first = t.body.subarray(0, CHUNK_BYTES);
      t.start.body = first;
      t.offset = first.length;
      frame = create(EdgeFrameSchema, { kind: { case: "start", value: t.start } });
    } else {
      const data = t.body.subarray(t.offset, t.offset + CHUNK_BYTES);
      frame = create(EdgeFrameSchema, {
        kind: { case: "chunk", value: create(DeliveryChunkSchema, { deliveryId: t.start.deliveryId, offset: BigInt(t.offset), data }) },
      });
      t.offset += data.length;
    }
    if (t.offset < t.body.length) this.transfers.push(t);
    return frame;
  }

  async *frames(): AsyncGenerator<EdgeFrame> {
    while (!this.closed) {
      const f = this.next();
      if (f) {
        yield f;
        continue;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** The StreamService implementation. */
export function createStreamService(deps: {
  relay: RelayService;
  clock: Clock;
  log: Logger;
  claimNonce: (nonce: string, expiresAt: number) => boolean;
  options: StreamOptions;
}): Partial<ServiceImpl<typeof StreamService>> {
  const { relay, clock, log, options } = deps;
  return {
    async *stream(requests: AsyncIterable<StreamRequest>, ctx): AsyncIterable<StreamResponse> {
      const header = (name: string) => ctx.requestHeader.get(name);
      const open = verifyStreamOpen(options.hubSecrets, header, clock.now(), deps.claimNonce);
      if (!open.ok) {
        log.warn({ reason: open.reason, hubId: header("hookly-hub-id") ?? "", peer: ctx.requestHeader.get("x-forwarded-for") ?? "" }, "hub stream refused");
        throw new ConnectError(`hub authentication failed: ${open.reason}`, Code.Unauthenticated);
      }
      const streamId = newId("stream");
      const edgeNonce = randomBytes(16);
      const key = deriveSessionKey(open.secret, open.hubNonce, edgeNonce, streamId);
      const sealer = new EnvelopeSealer(key, "edge-to-hub", streamId);
      const opener = new EnvelopeOpener(key, "hub-to-edge", streamId);
      const outbox = new Outbox();
      const abort = new AbortController();
      const slog = log.child({ hubId: open.hubId, streamId });

      const link: HubLink = {
        id: streamId,
        hubId: open.hubId,
        hubVersion: header("hookly-hub-version") ?? "",
        connectedAt: clock.now(),
        lastSeenAt: clock.now(),
        sendDelivery(start, body) {
          outbox.pushTransfer({ start, body, offset: 0 });
        },
        close(reason) {
          slog.info({ reason }, "closing hub stream");
          abort.abort(new ConnectError(reason, Code.Aborted));
        },
      };

      outbox.pushControl(
        create(EdgeFrameSchema, {
          kind: {
            case: "welcome",
            value: { streamId, edgeNonce, edgeVersion: options.edgeVersion, heartbeatIntervalMs: options.heartbeatMs },
          },
        }),
      );

      let lastArrival = Date.now();
      const heartbeat = setInterval(() => {
        // note: real time, not the injected clock: liveness is about the socket, not the queue.
        if (Date.now() - lastArrival > options.deadAfterMs) {
          slog.warn({ silentMs: Date.now() - lastArrival }, "hub stream silent; closing it as dead");
          abort.abort(new ConnectError("hub stopped answering", Code.DeadlineExceeded));
          return;
        }
        outbox.pushControl(create(EdgeFrameSchema, { kind: { case: "heartbeat", value: { sentAtMs: BigInt(Date.now()) } } }));
      }, options.heartbeatMs);

      const reader = (async () => {
        for await (const req of requests) {
          const frame = fromBinary(HubFrameSchema, opener.open(req));
          lastArrival = Date.now();
          link.lastSeenAt = clock.now();
          if (frame.kind.case === "result") relay.result(link, frame.kind.value);
        }
      })().then(
        () => abort.abort(new ConnectError("hub closed the stream", Code.Canceled)),
        (err: unknown) => {
          if (!abort.signal.aborted) {
            slog.warn({ err: err instanceof Error ? err.message : String(err) }, "hub stream failed");
            abort.abort(err);
          }
        },
      );
      void reader;

      const onAbort = () => outbox.close();
      abort.signal.addEventListener("abort", onAbort);
      ctx.signal.addEventListener("abort", () => abort.abort(ctx.signal.reason));

      slog.info({ hubVersion: link.hubVersion }, "hub connected");
      relay.attach(link);
      try {
        for await (const frame of outbox.frames()) {
          const env = sealer.seal(toBinary(EdgeFrameSchema, frame));
          yield create(StreamResponseSchema, env);
        }
      } finally {
        clearInterval(heartbeat);
        relay.detach(link);
        slog.info({ reason: abort.signal.reason instanceof Error ? abort.signal.reason.message : "stream ended" }, "hub disconnected");
      }
      const reason = abort.signal.reason;
      if (reason instanceof ConnectError && reason.code !== Code.Canceled) throw reason;
    },
  };
}
