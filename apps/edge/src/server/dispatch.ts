/**
 * The edge's HTTP/1.1 requests (everything that is not Connect): the admin
 * REST API under `/api/` behind the auth guard, the other routes (ingest,
 * health, the extensions' routes), then the UI's static files. A wrong method
 * on a known path is 405 with `Allow` everywhere; an unknown path is 404;
 * both in the one error shape.
 */
import type { AuthGuard } from "../auth/auth.guard.js";
import { requireScope } from "../auth/auth.scopes.js";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { StorageReporter } from "../storage/storage.service.js";
import { sendError, sendJson, sendMethodNotAllowed, type NodeRequest, type NodeResponse, type Router } from "./http.js";

/**
 * The request target as a URL, or undefined when it is not an origin-form
 * path. note: `new URL(target, base)` would read `//x` as a host and throw on
 * `//`; the path is appended to a fixed origin instead.
 */
export function requestUrl(target: string | undefined): URL | undefined {
  if (!target?.startsWith("/")) return undefined;
  try {
    return new URL(`http://edge.invalid${target}`);
  } catch {
    return undefined;
  }
}

/** Builds the handler Connect falls back to for requests that are not RPCs. */
export function createHttpDispatch(deps: {
  /** `/api/…`: every request authenticated (and CSRF-checked when it changes state). */
  api: Router;
  /** Everything else that is not the UI. */
  routes: Router;
  guard: Pick<AuthGuard, "requirePrincipal">;
  /** Serves a UI file for GET/HEAD; false when there is none for the path. */
  serveUi: ((req: NodeRequest, res: NodeResponse) => boolean) | undefined;
  /** A storage error of a write behind these routes is reported here (the caller gets 503). */
  storage: Pick<StorageReporter, "failed">;
  log: Logger;
}): (req: NodeRequest, res: NodeResponse) => void {
  const { api, routes, guard, serveUi, storage, log } = deps;
  const header = (req: NodeRequest) => (n: string) => {
    const v = req.headers[n];
    return Array.isArray(v) ? v.join(", ") : v;
  };
  return (req, res) => {
    const url = requestUrl(req.url);
    const method = req.method ?? "GET";
    if (!url) {
      sendJson(res, 400, { error: { code: "invalid_argument", message: "malformed request target" } });
      return;
    }
    void (async () => {
      try {
        const isApi = url.pathname.startsWith("/api/");
        const caller = isApi ? guard.requirePrincipal(header(req), method !== "GET" && method !== "HEAD") : undefined;
        const router = isApi ? api : routes;
        const hit = router.match(method, url.pathname);
        if (hit === "method") {
          sendMethodNotAllowed(res, method, url.pathname, router.allowed(url.pathname));
          return;
        }
        if (hit) {
          if (caller) requireScope(caller.scope, hit.route.scope ?? (method === "GET" || method === "HEAD" ? "read" : "admin"));
          await hit.route.handler(req, res, hit.params, url, caller);
          return;
        }
        if (isApi) throw new AppError("not_found", `no route ${url.pathname}`);
        if ((method === "GET" || method === "HEAD") && serveUi?.(req, res)) return;
        sendJson(res, 404, { error: { code: "not_found", message: `nothing at ${url.pathname}` } });
      } catch (err) {
        storage.failed("admin", err);
        sendError(res, err, log, { path: url.pathname, method });
      }
    })();
  };
}
