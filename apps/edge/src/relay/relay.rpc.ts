/**
 * StreamService on the edge: authenticates a hub's open, then runs one
 * HubLink over the bidi stream until either side ends it or the hub goes
 * silent for HUB_DEAD_AFTER_MS.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type ServiceImpl } from "@connectrpc/connect";
import {
  type DeliveryStart,
  DeliveryChunkSchema,
  EdgeFrameSchema,
  type EdgeFrame,
  HubFrameSchema,
  type StreamRequest,
  StreamResponseSchema,
  type StreamResponse,
  type StreamService,
} from "@hookly/proto/gen/stream_pb";
import { parseBodyWindow } from "@hookly/proto/body-window";
import { EnvelopeOpener, EnvelopeSealer, OPEN_HEADERS, deriveSessionKey, verifyStreamOpen } from "@hookly/proto/stream-auth";
import { randomBytes } from "node:crypto";
import type { Clock } from "../clock.js";
import type { Db } from "../db/db.js";
import type { HubService } from "../hub/hub.service.js";
import { newId } from "../ids.js";
import type { Logger } from "../logger.js";
import type { PayloadReader } from "../payload/payload.files.js";
import type { StorageReporter } from "../storage/storage.service.js";
import type { HubLink, RelayService } from "./relay.service.js";

/** Largest body slice per stream message. Small so big bodies interleave with other endpoints' deliveries. */
export const CHUNK_BYTES = 256 * 1024;

/** Where a request came from, set by the server adapter (remote address, transport). */
export interface Peer {
  remoteAddress: string;
  transport: string;
}

/** Connect context key under which the stream finds its peer. */
export const peerKey = createContextKey<Peer>({ remoteAddress: "", transport: "" }, { description: "request peer" });

/** How often a connected hub's last-seen time is written to the registry (ms). */
export const LAST_SEEN_WRITE_MS = 15_000;

/** Stream settings. */
export interface StreamOptions {
  heartbeatMs: number;
  deadAfterMs: number;
  edgeVersion: string;
}

/** Nonces kept in memory while the database refuses writes, at most. */
export const MEMORY_NONCES_MAX = 10_000;

/**
 * Remembers accepted open nonces in SQLite so a replay fails even after a
 * restart. While storage refuses writes (a full disk), nonces are remembered
 * in memory instead — checked against both, so a replay still fails — and
 * written to the database with the next claim that succeeds: hubs can re-dial
 * during an outage.
 */
export function createNonceStore(db: Db, storage?: StorageReporter) {
  const claim = db.prepare<[string, number]>(`INSERT OR IGNORE INTO hub_nonce (nonce, expires_at) VALUES (?, ?)`);
  const known = db.prepare<[string], { n: number }>(`SELECT 1 AS n FROM hub_nonce WHERE nonce = ?`);
  const memory = new Map<string, number>();
  const claimInMemory = (nonce: string, expiresAt: number): boolean => {
    if (memory.has(nonce) || known.get(nonce)) return false;
    if (memory.size >= MEMORY_NONCES_MAX) {
      const now = Date.now();
      for (const [n, exp] of memory) if (exp < now) memory.delete(n);
      // note: still full of live nonces: refuse rather than forget one (the hub retries with a fresh nonce later).
      if (memory.size >= MEMORY_NONCES_MAX) return false;
    }
    memory.set(nonce, expiresAt);
    return true;
  };
  return (nonce: string, expiresAt: number): boolean => {
    if (memory.has(nonce)) return false;
    let fresh: boolean;
    try {
      fresh = claim.run(nonce, expiresAt).changes === 1;
    } catch (err) {
      if (!storage?.failed("hubs", err)) throw err;
      return claimInMemory(nonce, expiresAt);
    }
    storage?.succeeded("hubs");
    try {
      for (const [n, exp] of memory) {
        claim.run(n, exp);
        memory.delete(n);
      }
    } catch (err) {
      // note: the rest stay in memory until the next claim that succeeds.
      if (!storage?.failed("hubs", err)) throw err;
    }
    return fresh;
  };
}

/** One body being sent, in chunks after the start frame, read from storage as the stream pulls. */
export interface Transfer {
  start: DeliveryStart;
  body: PayloadReader;
  offset: number;
  /** Bytes of the body that may be sent in all: the hub's window, raised by its credits; Infinity for a hub without one. */
  limit: number;
}

