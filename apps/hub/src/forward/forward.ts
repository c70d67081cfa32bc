/**
 * Forwarding one webhook attempt from the hub to its LAN destination: the
 * original method, headers and bytes, plus `X-Hookly-*` headers, over pooled
 * keep-alive connections. The result says what happened; the caller logs and
 * reports it — the forwarder itself never logs and never throws.
 */
import http from "node:http";
import https from "node:https";
import { isDestinationAllowed, type DestinationPattern } from "./destinations.js";

/** One attempt to deliver one webhook to one endpoint's destination. */
export interface ForwardRequest {
  /** `wh_…`, sent as `X-Hookly-Webhook-Id`. */
  webhookId: string;
  /** `ep_…`, sent as `X-Hookly-Endpoint`. */
  endpointId: string;
  /** `dst_…`, sent as `X-Hookly-Destination` when set. */
  destinationId?: string;
  /** The webhook's event type, sent as `X-Hookly-Event-Type` when set. */
  eventType?: string;
  /** 1-based attempt number, sent as `X-Hookly-Attempt`. */
  attempt: number;
  /** The method the provider used, usually POST. */
  method: string;
  /** Full destination URL including the query. */
  url: string;
  /** The headers as the edge received them: order, case and duplicates preserved. */
  headers: ReadonlyArray<{ name: string; value: string }>;
  /** The body, delivered byte for byte: whole, or streamed as its parts arrive (over STREAM_BODY_BYTES). */
  body: Uint8Array | BodyStream;
  /** Whether the edge verified the provider's signature; sent as `X-Hookly-Verified`. */
  signatureValid: boolean;
  /**
   * Deadline for connect plus the whole response, in milliseconds. For a
   * streamed body: the longest wait for its next part while it is sent, then
   * for the response once it is.
   */
  timeoutMs: number;
}

/** A body sent as its parts arrive; read once. */
export interface BodyStream extends AsyncIterable<Uint8Array> {
  readonly size: number;
}

const sizeOf = (body: Uint8Array | BodyStream): number => (body instanceof Uint8Array ? body.byteLength : body.size);

/**
 * How an attempt ended. `response` means a complete HTTP response of any status
 * (2xx, 3xx — redirects are never followed —, 4xx, 5xx); the others mean none.
 */
export type ForwardOutcome = "response" | "timeout" | "connection_error" | "destination_not_allowed" | "invalid";

/** What one attempt produced, ready to be reported to the edge. */
export interface ForwardResult {
  outcome: ForwardOutcome;
  /** The response status; 0 unless `outcome` is `response`. */
  statusCode: number;
  /** Wall time from start to outcome, by the injected clock. */
  durationMs: number;
  /** When the attempt started, epoch milliseconds by the injected clock. */
  startedAtMs: number;
  /** Short, log-safe reason (`connect ECONNREFUSED 127.0.0.1:4567`); '' on `response`. */
  error: string;
  /** The response's Retry-After in whole seconds (delta or HTTP-date), ≥ 0; 0 if absent or unparseable. Not capped. */
  retryAfterSeconds: number;
  /** The first ≤ 512 UTF-16 code units of the response body decoded as UTF-8, no split surrogate pair (a compressed body stays compressed). */
  responseExcerpt: string;
}

/** Delivers attempts over pooled connections; `close()` drops the pools. */
export interface Forwarder {
  /** Runs one attempt. Never rejects: every failure is a `ForwardResult`. `signal` aborting gives `connection_error` / `aborted`. */
  forward(req: ForwardRequest, signal?: AbortSignal): Promise<ForwardResult>;
  /** Destroys the keep-alive pools, including sockets of attempts still running. */
  close(): void;
}

/** Options for {@link createForwarder}. */
export interface ForwarderOptions {
  /** Parsed `HUB_ALLOWED_DESTINATIONS`; null allows every http(s) destination. */
  allowedDestinations: readonly DestinationPattern[] | null;
  /** Sent only when the provider's request carried no User-Agent. Default `hookly-hub`. */
  userAgent?: string;
  /** Clock for `startedAtMs`, `durationMs` and Retry-After dates. Default `Date.now`. */
  now?: () => number;
}

/** Characters kept from the response body for {@link ForwardResult.responseExcerpt}. */
export const RESPONSE_EXCERPT_CHARS = 512;

/**
 * How long an idle pooled socket is kept, in milliseconds. Below Node's default
 * server `keepAliveTimeout` (5 s) so the hub closes first; a server that
 * announces `Keep-Alive: timeout=N` shortens it to N − 1 s.
 */
export const IDLE_SOCKET_TIMEOUT_MS = 4_000;

// Hop-by-hop (RFC 9110 §7.6.1) plus the ones the forwarder sets itself.
const droppedHeaders = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

const hooklyHeaderPrefix = "x-hookly-";

/**
 * Creates a forwarder with one keep-alive agent per protocol, reused by every
 * attempt. Checks the allowlist before any network traffic.
 */
