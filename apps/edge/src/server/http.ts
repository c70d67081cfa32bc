/**
 * Small HTTP primitives shared by the REST, ingest, auth and static routes:
 * JSON answers in one error shape, bounded body reading, path routing.
 */
import type http from "node:http";
import type http2 from "node:http2";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import type { Scope } from "../auth/auth.scopes.js";
import { AppError, ERROR_ANSWERS, storageAppError } from "../errors.js";
import type { Logger } from "../logger.js";
import { continueIfAsked } from "./listener.js";

/** A request on either protocol. */
export type NodeRequest = Parameters<NodeHandler>[0];
/** A response on either protocol. */
export type NodeResponse = Parameters<NodeHandler>[1];
type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
/** The concrete response types, for code that needs one of them. */
export type ConcreteResponse = http.ServerResponse | http2.Http2ServerResponse;

/** The client went away before its body was read (nothing to answer). */
export class RequestAbortedError extends Error {
  override name = "RequestAbortedError";
  constructor() {
    super("request aborted by the client");
  }
}

/** Sends a JSON body. */
export function sendJson(res: NodeResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  (res as http.ServerResponse).writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

/**
 * Answers an error: AppError with its code and message (and Retry-After when
 * it has one), a storage error as 503 (the storage service logs the outage
 * once, so it is not logged per request), anything else logged with context
 * and answered as a bare 500.
 */
export function sendError(res: NodeResponse, err: unknown, log: Logger, context: Record<string, unknown> = {}): void {
  if (res.headersSent) {
    res.destroy?.();
    return;
  }
  const known = err instanceof AppError ? err : storageAppError(err);
  if (known) {
    const headers: Record<string, string> = known.retryAfterS === undefined ? {} : { "retry-after": String(known.retryAfterS) };
    sendJson(res, ERROR_ANSWERS[known.code].http, { error: { code: known.code, message: known.message } }, headers);
    return;
  }
  log.error({ err, ...context }, "unexpected error");
  sendJson(res, 500, { error: { code: "internal", message: "internal error" } });
}

/** A body with no bytes for this long has stopped arriving (408). */
export const BODY_IDLE_TIMEOUT_MS = 30_000;
/** A body not complete this long after it was asked for is too slow (408), as HTTP/1.1's requestTimeout is for the whole request. */
export const BODY_TIMEOUT_MS = 300_000;

/** Options of {@link readBody}. */
export interface ReadBodyOptions {
  /** Sees the bytes received so far after each chunk; an error refuses the rest. */
  admit?: (received: number) => AppError | undefined;
  /** Default {@link BODY_IDLE_TIMEOUT_MS}. */
  idleTimeoutMs?: number;
  /** Default {@link BODY_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** The Content-Length header as a number of bytes, or undefined when absent or not a plain non-negative integer. */
export function declaredLength(header: string | string[] | undefined): number | undefined {
  if (typeof header !== "string" || !/^\d{1,16}$/.test(header.trim())) return undefined;
  return Number(header.trim());
}

/**
 * Reads a whole body into memory (at most `limit` bytes): for the API's small
 * JSON bodies and tests. See {@link receiveBody} for errors and deadlines.
 */
export async function readBody(req: NodeRequest, limit: number, opts: ReadBodyOptions = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const size = await receiveBody(req, limit, (chunk) => void chunks.push(chunk), opts);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/**
 * Hands a request body to `sink` chunk by chunk as it arrives and resolves with its size. When
 * the sink returns a promise (its write is under way), the request is paused until it settles:
 * the body is taken no faster than the sink takes it. A sink that rejects fails the read.
 *
 * Fails with payload_too_large past `limit` (at once when Content-Length says so), with the
 * `admit` error, with request_timeout when nothing arrives for the idle timeout or all of it
 * takes longer than the total one (time spent waiting on the sink counts towards neither's
 * idleness), and with RequestAbortedError when the client goes away. Sends `100 Continue` when
 * the client asked for it.
 */
export function receiveBody(req: NodeRequest, limit: number, sink: (chunk: Buffer) => Promise<void> | undefined, opts: ReadBodyOptions = {}): Promise<number> {
  const declared = declaredLength(req.headers["content-length"]);
  if (declared !== undefined && declared > limit) {
    return Promise.reject(new AppError("payload_too_large", `body of ${declared} bytes exceeds the ${limit}-byte limit`));
  }
  continueIfAsked(req);
  const idleMs = opts.idleTimeoutMs ?? BODY_IDLE_TIMEOUT_MS;
  const totalMs = opts.timeoutMs ?? BODY_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let size = 0;
    let done = false;
    /** The sink's write under way, if any. */
    let writing: Promise<void> | undefined;
    let ended = false;
    /** Ends the read once: no more chunks are taken and both timers stop. */
    const settle = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(idle);
      clearTimeout(total);
      return true;
    };
    const fail = (err: unknown) => {
      if (settle()) reject(err);
    };
    const finish = () => {
      if (settle()) resolve(size);
    };
    const onIdle = () => {
      // note: waiting on our own sink (the disk) is not the client's silence.
      if (writing) return idle.refresh();
      fail(new AppError("request_timeout", `the body stopped arriving: nothing for ${idleMs / 1000} s after ${size} bytes`));
    };
    const idle = setTimeout(onIdle, idleMs);
    const total = setTimeout(() => fail(new AppError("request_timeout", `the body took longer than ${totalMs / 1000} s (${size} bytes arrived)`)), totalMs);
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      idle.refresh();
      size += chunk.length;
      if (size > limit) return fail(new AppError("payload_too_large", `body exceeds the ${limit}-byte limit`));
      const refused = opts.admit?.(size);
      if (refused) return fail(refused);
      let pending: Promise<void> | undefined;
      try {
        pending = sink(chunk);
      } catch (err) {
        return fail(err);
      }
      if (!pending) return;
      writing = pending;
      req.pause();
      pending.then(
        () => {
          writing = undefined;
          if (done) return;
          idle.refresh();
          if (ended) finish();
          else req.resume();
        },
        (err: unknown) => {
          writing = undefined;
          fail(err);
        },
      );
    });
    req.on("end", () => {
      ended = true;
      if (!writing) finish();
    });
    req.on("error", (err: Error) => fail(err));
    req.on("aborted", () => fail(new RequestAbortedError()));
  });
}

