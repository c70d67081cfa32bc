/**
 * One TCP port for HTTP/1.1 and cleartext HTTP/2.
 *
 * Providers, curl and browsers speak HTTP/1.1; the hub's bidi stream needs
 * HTTP/2. Without TLS there is no ALPN, and Node's `allowHTTP1` only works
 * with TLS, so we peek at the first bytes of each connection: the HTTP/2
 * client preface (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`) goes to the h2c server,
 * anything else to the HTTP/1.1 server. Both use the same request handler.
 * Behind a TLS proxy (Caddy), the proxy speaks h1 for providers and h2c for
 * the stream to this same port.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { Duplex } from "node:stream";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** The request handler both protocol servers share. */
export type DualHandler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

// Requests that sent `Expect: 100-continue` and have not been told to go on yet.
const awaitingContinue = new WeakMap<AnyRequest, AnyResponse>();

/**
 * Tells a client that sent `Expect: 100-continue` to send its body; no-op otherwise or when
 * already told. Whatever reads a body calls it first, so a request answered without reading
 * (an unknown endpoint, a refusal) never has its body sent at all.
 */
export function continueIfAsked(req: AnyRequest): void {
  const res = awaitingContinue.get(req);
  if (!res) return;
  awaitingContinue.delete(req);
  if (!res.headersSent) res.writeContinue();
}

/** A listening dual-protocol server. */
export interface DualServer {
  /** The TCP listener. */
  tcp: net.Server;
  h1: http.Server;
  h2: http2.Http2Server;
  /** Resolves with the bound port. */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, ends idle connections, and after `graceMs` destroys the rest. */
  close(graceMs?: number): Promise<void>;
}

/** How long a new connection may take to show which protocol it speaks (its first bytes). */
export const SNIFF_TIMEOUT_MS = 10_000;
/** How long an HTTP/2 session may stay without an open stream (a preface and nothing else, or an idle pooled connection). */
export const H2_IDLE_SESSION_MS = 30_000;

/** Deadlines of {@link createDualServer}; tests shorten them. */
export interface DualServerOptions {
  maxHeaderSize?: number;
  /** Default {@link SNIFF_TIMEOUT_MS}. */
  sniffTimeoutMs?: number;
  /** Default {@link H2_IDLE_SESSION_MS}. A session with a stream open (the hub's) is never closed for this. */
  h2IdleSessionMs?: number;
  /** Connections one source address may hold open at once; more are closed at once. 0 or absent: no cap. */
  maxConnectionsPerSource?: number;
  /** Called when a connection is refused for the cap (at most once per source per minute, so a flood is one line). */
  onConnectionRefused?: (source: string, open: number) => void;
}

