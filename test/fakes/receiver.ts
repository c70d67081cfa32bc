/**
 * A recording LAN service for tests: the hub forwards webhooks to it, it keeps
 * every request byte for byte and answers as the test says, which may change
 * mid-test (svix `tests/it/utils` TestReceiver).
 */
import http, { type IncomingHttpHeaders } from "node:http";
import { listenLocal } from "./listen.js";

/** One request as it arrived, recorded once its body was fully read. */
export interface ReceivedRequest {
  method: string;
  /** Path and query, as on the request line. */
  url: string;
  /** Header names and values in arrival order, case and duplicates kept. */
  rawHeaders: string[];
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** `Date.now()` when the body was complete. */
  at: number;
  /** The client's port: equal ports mean the requests shared a connection. */
  remotePort: number;
}

/** What {@link Receiver.respondWith} accepts from a function answer. */
export interface ReceiverAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Default ''. */
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

/** A running receiver; see {@link startReceiver}. */
export interface Receiver {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Every recorded request, oldest first. */
  requests: ReceivedRequest[];
  /** TCP connections accepted so far (keep-alive reuse keeps this low). */
  readonly connectionCount: number;
  /** Sets how to answer: a status, or a function of the request (may return {status, headers, body, delayMs}). */
  respondWith(answer: number | ((req: ReceivedRequest) => number | ReceiverAnswer)): void;
  /** Resolves when at least n requests (optionally matching pred) arrived; rejects after timeoutMs with a message saying how many did. */
  waitFor(n: number, opts?: { timeoutMs?: number; filter?: (r: ReceivedRequest) => boolean }): Promise<ReceivedRequest[]>;
  /**
   * Stops listening, closes idle keep-alive connections and waits until every
   * connection has closed. A connection still open after 5 s is a leak: it is
   * destroyed and the promise rejects saying how many there were.
   */
  close(): Promise<void>;
}

/** Default for {@link Receiver.waitFor}'s `timeoutMs`. */
export const RECEIVER_WAIT_TIMEOUT_MS = 5_000;
const closeGraceMs = 5_000;

/** Starts a receiver on 127.0.0.1, port 0. Answers 200 "ok" until told otherwise. */
export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const waiters = new Set<() => void>();
  const pendingAnswers = new Set<NodeJS.Timeout>();
  let connectionCount = 0;
  let closing = false;
  let answer: number | ((req: ReceivedRequest) => number | ReceiverAnswer) = (): ReceiverAnswer => ({
    status: 200,
    body: "ok",
  });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const received: ReceivedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        rawHeaders: req.rawHeaders,
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: Date.now(),
        remotePort: req.socket.remotePort ?? 0,
      };
      requests.push(received);
      for (const wake of waiters) wake();

      const given = typeof answer === "number" ? answer : answer(received);
      const reply: ReceiverAnswer = typeof given === "number" ? { status: given } : given;
      const send = (): void => {
        if (res.destroyed) return;
        // note: after close() Node keeps a busy keep-alive connection open once it answers; end it with the answer.
        if (closing) res.setHeader("Connection", "close");
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body ?? "");
      };
      if (!reply.delayMs) return send();
      const timer = setTimeout(() => {
        pendingAnswers.delete(timer);
        send();
      }, reply.delayMs);
      pendingAnswers.add(timer);
    });
  });
  server.on("connection", () => connectionCount++);
  const { url, sockets } = await listenLocal(server);

  return {
    url,
    requests,
    get connectionCount() {
      return connectionCount;
    },
    respondWith(next) {
      answer = next;
    },
    waitFor(n, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? RECEIVER_WAIT_TIMEOUT_MS;
      const matching = (): ReceivedRequest[] => (opts.filter ? requests.filter(opts.filter) : [...requests]);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = matching();
          if (found.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const what = opts.filter ? "matching request(s)" : "request(s)";
          reject(new Error(`receiver: waited ${timeoutMs} ms for ${n} ${what}, ${matching().length} arrived`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // note: server.close() only drops idle keep-alive sockets; busy ones must finish by themselves.
      server.closeIdleConnections();
      let leaked = 0;
      const grace = setTimeout(() => {
        leaked = sockets.size;
        for (const socket of sockets) socket.destroy();
      }, closeGraceMs);
      await closed;
      clearTimeout(grace);
      for (const timer of pendingAnswers) clearTimeout(timer);
      if (leaked > 0) throw new Error(`receiver: ${leaked} connection(s) still open ${closeGraceMs} ms after close()`);
    },
  };
}