/** Reads and parses a JSON body (≤ 1 MiB); a bad one is invalid_argument. */
export async function readJson(req: NodeRequest): Promise<unknown> {
  const body = await readBody(req, 1024 * 1024);
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new AppError("invalid_argument", "body is not valid JSON");
  }
}

/** Headers as [name, value] pairs in arrival order, without HTTP/2 pseudo-headers. */
export function rawHeaderPairs(req: NodeRequest): [string, string][] {
  const raw = req.rawHeaders;
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (!name.startsWith(":")) pairs.push([name, raw[i + 1]!]);
  }
  return pairs;
}

/**
 * The client's address. Behind a trusted proxy (TRUST_PROXY) it is the
 * right-most X-Forwarded-For entry — the one that proxy appended, which the
 * client cannot choose (the entries to its left are whatever the client
 * sent); otherwise, or without the header, the socket's peer.
 */
export function clientAddress(req: NodeRequest, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const header = req.headers["x-forwarded-for"];
    const last = (Array.isArray(header) ? header.join(",") : (header ?? ""))
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .at(-1);
    if (last) return last;
  }
  return req.socket?.remoteAddress;
}

/** A matched route's path parameters. */
export type Params = Record<string, string>;

/** One HTTP route. */
export interface Route {
  method: string;
  /** Path with `:name` segments, e.g. `/api/webhooks/:id/replay`. */
  path: string;
  /**
   * `/api/…` routes: the scope a caller needs (auth/auth.scopes.ts); default
   * `read` for GET and HEAD, `admin` for the rest. A handler that needs more
   * for some bodies checks `caller` itself.
   */
  scope?: Scope;
  /** `caller`: who called an `/api/…` route (its audit name in `id`, e.g. `admin`, `token:<id>`). */
  handler: (req: NodeRequest, res: NodeResponse, params: Params, url: URL, caller?: { scope: Scope; id: string }) => void | Promise<void>;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

/** A path segment without its percent-encoding; a malformed one (`%ZZ`) is the client's error, 400. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AppError("invalid_argument", `the path has malformed percent-encoding: ${JSON.stringify(segment.slice(0, 100))}`);
  }
}

/** A path router; `match` returns undefined (404) or "method" (405, see `allowed`). */
export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(...routes: Route[]): this {
    for (const r of routes) {
      const names: string[] = [];
      const pattern = r.path.replace(/:([a-zA-Z]+)/g, (_, n: string) => {
        names.push(n);
        return "([^/]+)";
      });
      this.routes.push({ ...r, regex: new RegExp(`^${pattern}/?$`), names });
    }
    return this;
  }

  match(method: string, path: string): { route: Route; params: Params } | "method" | undefined {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.regex.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method && !(method === "HEAD" && r.method === "GET")) continue;
      const params: Params = {};
      r.names.forEach((n, i) => {
        params[n] = decodePathSegment(m[i + 1]!);
      });
      return { route: r, params };
    }
    return pathMatched ? "method" : undefined;
  }

  /** The methods routed on `path` (for a 405's Allow header); HEAD comes with GET. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const r of this.routes) if (r.regex.test(path)) methods.add(r.method);
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  }
}

/** Answers 405 the same way everywhere: the error shape, and the methods that are allowed. */
export function sendMethodNotAllowed(res: NodeResponse, method: string, path: string, allowed: readonly string[]): void {
  sendJson(
    res,
    405,
    { error: { code: "method_not_allowed", message: `${method} is not allowed on ${path}` } },
    allowed.length > 0 ? { allow: allowed.join(", ") } : {},
  );
}