/** Creates the dual-protocol server; call listen() to bind it. */
export function createDualServer(handler: DualHandler, opts: DualServerOptions = {}): DualServer {
  const sniffTimeoutMs = opts.sniffTimeoutMs ?? SNIFF_TIMEOUT_MS;
  const h2IdleSessionMs = opts.h2IdleSessionMs ?? H2_IDLE_SESSION_MS;
  // HTTP/1.1 responses under way, so that a shutdown can tell their clients not to keep the connection.
  const h1Responses = new Set<http.ServerResponse>();
  let closing = false;
  const onH1Request = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (closing) res.setHeader("connection", "close");
    h1Responses.add(res);
    res.once("close", () => h1Responses.delete(res));
    handler(req, res);
  };
  const h1 = http.createServer({ maxHeaderSize: opts.maxHeaderSize ?? 64 * 1024 }, onH1Request);
  // note: with a listener here Node no longer answers 100 Continue by itself: continueIfAsked does,
  // once something starts reading the body.
  h1.on("checkContinue", (req: http.IncomingMessage, res: http.ServerResponse) => {
    awaitingContinue.set(req, res);
    onH1Request(req, res);
  });
  // note: providers may take a while to send a large body; the default 300 s requestTimeout is fine,
  // headersTimeout defends against slowloris.
  h1.headersTimeout = 30_000;
  h1.keepAliveTimeout = 65_000;
  const h2 = http2.createServer({ maxSessionMemory: 64 }, handler);
  h2.on("checkContinue", (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    awaitingContinue.set(req, res);
    handler(req, res);
  });
  const sockets = new Set<Duplex>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
    // note: a session with no stream open for h2IdleSessionMs is closed (GOAWAY, then gone): a
    // preface alone cannot hold a connection. Streams (the hub's bidi stream, requests) keep it.
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        if (open === 0 && !s.destroyed) {
          s.close();
          // note: close() waits for streams the peer may still open; a silent peer is cut off.
          setTimeout(() => s.destroy(), 1_000).unref();
        }
      }, h2IdleSessionMs);
      idle.unref();
    };
    s.on("stream", (stream) => {
      open++;
      clearTimeout(idle);
      stream.once("close", () => {
        open--;
        if (open === 0) arm();
      });
    });
    s.once("close", () => clearTimeout(idle));
    arm();
  });

  const cap = opts.maxConnectionsPerSource ?? 0;
  const perSource = new Map<string, number>();
  const lastReported = new Map<string, number>();
  /** Counts the socket against its source; false (the socket destroyed) when the source is at the cap. */
  const admitSource = (socket: net.Socket): boolean => {
    const source = socket.remoteAddress ?? "";
    const open = perSource.get(source) ?? 0;
    if (open >= cap) {
      socket.destroy();
      const now = Date.now();
      if (now - (lastReported.get(source) ?? 0) >= 60_000) {
        lastReported.set(source, now);
        if (lastReported.size > 10_000) lastReported.clear();
        opts.onConnectionRefused?.(source, open);
      }
      return false;
    }
    perSource.set(source, open + 1);
    socket.once("close", () => {
      const left = (perSource.get(source) ?? 1) - 1;
      if (left > 0) perSource.set(source, left);
      else perSource.delete(source);
    });
    return true;
  };
  const tcp = net.createServer((socket) => {
    if (cap > 0 && !admitSource(socket)) return;
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let seen: Buffer = Buffer.alloc(0);
    // note: a connection that says nothing (or half a preface) is closed rather than kept.
    const sniffing = setTimeout(() => socket.destroy(), sniffTimeoutMs);
    sniffing.unref();
    socket.once("close", () => clearTimeout(sniffing));
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const looksH2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (looksH2 && seen.length < PREFACE.length) return; // need the whole preface to decide
      clearTimeout(sniffing);
      socket.off("data", onData);
      socket.pause();
      if (looksH2) {
        // note: Node's HTTP/2 session reads straight from the native handle, but first
        // takes whatever is already buffered (socket.readableLength) — so the preface is
        // pushed back and the socket must stay paused until the session has taken it.
        socket.unshift(seen);
        socket.setNoDelay(true);
        h2.emit("connection", socket);
      } else {
        socket.unshift(seen);
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  });

  return {
    tcp,
    h1,
    h2,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, host, () => {
          tcp.off("error", reject);
          // note: the h1 server never listens itself (sockets are handed to it), but Node only
          // tracks its connections — for headersTimeout/requestTimeout and closeIdleConnections —
          // once it has seen 'listening'.
          h1.emit("listening");
          resolve((tcp.address() as net.AddressInfo).port);
        });
      });
    },
    async close(graceMs = 5_000) {
      closing = true;
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      // note: a keep-alive connection busy with a request now would otherwise stay open after its
      // response (until keepAliveTimeout): answer with `Connection: close` so the client lets go.
      for (const res of h1Responses) if (!res.headersSent) res.setHeader("connection", "close");
      h1.closeIdleConnections();
      // note: ...and one whose response was already on its way becomes idle only afterwards.
      const sweep = setInterval(() => h1.closeIdleConnections(), 50);
      for (const s of sessions) s.close();
      const deadline = setTimeout(() => {
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
      }, graceMs);
      await closed;
      clearInterval(sweep);
      clearTimeout(deadline);
      h1.close(() => undefined); // stops its connection checks; the callback takes its "not running" error
    },
  };
}
