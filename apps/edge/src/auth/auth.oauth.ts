/**
 * The MCP authorization flow (issue #14, MCP's authorization spec): the edge
 * is the OAuth 2.1 authorization server of its own `/mcp`, and delegates
 * sign-in to what already exists (the admin token or GitHub, via /signin).
 *
 *   GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
 *   POST /oauth/register                            RFC 7591 dynamic client registration (public clients)
 *   GET  /oauth/authorize                           not signed in → /signin?next=…; else a consent page
 *   POST /oauth/authorize                           approve (CSRF token of the session) or deny → redirect_uri
 *   POST /oauth/token                               authorization_code + PKCE (S256) → an access token
 *
 * (The protected-resource metadata, RFC 9728, is the MCP extension's.)
 *
 * The access token is an API token (`hk_…`) named after the client, with the
 * scope the person approved (never wider than their own): it shows under
 * Tokens, is revoked there, and goes with whoever approved it — no second
 * kind of credential. Codes are single use, live 60 s, and are bound to the
 * client, its redirect URI, the PKCE challenge and the approver. Redirect
 * URIs are https, or http on loopback (a desktop client's local listener).
 */
import { createHash } from "node:crypto";
import type { Clock } from "../clock.js";
import type { Db } from "../db/db.js";
import { AppError } from "../errors.js";
import { newId } from "../ids.js";
import type { Logger } from "../logger.js";
import { type NodeRequest, type NodeResponse, type Route, readBody, sendJson } from "../server/http.js";
import { SCOPES, type Scope, covers, isScope } from "./auth.scopes.js";
import { type AuthService, SESSION_COOKIE, cookieValue, randomValue, secretEquals, sha256Hex } from "./auth.service.js";

/** How long an authorization code lives. */
export const CODE_TTL_MS = 60_000;
/** Most redirect URIs one client registers. */
const MAX_REDIRECT_URIS = 10;

/** Whether a redirect URI is acceptable: https, or http on a loopback host; no fragment. */
export function checkRedirectUri(value: unknown): string {
  if (typeof value !== "string") throw new AppError("invalid_argument", "redirect_uris must be strings");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppError("invalid_argument", `redirect_uri ${JSON.stringify(value)} is not an absolute URL`);
  }
  const loopback = url.hostname === "localhost" || url.hostname === "127.0.0.1" || url.hostname === "[::1]";
  if (url.hash) throw new AppError("invalid_argument", "a redirect_uri has no fragment");
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new AppError("invalid_argument", `redirect_uri ${JSON.stringify(value)} must be https, or http on localhost`);
  }
  return url.toString();
}

/** The PKCE S256 challenge of a verifier. */
export function s256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

/** A 302 to `location`, never cached. */
function redirectTo(res: NodeResponse, location: string): void {
  res.writeHead(302, { location, "cache-control": "no-store" });
  res.end();
}

