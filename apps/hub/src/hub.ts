/**
 * createHub: dials the edge, keeps one authenticated stream open, re-dials
 * with capped exponential backoff and full jitter, and exposes its state
 * (and, optionally, a local /healthz).
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Http2SessionManager, createConnectTransport } from "@connectrpc/connect-node";
import { backoffDelay } from "@hookly/proto/backoff";
import { StreamService } from "@hookly/proto/gen/stream_pb";
import { createLogDestination } from "@hookly/proto/log-destination";
import { randomBytes } from "node:crypto";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { pino, type Logger } from "pino";
import type { HubConfig } from "./config.js";
import { createForwarder } from "./forward/forward.js";
import { HUB_VERSION, runSession } from "./session.js";

/** HTTP/2 receive window of the stream, bytes (Node's default is 64 KiB). */
export const STREAM_WINDOW_BYTES = 16 * 1024 * 1024;
/** HTTP/2 receive window of the whole connection, bytes. */
export const CONNECTION_WINDOW_BYTES = 32 * 1024 * 1024;

/**
 * Longest wait before the first reconnect (ms); doubles per failed attempt up to
 * HUB_RECONNECT_MAX_MS. Full jitter: each wait is drawn from [0, that ceiling).
 */
export const RECONNECT_INITIAL_MS = 500;
/** A stream that stayed up this long resets the backoff. */
export const RECONNECT_RESET_AFTER_MS = 10_000;
/** stop(): how long the forwards already running may take to finish and be reported before the stream is cut. */
export const STOP_GRACE_MS = 10_000;

/**
 * Opens the TCP (or TLS) connection to the edge with Nagle off.
 * note: results and deliveries are small frames; with Nagle on, each waits for
 * the peer's delayed ACK and an endpoint's ordered rate collapses.
 */
function dialEdge(edgeUrl: string): Duplex {
  const url = new URL(edgeUrl);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (url.protocol === "https:") {
    const socket = tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ["h2"] });
    socket.setNoDelay(true);
    return socket;
  }
  return net.connect({ host, port, noDelay: true });
}

/**
 * A session manager that opens the HTTP/2 connection-level receive window.
 * note: HTTP/2's default 64 KiB flow-control windows cap the edge→hub stream at
 * 64 KiB per round trip (about 1 MB/s at 50 ms): too little for ordered
 * pipelining and for big bodies. The stream window is a setting; the
 * connection window can only be raised on the session, which connect-node
 * does not expose — but every stream it opens carries it.
 */
class WideWindowSessionManager extends Http2SessionManager {
  private readonly widened = new WeakSet<object>();

  override async request(...args: Parameters<Http2SessionManager["request"]>): ReturnType<Http2SessionManager["request"]> {
    const stream = await super.request(...args);
    const session = stream.session;
    if (session && !this.widened.has(session)) {
      this.widened.add(session);
      session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    }
    return stream;
  }
}

/** Largest message the hub reads from the edge; a larger one ends the stream (ResourceExhausted) before it is buffered. */
export const MAX_EDGE_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Connection state, for health and tests. */
export interface HubState {
  connected: boolean;
  since: number;
  streamId: string | undefined;
  reconnects: number;
  lastError: string | undefined;
  /** Most bytes of streamed bodies held at once, and how often reading waited for them to drain (HUB_MAX_BODY_BYTES). */
  bodyBytesHeldPeak: number;
  bodyPauses: number;
  /** Credits sent to the edge: more of a body granted as its forward took it (per-delivery windows). */
  bodyCredits: number;
  /** Deliveries refused for want of room (HUB_MAX_BODY_BYTES) and answered SKIPPED, for the edge to re-send. */
  bodiesRefused: number;
}

/**
 * The hub's own logger, on stdout. Lines stdout refuses (a full disk, a closed
 * pipe) are dropped, not fatal; once it takes lines again, a warning says how many were lost.
 */
function createStdoutLogger(level: string): Logger {
  const destination = createLogDestination({
    onRestored: (outage) => log.warn(outage, "stdout refused log lines; they were dropped"),
  });
  const log = pino({ name: "hub", level, redact: { paths: ["*.authorization", "*.secret"], censor: "[redacted]" } }, destination);
  return log;
}