/**
 * What the edge sends on one stream: control frames first, then deliveries
 * round-robin, one frame each, so a 100 MB body shares the stream with
 * everything else instead of blocking it. A body's next chunk is read only
 * when the stream pulls the next frame (connect pulls when HTTP/2 flow
 * control has room): the edge holds one chunk per stream, not the body. A
 * body that has reached its limit waits, out of the rotation, for the hub's
 * credit (proto/src/body-window.ts), so a destination that reads slowly
 * holds back only its own body.
 */
export class Outbox {
  // note: not connect's createWritableIterable: that is one FIFO; this sends control frames first and cuts bodies round-robin as the stream pulls.
  private readonly control: EdgeFrame[] = [];
  private readonly transfers: Transfer[] = [];
  /** Every body still being sent, by delivery id (in the rotation, waiting for credit, or being read). */
  private readonly active = new Map<string, Transfer>();
  /** Bodies at their limit, until a credit raises it. */
  private readonly waiting = new Set<Transfer>();
  private wake: (() => void) | undefined;
  private closed = false;

  pushControl(frame: EdgeFrame): void {
    this.control.push(frame);
    this.notify();
  }

  pushTransfer(t: Transfer): void {
    this.active.set(t.start.deliveryId, t);
    this.transfers.push(t);
    this.notify();
  }

  /** The hub's credit: `deliveryId`'s body may be sent up to `until` bytes in all. Unknown or finished deliveries are ignored. */
  grant(deliveryId: string, until: number): void {
    const t = this.active.get(deliveryId);
    if (!t || until <= t.limit) return;
    t.limit = until;
    if (this.waiting.delete(t)) {
      this.transfers.push(t);
      this.notify();
    }
  }

  /** Bodies waiting for credit now. */
  get waitingForCredit(): number {
    return this.waiting.size;
  }

