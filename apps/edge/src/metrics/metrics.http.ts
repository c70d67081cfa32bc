/**
 * `GET /metrics` for Prometheus, and who may read it:
 *
 * - METRICS_TOKEN set: only requests with `Authorization: Bearer <token>`
 *   (401 otherwise), from anywhere.
 * - unset, METRICS_PUBLIC=false (default): only direct requests from a
 *   loopback address (403 otherwise). A request that came through a reverse
 *   proxy (X-Forwarded-For, Forwarded, X-Real-IP or Via present) is not
 *   direct even though the proxy connects from 127.0.0.1, so a public
 *   Caddy/nginx in front of the edge does not expose the metrics.
 * - unset, METRICS_PUBLIC=true: anyone.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { sendJson, type ConcreteResponse, type NodeRequest, type Route } from "../server/http.js";

/** Who may scrape. */
export interface MetricsAccess {
  token: string | undefined;
  public: boolean;
}

/** Headers a reverse proxy adds; their presence means the request was relayed. */
const PROXY_HEADERS = ["x-forwarded-for", "forwarded", "x-real-ip", "via"];

/** Whether an address is IPv4 127/8 or IPv6 ::1 (also IPv4-mapped). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === "::1";
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Decides a scrape: "ok", or the refusal to answer with. */
export function checkMetricsAccess(
  access: MetricsAccess,
  req: { headers: NodeRequest["headers"]; remoteAddress: string | undefined },
): "ok" | "unauthenticated" | "forbidden" {
  if (access.token) {
    const header = req.headers.authorization;
    const m = typeof header === "string" ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    // note: compare digests so neither the length nor a prefix of the token leaks through timing.
    return m && timingSafeEqual(digest(m[1]!), digest(access.token)) ? "ok" : "unauthenticated";
  }
  if (access.public) return "ok";
  const relayed = PROXY_HEADERS.some((h) => req.headers[h] !== undefined);
  return isLoopback(req.remoteAddress) && !relayed ? "ok" : "forbidden";
}

/** What a scrape reads: a prom-client `Registry`, or anything shaped like one. */
export interface MetricsSource {
  /** The Content-Type of `metrics()`'s text (the registry's exposition format). */
  readonly contentType: string;
  /** The exposition text, read now. */
  metrics(): Promise<string>;
}

/** The route; `source` produces the exposition text and its Content-Type. */
export function metricsRoutes(access: MetricsAccess, source: MetricsSource): Route[] {
  return [
    {
      method: "GET",
      path: "/metrics",
      handler: async (req, res) => {
        const verdict = checkMetricsAccess(access, { headers: req.headers, remoteAddress: req.socket?.remoteAddress });
        if (verdict === "unauthenticated") {
          sendJson(
            res,
            401,
            { error: { code: "unauthenticated", message: "send Authorization: Bearer <METRICS_TOKEN>" } },
            {
              "www-authenticate": 'Bearer realm="hookly metrics"',
            },
          );
          return;
        }
        if (verdict === "forbidden") {
          sendJson(res, 403, {
            error: { code: "permission_denied", message: "metrics answer loopback requests only; set METRICS_TOKEN to scrape from elsewhere" },
          });
          return;
        }
        const body = await source.metrics();
        (res as ConcreteResponse).writeHead(200, {
          "content-type": source.contentType,
          "cache-control": "no-store",
          "content-length": Buffer.byteLength(body),
        });
        res.end(body);
      },
    },
  ];
}
