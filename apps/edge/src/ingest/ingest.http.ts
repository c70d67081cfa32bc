/**
 * `POST /h/{endpoint-id}`: what providers call. Answers 202 with the webhook
 * id only once it is on disk; 404 for an unknown endpoint, 413 over
 * MAX_PAYLOAD_BYTES, 503 with Retry-After while storage refuses new webhooks or
 * the database cannot write (so the provider retries).
 */
import type { Logger } from "../logger.js";
import { RequestAbortedError, readBody, rawHeaderPairs, sendError, sendJson, type Route } from "../server/http.js";
import type { IngestService } from "./ingest.service.js";

/** Where the source IP comes from. */
export interface IngestHttpOptions {
  maxPayloadBytes: number;
  /** Use the left-most X-Forwarded-For entry (only behind a trusted proxy). */
  trustProxy: boolean;
}

/** The ingest route. */
export function ingestRoutes(ingest: IngestService, log: Logger, opts: IngestHttpOptions): Route[] {
  const handler: Route["handler"] = async (req, res, params, url) => {
    const endpointId = params.id!;
    const refused = ingest.refusal();
    if (refused) {
      // note: storage cannot take it: answer before reading a body that would only be thrown away.
      if (req.httpVersion !== "2.0") res.setHeader("connection", "close");
      req.resume();
      sendError(res, refused, log, { endpointId });
      return;
    }
    try {
      const body = await readBody(req, opts.maxPayloadBytes);
      const forwarded = opts.trustProxy
        ? String(req.headers["x-forwarded-for"] ?? "")
            .split(",")[0]
            ?.trim()
        : "";
      const result = await ingest.accept({
        endpointId,
        method: req.method ?? "POST",
        query: url.search.replace(/^\?/, ""),
        headers: rawHeaderPairs(req),
        body,
        sourceIp: forwarded || req.socket?.remoteAddress || null,
      });
      sendJson(res, 202, { id: result.webhookId, verified: result.signatureValid });
    } catch (err) {
      if (err instanceof RequestAbortedError) return;
      if (err instanceof Error && "code" in err && err.code === "payload_too_large") {
        // note: stop reading a body we refuse; the client learns why first.
        res.setHeader("connection", "close");
      }
      sendError(res, err, log, { endpointId });
    }
  };
  return [{ method: "POST", path: "/h/:id", handler }];
}