  /** Ends the frames; closes what is still being read. */
  close(): void {
    this.closed = true;
    for (const t of this.transfers.splice(0)) t.body.close();
    for (const t of this.waiting) t.body.close();
    this.waiting.clear();
    this.active.clear();
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async next(): Promise<EdgeFrame | undefined> {
    const c = this.control.shift();
    if (c) return c;
    const t = this.transfers.shift();
    if (!t) return undefined;
    const data = await t.body.read(t.offset, Math.min(CHUNK_BYTES, t.limit - t.offset));
    let frame: EdgeFrame;
    if (t.offset === 0) {
      t.start.body = data;
      frame = create(EdgeFrameSchema, { kind: { case: "start", value: t.start } });
    } else {
      frame = create(EdgeFrameSchema, {
        kind: { case: "chunk", value: create(DeliveryChunkSchema, { deliveryId: t.start.deliveryId, offset: BigInt(t.offset), data }) },
      });
    }
    t.offset += data.length;
    if (this.closed || t.offset >= t.body.size) {
      this.active.delete(t.start.deliveryId);
      t.body.close();
    } else if (t.offset >= t.limit) this.waiting.add(t);
    else this.transfers.push(t);
    return frame;
  }

  async *frames(): AsyncGenerator<EdgeFrame> {
    while (!this.closed) {
      const f = await this.next();
      if (f) {
        yield f;
        continue;
      }
      if (this.closed) break;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** What a hub said of its HUB_ALLOWED_DESTINATIONS; null when it said nothing (an older hub) or nonsense. */
function allowlistOf(value: string | null | undefined): "set" | "none" | null {
  return value === "set" || value === "none" ? value : null;
}

/** The StreamService implementation. */
export function createStreamService(deps: {
  relay: RelayService;
  hubs: HubService;
  clock: Clock;
  log: Logger;
  claimNonce: (nonce: string, expiresAt: number) => boolean;
  options: StreamOptions;
}): Partial<ServiceImpl<typeof StreamService>> {
  const { relay, hubs, clock, log, options } = deps;
  return {
    async *stream(requests: AsyncIterable<StreamRequest>, ctx): AsyncIterable<StreamResponse> {
      const header = (name: string) => ctx.requestHeader.get(name);
      const peer = ctx.values.get(peerKey);
      let registryId = "";
      const open = verifyStreamOpen(
        (claimed) => {
          const who = hubs.identify(claimed);
          if (who.ok) registryId = who.hubId;
          return who;
        },
        header,
        clock.now(),
        deps.claimNonce,
      );
      if (!open.ok) {
        log.warn({ reason: open.reason, hubId: header(OPEN_HEADERS.hubId) ?? "", peer: peer.remoteAddress }, "hub stream refused");
        throw new ConnectError(`hub authentication failed: ${open.reason}`, Code.Unauthenticated);
      }
      const instanceId = (header(OPEN_HEADERS.instance) ?? "").slice(0, 64);
      const admission = relay.admit(registryId, instanceId);
      if (!admission.ok) {
        log.warn({ hubId: registryId, reportedId: open.hubId, peer: peer.remoteAddress, reason: admission.reason }, "hub stream refused");
        throw new ConnectError(admission.reason, Code.AlreadyExists);
      }
      const streamId = newId("stream");
      const edgeNonce = randomBytes(16);
      const key = deriveSessionKey(open.secret, open.hubNonce, edgeNonce, streamId);
      const sealer = new EnvelopeSealer(key, "edge-to-hub", streamId);
      const opener = new EnvelopeOpener(key, "hub-to-edge", streamId);
      const outbox = new Outbox();
      // note: a hub from before body windows announces none and is sent bodies without limit, as then.
      const bodyWindow = parseBodyWindow(header(OPEN_HEADERS.bodyWindow));
      const abort = new AbortController();
      const slog = log.child({ hubId: registryId, streamId });

      const link: HubLink = {
        id: streamId,
        hubId: registryId,
        instanceId,
        hubVersion: (header("hookly-hub-version") ?? "").slice(0, 64),
        connectedAt: clock.now(),
        remoteAddress: peer.remoteAddress,
        transport: peer.transport,
        lastSeenAt: clock.now(),
        lastArrivalMs: Date.now(),
        sendDelivery(start, body) {
          outbox.pushTransfer({ start, body, offset: 0, limit: bodyWindow });
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

      let lastSeenWritten = clock.now();
      const heartbeat = setInterval(() => {
        // note: real time, not the injected clock: liveness is about the socket, not the queue.
        if (Date.now() - link.lastArrivalMs > options.deadAfterMs) {
          slog.warn({ silentMs: Date.now() - link.lastArrivalMs }, "hub stream silent; closing it as dead");
          abort.abort(new ConnectError("hub stopped answering", Code.DeadlineExceeded));
          return;
        }
        outbox.pushControl(create(EdgeFrameSchema, { kind: { case: "heartbeat", value: { sentAtMs: BigInt(Date.now()) } } }));
        if (link.lastSeenAt - lastSeenWritten >= LAST_SEEN_WRITE_MS) {
          lastSeenWritten = link.lastSeenAt;
          hubs.noteSeen(registryId, link.lastSeenAt);
        }
      }, options.heartbeatMs);

      const reader = (async () => {
        for await (const req of requests) {
          const frame = fromBinary(HubFrameSchema, opener.open(req));
          link.lastArrivalMs = Date.now();
          link.lastSeenAt = clock.now();
          if (frame.kind.case === "result") relay.result(link, frame.kind.value);
          else if (frame.kind.case === "credit") outbox.grant(frame.kind.value.deliveryId, Number(frame.kind.value.until));
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

      slog.info({ hubVersion: link.hubVersion, reportedId: open.hubId, peer: peer.remoteAddress }, "hub connected");
      hubs.noteConnected(registryId, {
        at: link.connectedAt,
        version: link.hubVersion,
        transport: link.transport,
        remoteAddress: link.remoteAddress,
        reportedId: open.hubId.slice(0, 128),
        allowlist: allowlistOf(header(OPEN_HEADERS.allowlist)),
      });
      relay.attach(link);
      try {
        for await (const frame of outbox.frames()) {
          const env = sealer.seal(toBinary(EdgeFrameSchema, frame));
          yield create(StreamResponseSchema, env);
        }
      } finally {
        clearInterval(heartbeat);
        relay.detach(link);
        hubs.noteDisconnected(registryId, clock.now(), link.lastSeenAt);
        slog.info({ reason: abort.signal.reason instanceof Error ? abort.signal.reason.message : "stream ended" }, "hub disconnected");
      }
      const reason = abort.signal.reason;
      if (reason instanceof ConnectError && reason.code !== Code.Canceled) throw reason;
    },
  };
}