export function createForwarder(opts: ForwarderOptions): Forwarder {
  const now = opts.now ?? Date.now;
  const userAgent = opts.userAgent ?? "hookly-hub";
  const agentOptions = { keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);

  async function forward(req: ForwardRequest, signal?: AbortSignal): Promise<ForwardResult> {
    const startedAtMs = now();
    const finish = (outcome: ForwardOutcome, fields: Partial<ForwardResult> = {}): ForwardResult => ({
      outcome,
      statusCode: 0,
      durationMs: Math.max(0, now() - startedAtMs),
      startedAtMs,
      error: "",
      retryAfterSeconds: 0,
      responseExcerpt: "",
      ...fields,
    });

    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return finish("invalid", { error: "destination URL does not parse" });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return finish("invalid", { error: `destination scheme ${url.protocol} is not http or https` });
    }
    if (!isDestinationAllowed(url, opts.allowedDestinations)) {
      return finish("destination_not_allowed", { error: `${url.host} is not in HUB_ALLOWED_DESTINATIONS` });
    }
    const rawHeaders = outgoingHeaders(req, url, userAgent);
    const deadline = startedAtMs + req.timeoutMs;
    const agent = url.protocol === "https:" ? httpsAgent : httpAgent;
    let exchange = await sendOnce(url, req, rawHeaders, agent, Math.max(0, deadline - now()), signal);
    // note: only a whole body can be sent again; a streamed one is partly consumed: the edge retries it.
    if (exchange.kind === "stale_socket" && req.body instanceof Uint8Array) {
      // note: ECONNRESET on a pooled socket before any response byte almost always
      // means the destination closed it while idle (Node's docs recommend retrying),
      // so retry once on a fresh connection within the same deadline. A duplicate is
      // possible only if the destination reset mid-request; delivery is at-least-once anyway.
      exchange = await sendOnce(url, req, rawHeaders, agent, Math.max(0, deadline - now()), signal);
    }
    switch (exchange.kind) {
      case "response":
        return finish("response", {
          statusCode: exchange.statusCode,
          retryAfterSeconds: parseRetryAfter(exchange.retryAfter, now()),
          responseExcerpt: exchange.excerpt,
        });
      case "timeout":
        return finish("timeout", { error: exchange.error });
      case "invalid":
        return finish("invalid", { error: exchange.error });
      case "error":
      case "stale_socket":
        return finish("connection_error", { error: exchange.error });
    }
  }

  return {
    forward,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/**
 * Parses a Retry-After value (RFC 9110 §10.2.3): delta-seconds or an HTTP-date,
 * the latter relative to `nowMs`. Returns whole seconds ≥ 0; 0 when absent or garbage.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number {
  const text = value?.trim() ?? "";
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds) ? seconds : 0;
  }
  // note: Date.parse accepts almost anything ("1", "2024"), so insist on the
  // weekday that starts all three HTTP-date formats before trusting it.
  if (!/^(mon|tue|wed|thu|fri|sat|sun)[a-z]*,? /i.test(text)) return 0;
  // note: asctime dates carry no zone and Date.parse would read them as local time; HTTP-dates are always GMT.
  const at = Date.parse(/GMT$/i.test(text) ? text : `${text} GMT`);
  if (!Number.isFinite(at)) return 0;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/** The flat `[name, value, name, value, …]` list sent to the destination. */
function outgoingHeaders(req: ForwardRequest, url: URL, userAgent: string): string[] {
  const namedByConnection = new Set<string>();
  for (const { name, value } of req.headers) {
    if (name.toLowerCase() !== "connection") continue;
    for (const token of value.split(",")) namedByConnection.add(token.trim().toLowerCase());
  }
  const raw: string[] = ["Host", url.host];
  let hasUserAgent = false;
  for (const { name, value } of req.headers) {
    const lower = name.toLowerCase();
    // note: the whole X-Hookly-* namespace is ours; a provider must not be able to set any of it.
    if (droppedHeaders.has(lower) || namedByConnection.has(lower) || lower.startsWith(hooklyHeaderPrefix)) continue;
    if (lower === "user-agent") hasUserAgent = true;
    raw.push(name, value);
  }
  if (!hasUserAgent) raw.push("User-Agent", userAgent);
  // note: RFC 9110 §8.6 — no Content-Length on a bodiless GET/HEAD, where it could read as a body.
  if (sizeOf(req.body) > 0 || !/^(GET|HEAD)$/i.test(req.method)) {
    raw.push("Content-Length", String(sizeOf(req.body)));
  }
  raw.push(
    "X-Hookly-Webhook-Id",
    req.webhookId,
    "X-Hookly-Attempt",
    String(req.attempt),
    "X-Hookly-Endpoint",
    req.endpointId,
    "X-Hookly-Verified",
    req.signatureValid ? "true" : "false",
  );
  if (req.destinationId) raw.push("X-Hookly-Destination", req.destinationId);
  // note: an event type is provider-chosen text: only a safe header value is forwarded.
  if (req.eventType && /^[\x21-\x7e]{1,200}$/.test(req.eventType)) raw.push("X-Hookly-Event-Type", req.eventType);
  return raw;
}

type Exchange =
  | { kind: "response"; statusCode: number; retryAfter: string | undefined; excerpt: string }
  | { kind: "timeout" | "error" | "stale_socket" | "invalid"; error: string };

/** One HTTP exchange; settles exactly once, never rejects. */
function sendOnce(
  url: URL,
  req: ForwardRequest,
  rawHeaders: string[],
  agent: http.Agent,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Exchange> {
  return new Promise((resolve) => {
    let settled = false;
    let responseStarted = false;
    let statusCode = 0;
    let request: http.ClientRequest | undefined;

    const settle = (exchange: Exchange): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(exchange);
    };
    const stop = (exchange: Exchange): void => {
      settle(exchange);
      request?.destroy();
    };
    const onAbort = (): void => stop({ kind: "error", error: "aborted" });
    let uploading = false;
    const onTimeout = (): void => {
      if (uploading) {
        stop({ kind: "timeout", error: `the body's next part did not come within ${req.timeoutMs} ms` });
        return;
      }
      const got = responseStarted ? ` (got status ${statusCode}, body incomplete)` : "";
      stop({ kind: "timeout", error: `no complete response within ${req.timeoutMs} ms${got}` });
    };
    let timer = setTimeout(onTimeout, timeoutMs);
    /** Restarts the deadline (a streamed body: each part, then the response). */
    const rearm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(onTimeout, req.timeoutMs);
    };
    signal?.addEventListener("abort", onAbort, { once: true });

    // note: an already-aborted signal never fires 'abort'; this also covers an abort before the stale-socket retry.
    if (signal?.aborted) return onAbort();

    const options: http.RequestOptions = {
      method: req.method,
      hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port === "" ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      agent,
      // note: Node 20 takes a flat [name, value, …] array and writes it verbatim —
      // case, order and duplicates kept — but then adds no Host of its own (we
      // add it) and appends only `Connection: keep-alive`.
      headers: rawHeaders as unknown as http.OutgoingHttpHeaders,
    };

    try {
      request = (url.protocol === "https:" ? https : http).request(options);
    } catch (err) {
      // Node validates method and header tokens synchronously.
      settle({ kind: "invalid", error: describeError(err) });
      return;
    }
    const sent = request;

    sent.on("error", (err: NodeJS.ErrnoException) => {
      const stale = sent.reusedSocket && !responseStarted && err.code === "ECONNRESET";
      settle({ kind: stale ? "stale_socket" : "error", error: describeError(err) });
    });
    sent.on("response", (res) => {
      responseStarted = true;
      statusCode = res.statusCode ?? 0;
      const kept: Buffer[] = [];
      let keptBytes = 0;
      // note: UTF-8 needs at most 4 bytes per character; read everything, keep enough for the excerpt.
      const keepBytes = RESPONSE_EXCERPT_CHARS * 4;
      res.on("data", (chunk: Buffer) => {
        if (keptBytes >= keepBytes) return;
        kept.push(chunk.subarray(0, keepBytes - keptBytes));
        keptBytes += Math.min(chunk.length, keepBytes - keptBytes);
      });
      res.on("end", () => {
        const retryAfter = res.headers["retry-after"];
        settle({ kind: "response", statusCode, retryAfter, excerpt: excerptOf(Buffer.concat(kept)) });
      });
      res.on("error", (err) => settle({ kind: "error", error: `response body: ${describeError(err)}` }));
      // note: 'close' without 'end' first means the connection dropped mid-body.
      res.on("close", () => settle({ kind: "error", error: "response body: connection closed early" }));
    });
    if (req.body instanceof Uint8Array) {
      sent.end(req.body);
      return;
    }
    const body = req.body;
    uploading = true;
    void (async () => {
      try {
        for await (const part of body) {
          if (settled) break;
          rearm();
          if (!sent.write(part)) await drained(sent);
        }
        if (settled) return;
        uploading = false;
        rearm();
        sent.end();
      } catch (err) {
        stop({ kind: "error", error: `body: ${describeError(err)}` });
      }
    })();
  });
}

/** Resolves when the request can take more (or is gone). */
function drained(req: http.ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      req.off("drain", done);
      req.off("close", done);
      resolve();
    };
    req.on("drain", done);
    req.on("close", done);
  });
}

function excerptOf(bytes: Buffer): string {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  if (text.length <= RESPONSE_EXCERPT_CHARS) return text;
  // note: characters are UTF-16 code units (what String.length and a schema's max() count); never split a surrogate pair.
  const cut = text.slice(0, RESPONSE_EXCERPT_CHARS);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // note: with happy-eyeballs (autoSelectFamily) a failed connect is an AggregateError whose message is empty.
  if (err.message === "" && err instanceof AggregateError) {
    return err.errors.map((inner: unknown) => describeError(inner)).join("; ") || ((err as NodeJS.ErrnoException).code ?? "error");
  }
  return err.message.length > 200 ? `${err.message.slice(0, 200)}…` : err.message;
}