/** Creates the hub; start() dials, stop() hangs up. */
export function createHub(config: HubConfig, deps: { log?: Logger; random?: () => number } = {}) {
  const log = deps.log ?? createStdoutLogger(config.logLevel);
  const random = deps.random ?? Math.random;
  const instanceId = randomBytes(12).toString("base64url");
  if (!config.allowedDestinations) {
    log.warn(
      { hubId: config.hubId },
      "HUB_ALLOWED_DESTINATIONS is not set: this hub forwards to any address the edge names, including every host on this network; set it to the LAN services it may reach",
    );
  }
  const forwarder = createForwarder({ allowedDestinations: config.allowedDestinations, userAgent: `hookly-hub/${HUB_VERSION}` });
  const state: HubState = {
    connected: false,
    since: Date.now(),
    streamId: undefined,
    reconnects: 0,
    lastError: undefined,
    bodyBytesHeldPeak: 0,
    bodyPauses: 0,
    bodyCredits: 0,
    bodiesRefused: 0,
  };
  const stopper = new AbortController();
  // note: stop() first drains (no new deliveries, running forwards finish), and only then aborts.
  const drainer = new AbortController();
  const halt = AbortSignal.any([stopper.signal, drainer.signal]);
  let loop: Promise<void> | undefined;
  let health: http.Server | undefined;
  const listeners = new Set<(s: HubState) => void>();
  const changed = () => {
    for (const l of listeners) l({ ...state });
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => {
        halt.removeEventListener("abort", wake);
        resolve();
      }, ms);
      halt.addEventListener("abort", wake, { once: true });
    });

  const run = async (): Promise<void> => {
    let failures = 0;
    while (!halt.aborted) {
      // note: no HTTP/2 PING options here: connect-node 2.1.2's ping timer can fire on a
      // session it already destroyed and throw an uncaught ERR_HTTP2_INVALID_SESSION.
      // Liveness comes from the in-band heartbeats (session.ts) instead.
      const sessionManager = new WideWindowSessionManager(
        config.edgeUrl,
        {},
        { createConnection: () => dialEdge(config.edgeUrl), settings: { initialWindowSize: STREAM_WINDOW_BYTES } },
      );
      // note: no compression on the stream: bodies are relayed byte for byte and gzip cost more CPU than it saved.
      // note: readMaxBytes bounds one message from the edge (connect's default is 4 GiB): its largest are a start with a
      // webhook's headers (ingest takes 64 KiB of them) and a 256 KiB part.
      const transport = createConnectTransport({
        baseUrl: config.edgeUrl,
        httpVersion: "2",
        sessionManager,
        acceptCompression: [],
        readMaxBytes: MAX_EDGE_MESSAGE_BYTES,
      });
      const client = createClient(StreamService, transport);
      const startedAt = Date.now();
      try {
        await runSession({
          client,
          config,
          forwarder,
          log,
          instanceId,
          signal: stopper.signal,
          drain: drainer.signal,
          hooks: {
            onConnected(streamId) {
              state.connected = true;
              state.since = Date.now();
              state.streamId = streamId;
              state.lastError = undefined;
              log.info({ edge: config.edgeUrl, streamId, hubId: config.hubId }, "connected to edge");
              changed();
            },
            onBodyBytes(held, paused) {
              state.bodyBytesHeldPeak = Math.max(state.bodyBytesHeldPeak, held);
              if (paused) state.bodyPauses += 1;
            },
            onCredit() {
              state.bodyCredits += 1;
            },
            onRefused() {
              state.bodiesRefused += 1;
            },
          },
        });
        state.lastError = drainer.signal.aborted ? "hub stopped" : "edge closed the stream";
      } catch (err) {
        if (halt.aborted) break;
        const ce = ConnectError.from(err);
        state.lastError = ce.rawMessage;
        if (ce.code === Code.Unauthenticated) {
          log.error({ edge: config.edgeUrl, hubId: config.hubId, reason: ce.rawMessage }, "edge refused the hub: check HUB_ID, HUB_SECRET and the clock");
        } else if (ce.code === Code.AlreadyExists) {
          log.error(
            { edge: config.edgeUrl, hubId: config.hubId, reason: ce.rawMessage },
            "another process is connected with this hub's credential; waiting for it to go (give each hub process its own credential)",
          );
        } else {
          log.warn({ edge: config.edgeUrl, code: Code[ce.code], reason: ce.rawMessage }, "stream to edge ended");
        }
      } finally {
        sessionManager.abort();
      }
      if (state.connected) {
        state.connected = false;
        state.since = Date.now();
        state.streamId = undefined;
        changed();
      }
      if (halt.aborted) break;
      failures = Date.now() - startedAt > RECONNECT_RESET_AFTER_MS ? 1 : failures + 1;
      const delay = backoffDelay({
        initialMs: RECONNECT_INITIAL_MS,
        maxMs: config.reconnectMaxMs,
        attempt: failures,
        jitter: { kind: "full", random },
      });
      state.reconnects += 1;
      log.info({ inMs: delay }, "reconnecting");
      await sleep(delay);
    }
  };

  return {
    state: (): HubState => ({ ...state }),
    /** Calls `listener` on every connection change; returns an unsubscribe. */
    onChange(listener: (s: HubState) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Starts dialling (and the health port when configured); resolves once started. */
    async start(): Promise<{ healthPort: number | undefined }> {
      loop = run();
      if (config.healthPort === undefined) return { healthPort: undefined };
      health = http.createServer((req, res) => {
        if (req.url !== "/healthz" && req.url !== "/readyz") {
          res.writeHead(404).end();
          return;
        }
        const body = JSON.stringify({
          status: state.connected ? "connected" : "disconnected",
          since: new Date(state.since).toISOString(),
          hubId: config.hubId,
          version: HUB_VERSION,
          reconnects: state.reconnects,
          lastError: state.lastError,
        });
        const ok = req.url === "/healthz" || state.connected;
        res.writeHead(ok ? 200 : 503, { "content-type": "application/json" }).end(body);
      });
      await new Promise<void>((resolve, reject) => {
        health!.once("error", reject);
        health!.listen(config.healthPort, config.healthHost, () => resolve());
      });
      return { healthPort: (health.address() as AddressInfo).port };
    },
    /**
     * Stops: takes no new deliveries, lets the forwards already running finish
     * and reports their results to the edge (at most `graceMs`, default
     * STOP_GRACE_MS; then they are cut and the edge sends them again later),
     * then hangs up: the stream, every lane, the forwarder's connections and
     * the health port. Resolves once all of them are closed.
     */
    async stop(opts: { graceMs?: number } = {}): Promise<void> {
      drainer.abort(new Error("hub stopping"));
      const cut = setTimeout(() => stopper.abort(new Error("hub stopping: running forwards did not finish in time")), opts.graceMs ?? STOP_GRACE_MS);
      await loop;
      clearTimeout(cut);
      stopper.abort(new Error("hub stopping"));
      forwarder.close();
      if (health) await new Promise<void>((r) => health!.close(() => r()));
    },
  };
}

/** A created hub. */
export type Hub = ReturnType<typeof createHub>;
