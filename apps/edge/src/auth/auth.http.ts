/**
 * The browser side of sign-in, the contract the UI is built against:
 *
 * - `GET  /auth/session`          → 200 `{ authenticated, login?, avatarUrl?, principal?, csrfToken?, githubEnabled }` (never 401)
 * - `GET  /auth/github/login`     → 302 to GitHub (state + PKCE S256), state bound to the `hookly_oauth` cookie
 * - `GET  /auth/github/callback`  → 302 `/` with a session cookie, `/denied?login=…` when refused, or
 *                                   `/signin?error=invalid_state|expired_state|state_mismatch|github_error|access_denied`
 * - `POST /auth/token`            `{ token }` (ADMIN_TOKEN or an API token) → 204 with a session cookie, 401, or 429
 * - `POST /auth/logout`           → 204, cookie expired (x-hookly-csrf required for a live cookie session)
 *
 * Every error is JSON `{ error: { code, message } }`. Cookies are HttpOnly,
 * SameSite=Lax, and Secure when BASE_URL is https. Logs name the login or
 * principal, never a token, code or cookie.
 */
import type http from "node:http";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import { clientAddress, readJson, sendJson, type NodeRequest, type NodeResponse, type Route } from "../server/http.js";
import {
  OAUTH_COOKIE,
  OAUTH_STATE_TTL_MS,
  SESSION_COOKIE,
  cookieValue,
  secretEquals,
  type AttemptLimiter,
  type AuthService,
  type Authenticator,
  type NewSession,
} from "./auth.service.js";

/** What the auth routes need. */
export interface AuthHttpOptions {
  auth: AuthService;
  /** Every way a caller can prove itself (admin token, API token, session), for `GET /auth/session`. */
  authenticate: Authenticator;
  /** Counts failed `POST /auth/token` attempts per client IP. */
  limiter: AttemptLimiter;
  log: Logger;
  /** BASE_URL: https means Secure cookies. */
  baseUrl: string;
  /** Take the client IP from X-Forwarded-For (rate limiting). */
  trustProxy: boolean;
}

/** Paths served here; other `/auth/*` paths answer JSON 404 rather than the UI. */
const PATHS = ["/auth/session", "/auth/github/login", "/auth/github/callback", "/auth/token", "/auth/logout"];

