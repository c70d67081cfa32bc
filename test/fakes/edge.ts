/**
 * A scripted edge for the hub's tests: the StreamService side of the hub
 * stream (welcome, session key, sealed envelopes both ways), with nothing
 * behind it. A test drives it frame by frame, including frames no real edge
 * sends (bodies past their window, a flood of deliveries to many lanes,
 * oversized messages), and reads what the hub answers. Served in memory by
 * `createRouterTransport` or on a port by `connectNodeAdapter`.
 */
import { randomBytes } from "node:crypto";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type DeliveryStartSchema,
  type EdgeFrame,
  EdgeFrameSchema,
  type HubFrame,
  HubFrameSchema,
  type StreamResponse,
  StreamResponseSchema,
  StreamService,
} from "@hookly/proto/gen/stream_pb";
import { EnvelopeOpener, EnvelopeSealer, OPEN_HEADERS, deriveSessionKey } from "@hookly/proto/stream-auth";

/** One hub stream as the fake edge sees it. */
export interface FakeEdgeSession {
  /** What the hub said when it opened the stream (its headers). */
  headers: Headers;
  /** Seals and sends one frame. */
  send(frame: EdgeFrame): void;
  /** Sends a delivery's start frame. */
  start(start: MessageInitShape<typeof DeliveryStartSchema>): void;
  /** Sends a part of a delivery's body. */
  chunk(deliveryId: string, offset: number, data: Uint8Array): void;
  /** Every frame the hub sent, opened, in order. */
  frames: HubFrame[];
  /** Resolves once `test` holds (checked on each arrival and every 5 ms), or rejects after `timeoutMs`. */
  until(test: (frames: HubFrame[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Ends the stream from the edge's side. */
  end(): void;
  /** Resolves when the stream is over (either side ended it). */
  closed: Promise<void>;
}

/** The fake edge's StreamService; `onSession` runs for each stream the hub opens (the welcome is already on its way). */
export function fakeEdgeService(secret: string, onSession: (s: FakeEdgeSession) => void): Partial<ServiceImpl<typeof StreamService>> {
  return {
    async *stream(requests, ctx) {
      const nonce = ctx.requestHeader.get(OPEN_HEADERS.nonce) ?? "";
      const streamId = `stream_${randomBytes(8).toString("hex")}`;
      const edgeNonce = randomBytes(16);
      const key = deriveSessionKey(secret, nonce, edgeNonce, streamId);
      const sealer = new EnvelopeSealer(key, "edge-to-hub", streamId);
      const opener = new EnvelopeOpener(key, "hub-to-edge", streamId);
      const outgoing: StreamResponse[] = [];
      let wake: (() => void) | undefined;
      let over = false;
      let markClosed!: () => void;
      const closed = new Promise<void>((r) => (markClosed = r));
      const checks = new Set<() => void>();
      const notify = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      const session: FakeEdgeSession = {
        headers: ctx.requestHeader,
        frames: [],
        send(frame) {
          outgoing.push(create(StreamResponseSchema, sealer.seal(toBinary(EdgeFrameSchema, frame))));
          notify();
        },
        start(start) {
          session.send(create(EdgeFrameSchema, { kind: { case: "start", value: start } }));
        },
        chunk(deliveryId, offset, data) {
          session.send(create(EdgeFrameSchema, { kind: { case: "chunk", value: { deliveryId, offset: BigInt(offset), data } } }));
        },
        until(test, timeoutMs = 10_000) {
          return new Promise<void>((resolve, reject) => {
            const check = () => {
              if (!test(session.frames)) return;
              checks.delete(check);
              clearTimeout(timer);
              clearInterval(poll);
              resolve();
            };
            const poll = setInterval(check, 5);
            const timer = setTimeout(() => {
              checks.delete(check);
              clearInterval(poll);
              reject(new Error(`the hub did not send what was awaited within ${timeoutMs} ms (${session.frames.length} frames)`));
            }, timeoutMs);
            checks.add(check);
            check();
          });
        },
        end() {
          over = true;
          notify();
        },
        closed,
      };
      // The hub's side, read in the background.
      void (async () => {
        try {
          for await (const req of requests) {
            session.frames.push(fromBinary(HubFrameSchema, opener.open(req)));
            for (const check of [...checks]) check();
          }
        } catch {
          // the stream ended
        } finally {
          over = true;
          notify();
        }
      })();
      session.send(create(EdgeFrameSchema, { kind: { case: "welcome", value: { streamId, edgeNonce, edgeVersion: "fake", heartbeatIntervalMs: 60_000 } } }));
      onSession(session);
      try {
        for (;;) {
          const next = outgoing.shift();
          if (next) {
            yield next;
            continue;
          }
          if (over || ctx.signal.aborted) return;
          await new Promise<void>((r) => (wake = r));
        }
      } finally {
        markClosed();
      }
    },
  };
}

/** Results the hub sent, in order, as `webhookId:outcome` (DeliveryOutcome numbers). */
export function resultsOf(frames: HubFrame[]): { webhookId: string; deliveryId: string; outcome: number }[] {
  return frames.flatMap((f) =>
    f.kind.case === "result" ? [{ webhookId: f.kind.value.webhookId, deliveryId: f.kind.value.deliveryId, outcome: f.kind.value.outcome }] : [],
  );
}

export { StreamService };
