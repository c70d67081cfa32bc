/**
 * `POST /h/{endpoint-id}`: what providers call. Answers 202 with the webhook
 * id only once it is on disk; 404 for an unknown endpoint, 413 over
 * MAX_PAYLOAD_BYTES, 503 with Retry-After while storage refuses new webhooks,
 * the database cannot write, or the bodies being received already hold
 * INGEST_MAX_INFLIGHT_BYTES (so the provider retries).
 *
 * Everything that can be answered without the body is answered before it is
 * read (a client that sent `Expect: 100-continue` never sends it); a large
 * unread body closes the connection instead of being read (ingest.admission.ts).
 */
import http2, { type Http2ServerRequest } from "node:http2";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import {
  RequestAbortedError,
  clientAddress,
  declaredLength,
  receiveBody,
  rawHeaderPairs,
  sendError,
  sendJson,
  type NodeRequest,
  type NodeResponse,
  type Route,
} from "../server/http.js";
import { BUSY_RETRY_AFTER_S, BodyBudget, unreadBodyAction } from "./ingest.admission.js";
import type { IngestService, Reception } from "./ingest.service.js";

/** Where the source IP comes from, and the body limits. */
export interface IngestHttpOptions {
  maxPayloadBytes: number;
  /** Bytes all bodies being received may hold at once. */
  maxInflightBytes: number;
  /** Use the left-most X-Forwarded-For entry (only behind a trusted proxy). */
  trustProxy: boolean;
}

/**
 * Answers `err` to a request whose body was not (all) read. `declared`: the body's announced length
 * when nothing of it was read yet (a small one is then drained, keeping the connection); undefined
 * once reading stopped part-way. Otherwise the body is not read: on HTTP/1.1 the connection closes
 * after the answer, on HTTP/2 the stream is reset once the answer is sent.
 */
function answerUnread(req: NodeRequest, res: NodeResponse, err: unknown, log: Logger, endpointId: string, declared: number | undefined): void {
  const isHttp2 = req.httpVersion === "2.0";
  if (unreadBodyAction(declared, isHttp2) === "close") {
    if (isHttp2) res.once("finish", () => (req as Http2ServerRequest).stream.close(http2.constants.NGHTTP2_CANCEL));
    else res.setHeader("connection", "close");
  }
  sendError(res, err, log, { endpointId });
}

/** The ingest route. */
export function ingestRoutes(ingest: IngestService, log: Logger, opts: IngestHttpOptions): Route[] {
  const budget = new BodyBudget(opts.maxInflightBytes);
  const busy = () => new AppError("unavailable", "the edge is receiving too many webhook bodies at once; retry shortly", { retryAfterS: BUSY_RETRY_AFTER_S });
  const handler: Route["handler"] = async (req, res, params, url) => {
    const endpointId = params.id!;
    const declared = declaredLength(req.headers["content-length"]);
    let reception: Reception;
    try {
      reception = ingest.begin({
        endpointId,
        method: req.method ?? "POST",
        query: url.search.replace(/^\?/, ""),
        headers: rawHeaderPairs(req),
        sourceIp: clientAddress(req, opts.trustProxy) ?? null,
      });
    } catch (err) {
      // note: storage cannot take it, or no such endpoint: answer before reading a body that would only be thrown away.
      return answerUnread(req, res, err, log, endpointId, declared);
    }
    const r = reception;
    const lease = budget.lease();
    if (declared !== undefined && declared <= opts.maxPayloadBytes && !lease.grow(declared)) {
      r.abandon();
      lease.release();
      return answerUnread(req, res, busy(), log, endpointId, declared);
    }
    try {
      // note: the body goes to the reception as it arrives (to disk past 1 MiB), never whole in memory.
      await receiveBody(req, opts.maxPayloadBytes, (chunk) => r.write(chunk), { admit: (received) => (lease.grow(received) ? undefined : busy()) });
      const result = await r.commit();
      sendJson(res, 202, { id: result.webhookId, verified: result.signatureValid });
    } catch (err) {
      r.abandon();
      if (err instanceof RequestAbortedError) return;
      if (err instanceof AppError && (err.code === "payload_too_large" || err.code === "unavailable" || err.code === "request_timeout")) {
        // note: stop reading a body we refuse; the client learns why first.
        return answerUnread(req, res, err, log, endpointId, undefined);
      }
      sendError(res, err, log, { endpointId });
    } finally {
      lease.release();
    }
  };
  return [{ method: "POST", path: "/h/:id", handler }];
}