/** What the consent page shows; escapes every value. */
function consentPage(o: { clientName: string; choices: Scope[]; preferred: Scope; login: string; fields: Record<string, string>; csrf: string }): string {
  const e = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const hidden = Object.entries({ ...o.fields, csrf: o.csrf })
    .map(([k, v]) => `<input type="hidden" name="${e(k)}" value="${e(v)}">`)
    .join("");
  const what = {
    read: "see endpoints, webhooks, hubs and status",
    operate: "also replay webhooks and unstick queues",
    admin: "also change endpoints, destinations and hubs",
  };
  const radios = o.choices
    .map((x) => `<label><input type="radio" name="scope" value="${x}"${x === o.preferred ? " checked" : ""}> <b>${x}</b>: ${e(what[x])}</label>`)
    .join("<br>");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Allow access to Hookly</title><style>body{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#111}
button{font:inherit;padding:.5rem 1rem;margin-right:.5rem;border-radius:.375rem;border:1px solid #888;background:#fff}button[value=approve]{background:#111;color:#fff}</style></head>
<body><h1>Allow ${e(o.clientName)}?</h1><p><b>${e(o.clientName)}</b> asks to use Hookly as <b>${e(o.login)}</b>.</p>
<p>It gets an API token, listed under Tokens, where you can revoke it at any time.</p>
<form method="post" action="/oauth/authorize">${hidden}<p>${radios}</p><button name="decision" value="approve" data-testid="oauth-approve">Allow</button><button name="decision" value="deny" data-testid="oauth-deny">Deny</button></form></body></html>`;
}

/** The OAuth routes. */
export function oauthRoutes(o: { db: Db; auth: AuthService; clock: Clock; log: Logger; baseUrl: string }): Route[] {
  const { db, auth, clock, log, baseUrl } = o;
  const insertClient = db.prepare<[string, string, string, number]>(`INSERT INTO oauth_client (id, name, redirect_uris, created_at) VALUES (?, ?, ?, ?)`);
  const clientById = db.prepare<[string], { id: string; name: string; redirect_uris: string }>(`SELECT id, name, redirect_uris FROM oauth_client WHERE id = ?`);
  const insertCode = db.prepare<[string, string, string, string, string, string, number]>(
    `INSERT INTO oauth_code (code_hash, client_id, redirect_uri, code_challenge, scope, principal, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const takeCode = db.prepare<
    [string],
    { client_id: string; redirect_uri: string; code_challenge: string; scope: Scope; principal: string; expires_at: number }
  >(`DELETE FROM oauth_code WHERE code_hash = ? RETURNING client_id, redirect_uri, code_challenge, scope, principal, expires_at`);
  const purgeCodes = db.prepare<[number]>(`DELETE FROM oauth_code WHERE expires_at < ?`);

  const clientOf = (id: string | null) => {
    const row = id ? clientById.get(id) : undefined;
    return row && { id: row.id, name: row.name, redirectUris: JSON.parse(row.redirect_uris) as string[] };
  };
  /** An OAuth error answer (RFC 6749 §5.2). */
  const oauthError = (res: NodeResponse, status: number, error: string, description: string) =>
    sendJson(res, status, { error, error_description: description }, { "cache-control": "no-store" });
  /** Back to the client with an error (once its redirect URI is known to be its own). */
  const redirectError = (res: NodeResponse, redirectUri: string, state: string | null, error: string, description: string) => {
    const to = new URL(redirectUri);
    to.searchParams.set("error", error);
    to.searchParams.set("error_description", description);
    if (state) to.searchParams.set("state", state);
    redirectTo(res, to.toString());
  };
  const formOf = async (req: NodeRequest): Promise<URLSearchParams> => new URLSearchParams((await readBody(req, 64 * 1024)).toString("utf8"));

  /** The checked parameters of an authorization request, from the query (GET) or the consent form (POST). */
  const authorizeRequest = (p: URLSearchParams) => {
    const client = clientOf(p.get("client_id"));
    if (!client) return { kind: "bad" as const, message: "unknown client_id: register the client first (POST /oauth/register)" };
    const redirectUri = p.get("redirect_uri") ?? (client.redirectUris.length === 1 ? client.redirectUris[0]! : "");
    if (!client.redirectUris.includes(redirectUri)) return { kind: "bad" as const, message: "redirect_uri is not one this client registered" };
    const state = p.get("state");
    if (p.get("response_type") !== "code")
      return { kind: "redirect" as const, redirectUri, state, error: "unsupported_response_type", message: "response_type must be code" };
    const challenge = p.get("code_challenge") ?? "";
    if (p.get("code_challenge_method") !== "S256" || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
      return {
        kind: "redirect" as const,
        redirectUri,
        state,
        error: "invalid_request",
        message: "PKCE is required: code_challenge with code_challenge_method S256",
      };
    }
    const words = (p.get("scope") ?? "").split(" ").filter(Boolean);
    const requested = words.filter(isScope);
    if (words.length > 0 && requested.length === 0) {
      return { kind: "redirect" as const, redirectUri, state, error: "invalid_scope", message: `scope must be among ${SCOPES.join(", ")}` };
    }
    return { kind: "ok" as const, client, redirectUri, state, challenge, requested };
  };

  return [
    {
      method: "GET",
      path: "/.well-known/oauth-authorization-server",
      handler: (_req, res) =>
        sendJson(res, 200, {
          issuer: baseUrl,
          authorization_endpoint: `${baseUrl}/oauth/authorize`,
          token_endpoint: `${baseUrl}/oauth/token`,
          registration_endpoint: `${baseUrl}/oauth/register`,
          response_types_supported: ["code"],
          grant_types_supported: ["authorization_code"],
          code_challenge_methods_supported: ["S256"],
          token_endpoint_auth_methods_supported: ["none"],
          scopes_supported: [...SCOPES],
        }),
    },
    {
      method: "POST",
      path: "/oauth/register",
      handler: async (req, res) => {
        let body: { client_name?: unknown; redirect_uris?: unknown; token_endpoint_auth_method?: unknown };
        try {
          body = JSON.parse((await readBody(req, 64 * 1024)).toString("utf8")) as typeof body;
        } catch {
          return oauthError(res, 400, "invalid_client_metadata", "the body is not JSON");
        }
        try {
          if (!Array.isArray(body.redirect_uris) || body.redirect_uris.length === 0 || body.redirect_uris.length > MAX_REDIRECT_URIS) {
            throw new AppError("invalid_argument", `redirect_uris must list 1–${MAX_REDIRECT_URIS} URIs`);
          }
          const redirectUris = body.redirect_uris.map(checkRedirectUri);
          if (body.token_endpoint_auth_method !== undefined && body.token_endpoint_auth_method !== "none") {
            throw new AppError("invalid_argument", "only public clients (token_endpoint_auth_method none, with PKCE) are registered");
          }
          const name = typeof body.client_name === "string" && body.client_name.trim() ? body.client_name.trim().slice(0, 100) : "MCP client";
          const id = newId("oauthClient");
          const now = clock.now();
          insertClient.run(id, name, JSON.stringify(redirectUris), now);
          log.info({ clientId: id, name }, "OAuth client registered");
          sendJson(res, 201, {
            client_id: id,
            client_id_issued_at: Math.floor(now / 1000),
            client_name: name,
            redirect_uris: redirectUris,
            token_endpoint_auth_method: "none",
            grant_types: ["authorization_code"],
            response_types: ["code"],
          });
        } catch (err) {
          if (err instanceof AppError) return oauthError(res, 400, "invalid_redirect_uri", err.message);
          throw err;
        }
      },
    },
    {
      method: "GET",
      path: "/oauth/authorize",
      handler: (req, res, _params, url) => {
        const r = authorizeRequest(url.searchParams);
        if (r.kind === "bad") return oauthError(res, 400, "invalid_request", r.message);
        if (r.kind === "redirect") return redirectError(res, r.redirectUri, r.state, r.error, r.message);
        const principal = auth.sessionFromCookie(cookieValue((n) => req.headers[n] as string | undefined, SESSION_COOKIE));
        if (!principal) {
          // note: sign-in is the existing one (admin token or GitHub); it comes back here with `next`.
          redirectTo(res, `/signin?next=${encodeURIComponent(url.pathname + url.search)}`);
          return;
        }
        const choices = SCOPES.filter((x) => covers(principal.scope, x));
        // note: the person picks the scope, up to their own; offered first: operate (what an assistant needs to
        // triage and unstick queues), else the widest the client asked for, else their own.
        const preferred = choices.includes("operate") ? "operate" : (r.requested.filter((x) => choices.includes(x)).at(-1) ?? principal.scope);
        const fields: Record<string, string> = {};
        for (const k of ["client_id", "redirect_uri", "response_type", "code_challenge", "code_challenge_method", "state"]) {
          const v = url.searchParams.get(k);
          if (v !== null) fields[k] = v;
        }
        fields.redirect_uri = r.redirectUri;
        const origin = new URL(r.redirectUri).origin;
        res.writeHead(200, {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
          "x-frame-options": "DENY",
          // note: form-action covers the redirect after the post in some browsers: the client's origin too.
          "content-security-policy": `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${origin}; frame-ancestors 'none'`,
        });
        res.end(
          consentPage({ clientName: r.client.name, choices, preferred, login: principal.login ?? principal.id, fields, csrf: principal.csrfToken ?? "" }),
        );
      },
    },
    {
      method: "POST",
      path: "/oauth/authorize",
      handler: async (req, res) => {
        const form = await formOf(req);
        const r = authorizeRequest(form);
        if (r.kind === "bad") return oauthError(res, 400, "invalid_request", r.message);
        if (r.kind === "redirect") return redirectError(res, r.redirectUri, r.state, r.error, r.message);
        const principal = auth.sessionFromCookie(cookieValue((n) => req.headers[n] as string | undefined, SESSION_COOKIE));
        // note: the consent must come from the session's own page: its CSRF token, compared in constant time.
        if (!principal?.csrfToken || !secretEquals(form.get("csrf") ?? "", principal.csrfToken)) {
          return oauthError(res, 403, "access_denied", "sign in again and approve from Hookly's own page");
        }
        if (form.get("decision") !== "approve") return redirectError(res, r.redirectUri, r.state, "access_denied", "the request was denied");
        const scope = form.get("scope") ?? "";
        if (!isScope(scope) || !covers(principal.scope, scope)) {
          return redirectError(res, r.redirectUri, r.state, "invalid_scope", `choose a scope up to your own (${principal.scope})`);
        }
        const code = randomValue();
        const now = clock.now();
        purgeCodes.run(now);
        insertCode.run(
          sha256Hex(code),
          r.client.id,
          r.redirectUri,
          r.challenge,
          scope,
          JSON.stringify({ id: principal.id, scope: principal.scope }),
          now + CODE_TTL_MS,
        );
        log.info({ clientId: r.client.id, principal: principal.id, scope }, "OAuth access approved");
        const to = new URL(r.redirectUri);
        to.searchParams.set("code", code);
        if (r.state) to.searchParams.set("state", r.state);
        redirectTo(res, to.toString());
      },
    },
    {
      method: "POST",
      path: "/oauth/token",
      handler: async (req, res) => {
        const form = await formOf(req);
        if (form.get("grant_type") !== "authorization_code") return oauthError(res, 400, "unsupported_grant_type", "grant_type must be authorization_code");
        const code = form.get("code") ?? "";
        const row = code ? takeCode.get(sha256Hex(code)) : undefined;
        // note: taken (deleted) whatever follows: a code is tried once.
        if (!row || row.expires_at < clock.now()) return oauthError(res, 400, "invalid_grant", "the code is unknown, used or expired");
        if (form.get("client_id") !== row.client_id) return oauthError(res, 400, "invalid_grant", "the code was issued to another client");
        if (form.get("redirect_uri") !== null && form.get("redirect_uri") !== row.redirect_uri) {
          return oauthError(res, 400, "invalid_grant", "redirect_uri differs from the authorization request's");
        }
        if (s256(form.get("code_verifier") ?? "") !== row.code_challenge)
          return oauthError(res, 400, "invalid_grant", "the code_verifier does not match the challenge");
        const client = clientOf(row.client_id)!;
        const approver = JSON.parse(row.principal) as { id: string; scope: Scope };
        const { token, secret } = auth.createApiToken(`MCP: ${client.name}`, approver, row.scope);
        log.info({ clientId: client.id, tokenId: token.id, principal: approver.id, scope: row.scope }, "OAuth access token issued (an API token)");
        sendJson(res, 200, { access_token: secret, token_type: "Bearer", scope: row.scope }, { "cache-control": "no-store", pragma: "no-cache" });
      },
    },
  ];
}