/** The `/auth/*` routes. */
export function authRoutes(o: AuthHttpOptions): Route[] {
  const secure = o.baseUrl.startsWith("https://");

  const cookie = (name: string, value: string, maxAgeS: number, path: string) =>
    `${name}=${value}; HttpOnly; SameSite=Lax; Path=${path}; Max-Age=${maxAgeS}${secure ? "; Secure" : ""}`;
  const sessionCookie = (s: NewSession) => cookie(SESSION_COOKIE, s.cookieValue, Math.floor((s.expiresAt - s.createdAt) / 1000), "/");
  const clearSessionCookie = () => cookie(SESSION_COOKIE, "", 0, "/");
  const clearOAuthCookie = () => cookie(OAUTH_COOKIE, "", 0, "/auth/github");
  const clearNextCookie = () => cookie(NEXT_COOKIE, "", 0, "/auth/github");

  /** Ends the browser's current session, if any, before another opens (no session fixation). */
  const endCurrentSession = (req: NodeRequest) => {
    const current = cookieValue(headerOf(req), SESSION_COOKIE);
    if (current) o.auth.endSession(current);
  };

  const routes: Route[] = [
    {
      method: "GET",
      path: "/auth/session",
      handler: (req, res) => {
        const p = o.authenticate(headerOf(req));
        const githubEnabled = o.auth.githubEnabled;
        if (!p) {
          sendJson(res, 200, { authenticated: false, githubEnabled });
          return;
        }
        sendJson(res, 200, {
          authenticated: true,
          principal: p.id,
          login: p.login,
          avatarUrl: p.avatarUrl,
          csrfToken: p.via === "session" ? p.csrfToken : undefined,
          githubEnabled,
        });
      },
    },
    {
      method: "GET",
      path: "/auth/github/login",
      handler: (_req, res, _params, url) => {
        const { state, url: to } = o.auth.beginGitHubSignIn();
        // note: where to land afterwards travels in a cookie of its own beside the state, same-origin paths only.
        const next = sameOriginPath(url.searchParams.get("next"));
        const cookies = [cookie(OAUTH_COOKIE, state, OAUTH_STATE_TTL_MS / 1000, "/auth/github")];
        if (next !== "/") cookies.push(cookie(NEXT_COOKIE, encodeURIComponent(next), OAUTH_STATE_TTL_MS / 1000, "/auth/github"));
        redirect(res, to.toString(), cookies);
      },
    },
    {
      method: "GET",
      path: "/auth/github/callback",
      handler: async (req, res, _params, url) => {
        if (!o.auth.githubEnabled) throw new AppError("not_found", "GitHub sign-in is not configured");
        const q = url.searchParams;
        const githubError = q.get("error");
        if (githubError) {
          // The user cancelled on GitHub (access_denied) or GitHub refused the request.
          const reason = githubError === "access_denied" ? "access_denied" : "github_error";
          o.log.info({ reason, githubError: githubError.slice(0, 64) }, "GitHub sign-in not completed");
          redirect(res, `/signin?error=${reason}`, [clearOAuthCookie(), clearNextCookie()]);
          return;
        }
        const result = await o.auth.completeGitHubSignIn({
          code: q.get("code"),
          state: q.get("state"),
          cookieState: cookieValue(headerOf(req), OAUTH_COOKIE),
        });
        if (result.ok) {
          endCurrentSession(req);
          o.log.info({ login: result.login, principal: result.session.principal.id }, "signed in with GitHub");
          const next = sameOriginPath(safeDecode(cookieValue(headerOf(req), NEXT_COOKIE)));
          redirect(res, next, [clearOAuthCookie(), clearNextCookie(), sessionCookie(result.session)]);
        } else if (result.reason === "not_allowed") {
          o.log.warn({ login: result.login }, "GitHub sign-in refused: neither an allowed user nor an organization member");
          redirect(res, `/denied?login=${encodeURIComponent(result.login)}`, [clearOAuthCookie(), clearNextCookie()]);
        } else {
          o.log.warn({ reason: result.reason, detail: result.detail }, "GitHub sign-in failed");
          redirect(res, `/signin?error=${result.reason}`, [clearOAuthCookie(), clearNextCookie()]);
        }
      },
    },
    {
      method: "POST",
      path: "/auth/token",
      handler: async (req, res) => {
        const ip = clientAddress(req, o.trustProxy) ?? "unknown";
        const retryAfterMs = o.limiter.retryAfterMs(ip);
        if (retryAfterMs > 0) {
          sendJson(
            res,
            429,
            { error: { code: "resource_exhausted", message: "too many failed sign-in attempts; try again later" } },
            { "retry-after": String(Math.ceil(retryAfterMs / 1000)) },
          );
          return;
        }
        // note: requiring JSON makes a cross-site form post impossible (it would need a CORS
        // preflight, which the edge never grants), so another site cannot sign a browser in.
        if (!/^application\/json\b/i.test(String(req.headers["content-type"] ?? ""))) {
          throw new AppError("invalid_argument", 'send JSON { "token": "…" } with content-type: application/json');
        }
        const body = (await readJson(req)) as { token?: unknown } | null;
        const token = typeof body?.token === "string" ? body.token.trim() : "";
        if (!token) throw new AppError("invalid_argument", "token is required");
        const principal = o.auth.principalForSecret(token);
        if (!principal) {
          o.limiter.fail(ip);
          o.log.warn({ ip }, "token sign-in refused");
          throw new AppError("unauthenticated", "unknown or revoked token");
        }
        endCurrentSession(req);
        const session = o.auth.startSession({ id: principal.id, login: principal.login, scope: principal.scope });
        o.log.info({ principal: principal.id }, "signed in with a token");
        noContent(res, [sessionCookie(session)]);
      },
    },
    {
      method: "POST",
      path: "/auth/logout",
      handler: (req, res) => {
        const header = headerOf(req);
        const current = cookieValue(header, SESSION_COOKIE);
        const p = current ? o.auth.sessionFromCookie(current) : undefined;
        if (current && p) {
          const csrf = header("x-hookly-csrf");
          if (!csrf || !p.csrfToken || !secretEquals(csrf, p.csrfToken)) {
            throw new AppError("permission_denied", "missing or wrong x-hookly-csrf header");
          }
          o.auth.endSession(current);
          o.log.info({ principal: p.id }, "signed out");
        }
        noContent(res, [clearSessionCookie()]);
      },
    },
  ];

  const known = new Set(PATHS);
  const fallback: Route["handler"] = (req, res, _params, url) => {
    const path = url.pathname.replace(/\/+$/, "");
    if (known.has(path)) {
      sendJson(res, 405, { error: { code: "method_not_allowed", message: `${req.method} is not allowed on ${path}` } });
    } else {
      sendJson(res, 404, { error: { code: "not_found", message: `nothing at ${path}` } });
    }
  };
  for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
    for (const path of ["/auth/:a", "/auth/:a/:b", "/auth/:a/:b/:c"]) routes.push({ method, path, handler: fallback });
  }
  return routes;
}

/** A header accessor over a Node request (repeated headers joined). */
export function headerOf(req: NodeRequest): (name: string) => string | undefined {
  return (name) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(", ") : v;
  };
}

/** The cookie that carries `?next=` through GitHub's sign-in. */
const NEXT_COOKIE = "hookly_next";

/**
 * A same-origin path to land on, or "/": only a path (`/…`), never `//host`,
 * `/\host`, a scheme or control characters, so a crafted link cannot send a
 * person elsewhere (the UI's token sign-in follows the same rule).
 */
export function sameOriginPath(next: string | null | undefined): string {
  if (!next?.startsWith("/") || next.startsWith("//") || next.startsWith("/\\") || next.length > 2048) return "/";
  // note: no control characters (a header split, a path a browser reads otherwise).
  for (let i = 0; i < next.length; i++) {
    const c = next.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return "/";
  }
  return next;
}

const safeDecode = (v: string | undefined): string | undefined => {
  if (v === undefined) return undefined;
  try {
    return decodeURIComponent(v);
  } catch {
    return undefined;
  }
};

function redirect(res: NodeResponse, location: string, cookies: string[]): void {
  (res as http.ServerResponse).writeHead(302, {
    location,
    "set-cookie": cookies,
    "cache-control": "no-store",
    "content-length": "0",
  });
  res.end();
}

function noContent(res: NodeResponse, cookies: string[]): void {
  (res as http.ServerResponse).writeHead(204, { "set-cookie": cookies, "cache-control": "no-store" });
  res.end();
}
