/**
 * Who is calling the admin API, and how callers sign in: the bearer
 * ADMIN_TOKEN, API tokens (`Authorization: Bearer hk_…`), and UI sessions (the
 * `hookly_session` cookie, opened by GitHub sign-in or by pasting a token).
 *
 * Secrets are never stored: session ids, token secrets and OAuth states are
 * kept as SHA-256 digests and looked up by digest.
 */
import { createContextKey } from "@connectrpc/connect";
import { generateCodeVerifier } from "arctic";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { StorageReporter } from "../storage/storage.service.js";
import type { Clock } from "../clock.js";
import { AppError } from "../errors.js";
import { newId } from "../ids.js";
import type { GitHubClient } from "./auth.github.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { ApiTokenRow, AuthStore, SessionRow } from "./auth.store.js";
import { SCOPES, covers, isScope, type Scope } from "./auth.scopes.js";

/** An authenticated caller. */
export interface Principal {
  /** `admin`, `token:<id>` or `github:<login>`. */
  id: string;
  login?: string;
  avatarUrl?: string;
  /** How the caller proved it: cookie sessions must also pass the CSRF check. */
  via: "bearer" | "session";
  /** The session's CSRF token (via === "session"). */
  csrfToken?: string;
  /** What the caller may do (auth.scopes.ts). */
  scope: Scope;
}

/** Connect context key under which handlers find the caller. */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "authenticated caller" });

/** Tries to authenticate from request headers; undefined = not this way. */
export type Authenticator = (header: (name: string) => string | null | undefined) => Principal | undefined;

/** Constant-time string comparison through fixed-length digests. */
export function secretEquals(a: string, b: string): boolean {
  const da = createHash("sha256").update(a).digest();
  const db = createHash("sha256").update(b).digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

/** The bearer token from an Authorization header, if any. */
export function bearerToken(header: (name: string) => string | null | undefined): string | undefined {
  const value = header("authorization");
  const m = value ? /^Bearer\s+(.+)$/i.exec(value.trim()) : null;
  return m?.[1]?.trim();
}

/** Authenticator for the bootstrap ADMIN_TOKEN. */
export function adminTokenAuthenticator(adminToken: string | undefined): Authenticator {
  return (header) => {
    const token = bearerToken(header);
    if (!adminToken || !token) return undefined;
    return secretEquals(token, adminToken) ? { id: "admin", login: "admin", via: "bearer", scope: "admin" } : undefined;
  };
}

/** Runs authenticators in order; the first that recognises the caller wins. */
export function composeAuthenticators(list: Authenticator[]): Authenticator {
  return (header) => {
    for (const a of list) {
      const p = a(header);
      if (p) return p;
    }
    return undefined;
  };
}

/** The UI session cookie (HttpOnly, SameSite=Lax). */
export const SESSION_COOKIE = "hookly_session";
/** The cookie binding a GitHub sign-in to the browser that started it. */
export const OAUTH_COOKIE = "hookly_oauth";
/** How long a started GitHub sign-in may take. */
export const OAUTH_STATE_TTL_MS = 10 * 60_000;

/** How often a GitHub session's user is checked against GITHUB_ALLOWED_USERS / GITHUB_ORG again. */
export const GITHUB_RECHECK_MS = 10 * 60_000;
/**
 * How long a GitHub session is honoured without a successful check (GitHub
 * unreachable): past it the session ends; the admin token still signs in.
 */
export const GITHUB_CHECK_GRACE_MS = 30 * 60_000;

/** The digest an admin session keeps of the ADMIN_TOKEN that opened it (domain-separated). */
function adminCredential(token: string): string {
  return sha256Hex(`hookly-admin-session-v1:${token}`);
}
/** Every API token secret starts with this, so scanners and people recognise it. */
export const API_TOKEN_PREFIX = "hk_";
/** An API token's last_used_at is written at most this often (no write per request). */
export const TOKEN_TOUCH_INTERVAL_MS = 60_000;
/** Longest API token name. */
export const TOKEN_NAME_MAX = 100;

const RANDOM_BYTES = 32;
/** base64url of 32 bytes: 43 characters. */
const RANDOM_VALUE = /^[A-Za-z0-9_-]{43}$/;
const API_TOKEN_SECRET = /^hk_[A-Za-z0-9_-]{43}$/;

/** SHA-256 of a secret as hex: how sessions, tokens and states are stored and looked up. */
export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** 32 random bytes, base64url (43 characters). */
export function randomValue(): string {
  return randomBytes(RANDOM_BYTES).toString("base64url");
}

/** One cookie's value from the Cookie header(s), if present. */
export function cookieValue(header: (name: string) => string | null | undefined, name: string): string | undefined {
  const raw = header("cookie");
  if (!raw) return undefined;
  // note: HTTP/2 may split cookies over several headers, which get joined with ", ";
  // our cookie values are base64url, so splitting on both separators is safe.
  for (const part of raw.split(/[;,]/)) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** An API token as listed (never its secret). */
export interface ApiTokenInfo {
  id: string;
  name: string;
  createdBy: string;
  createdAt: number;
  lastUsedAt: number | undefined;
  scope: Scope;
}

/** A freshly opened session: the cookie value and CSRF token go to the browser once. */
export interface NewSession {
  cookieValue: string;
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
  principal: Principal;
}

/** Why a GitHub sign-in did not open a session (the `error` of `/signin?error=…`). */
export type GitHubSignInError = "invalid_state" | "expired_state" | "state_mismatch" | "github_error";

/** The outcome of a GitHub callback. */
export type GitHubSignIn =
  | { ok: true; login: string; session: NewSession }
  | { ok: false; reason: "not_allowed"; login: string }
  | { ok: false; reason: GitHubSignInError; detail: string };

/** Who may sign in with GitHub. */
export interface GitHubAccess {
  client: GitHubClient;
  /** Members of this org may sign in. */
  org?: string | undefined;
  /** Lower-case logins that may sign in. */
  allowedUsers: readonly string[];
}

/** What the auth service needs. */
export interface AuthServiceDeps {
  store: AuthStore;
  clock: Clock;
  sessionTtlMs: number;
  adminToken: string | undefined;
  /** Absent when GitHub sign-in is off. */
  github?: GitHubAccess | undefined;
  /** Seals the GitHub access token a session keeps for re-checks (ENCRYPTION_KEY); without it GitHub sessions cannot be re-checked and end at their first check. */
  box?: SecretBox | undefined;
  /**
   * Where a storage error of the bookkeeping done while authenticating
   * (last-used times, removing an expired session) is reported; that
   * bookkeeping is skipped then, so signed-in reads keep working on a full disk.
   */
  storage?: StorageReporter;
}

/** Sign-in and token logic; see {@link createAuthService}. */
export type AuthService = ReturnType<typeof createAuthService>;

/** Builds the auth service over its store. */
export function createAuthService(deps: AuthServiceDeps) {
  const { store, clock, github } = deps;

  /** Runs bookkeeping that may be skipped while storage refuses writes; other errors still throw. */
  function bestEffort(write: () => void): void {
    try {
      write();
      deps.storage?.succeeded("sessions");
    } catch (err) {
      if (!deps.storage?.failed("sessions", err)) throw err;
    }
  }

  function toInfo(row: ApiTokenRow): ApiTokenInfo {
    return {
      id: row.id,
      name: row.name,
      createdBy: row.created_by,
      createdAt: row.created_at,
      lastUsedAt: row.last_used_at ?? undefined,
      scope: row.scope,
    };
  }

  /** The unrevoked token behind an `hk_…` secret; marks it used (at most once a minute). */
  function apiToken(secret: string): ApiTokenRow | undefined {
    if (!API_TOKEN_SECRET.test(secret)) return undefined;
    // note: looked up by SHA-256 digest, so no byte of the stored value is compared
    // against attacker input: the index lookup leaks nothing useful about the secret.
    const row = store.activeApiTokenByHash(sha256Hex(secret));
    if (!row) return undefined;
    const now = clock.now();
    if (row.last_used_at === null || now - row.last_used_at >= TOKEN_TOUCH_INTERVAL_MS) bestEffort(() => store.touchApiToken(row.id, now));
    return row;
  }

  /**
   * Whether what opened a session still holds: an admin session's token is
   * the one configured now; a GitHub session's user is still allowed (the
   * local rules at once, org membership as last confirmed, within the grace).
   */
  function stillBound(row: SessionRow, now: number): boolean {
    if (row.principal === "admin")
      return deps.adminToken !== undefined && row.credential !== null && secretEquals(row.credential, adminCredential(deps.adminToken));
    if (row.principal.startsWith("github:")) {
      if (!github) return false;
      const login = row.principal.slice("github:".length).toLowerCase();
      if (github.allowedUsers.includes(login)) return true;
      return github.org !== undefined && row.checked_at !== null && now - row.checked_at <= GITHUB_CHECK_GRACE_MS;
    }
    return true;
  }

  function sessionPrincipal(cookie: string | undefined): Principal | undefined {
    if (!cookie || !RANDOM_VALUE.test(cookie)) return undefined;
    const id = sha256Hex(cookie);
    const row = store.session(id);
    if (!row) return undefined;
    const now = clock.now();
    if (row.expires_at <= now || !stillBound(row, now)) {
      bestEffort(() => store.deleteSession(id));
      return undefined;
    }
    return {
      id: row.principal,
      login: row.login ?? undefined,
      avatarUrl: row.avatar_url ?? undefined,
      via: "session",
      csrfToken: row.csrf_token,
      scope: row.scope,
    };
  }

  const service = {
    /** Whether "Sign in with GitHub" is configured. */
    githubEnabled: github !== undefined,

    /** Opens a session for an authenticated caller; expired sessions are purged on the way. */
    startSession(who: { id: string; login?: string | undefined; avatarUrl?: string | undefined; scope: Scope }, githubToken?: string): NewSession {
      const now = clock.now();
      store.purgeExpiredSessions(now);
      const cookie = randomValue();
      const csrfToken = randomValue();
      const expiresAt = now + deps.sessionTtlMs;
      const id = sha256Hex(cookie);
      store.insertSession({
        id,
        principal: who.id,
        login: who.login ?? null,
        avatar_url: who.avatarUrl ?? null,
        csrf_token: csrfToken,
        created_at: now,
        expires_at: expiresAt,
        credential: who.id === "admin" && deps.adminToken ? adminCredential(deps.adminToken) : null,
        github_token: githubToken && deps.box ? deps.box.seal(githubToken, id) : null,
        checked_at: who.id.startsWith("github:") ? now : null,
        scope: who.scope,
      });
      return {
        cookieValue: cookie,
        csrfToken,
        createdAt: now,
        expiresAt,
        principal: { id: who.id, login: who.login, avatarUrl: who.avatarUrl, via: "session", csrfToken, scope: who.scope },
      };
    },

    /** The caller behind a session cookie value; an expired session is deleted and refused. */
    sessionFromCookie: sessionPrincipal,

    /** Ends the session with this cookie value (no-op when unknown). */
    endSession(cookie: string): void {
      if (RANDOM_VALUE.test(cookie)) store.deleteSession(sha256Hex(cookie));
    },

    /** Authenticator for the `hookly_session` cookie (via "session": the CSRF header applies). */
    authenticateSession: ((header) => sessionPrincipal(cookieValue(header, SESSION_COOKIE))) as Authenticator,

    /** Authenticator for `Authorization: Bearer hk_…` API tokens. */
    authenticateApiToken: ((header) => {
      const secret = bearerToken(header);
      const row = secret ? apiToken(secret) : undefined;
      return row ? { id: `token:${row.id}`, login: row.name, via: "bearer", scope: row.scope } : undefined;
    }) as Authenticator,

    /** Token sign-in: the principal for ADMIN_TOKEN or an API token secret, else undefined. */
    principalForSecret(secret: string): Principal | undefined {
      if (deps.adminToken && secretEquals(secret, deps.adminToken)) return { id: "admin", login: "admin", via: "bearer", scope: "admin" };
      const row = apiToken(secret);
      return row ? { id: `token:${row.id}`, login: row.name, via: "bearer", scope: row.scope } : undefined;
    },

    /**
     * Creates an API token for `creator`, with `scope` (default: the
     * creator's own), never wider than the creator's; the `hk_…` secret is
     * returned here only.
     */
    createApiToken(name: string, creator: Pick<Principal, "id" | "scope">, scope: string = creator.scope): { token: ApiTokenInfo; secret: string } {
      const trimmed = name.trim();
      if (trimmed.length < 1 || trimmed.length > TOKEN_NAME_MAX) {
        throw new AppError("invalid_argument", `name must be 1–${TOKEN_NAME_MAX} characters`);
      }
      if (!isScope(scope)) throw new AppError("invalid_argument", `scope must be one of ${SCOPES.join(", ")}`);
      if (!covers(creator.scope, scope)) throw new AppError("permission_denied", `a ${creator.scope} caller cannot make a ${scope} token`);
      const createdBy = creator.id;
      const secret = API_TOKEN_PREFIX + randomValue();
      const row: ApiTokenRow = {
        id: newId("token"),
        name: trimmed,
        secret_hash: sha256Hex(secret),
        created_by: createdBy,
        created_at: clock.now(),
        last_used_at: null,
        revoked_at: null,
        scope,
      };
      store.insertApiToken(row);
      return { token: toInfo(row), secret };
    },

    /** Unrevoked tokens, oldest first. */
    listApiTokens(): ApiTokenInfo[] {
      return store.activeApiTokens().map(toInfo);
    },

    /**
     * Revokes a token at once, with every token it made (at any depth) and
     * the sessions they opened; returns the ids revoked. not_found when
     * unknown or already revoked.
     */
    revokeApiToken(id: string): string[] {
      const revoked = store.revokeApiToken(id, clock.now());
      if (!revoked) throw new AppError("not_found", `no API token ${id}`);
      return revoked;
    },

    /** Starts a GitHub sign-in: the state (also for the browser-binding cookie) and where to send the browser. */
    beginGitHubSignIn(): { state: string; url: URL } {
      if (!github) throw new AppError("not_found", "GitHub sign-in is not configured");
      const now = clock.now();
      store.purgeExpiredOAuthStates(now);
      const state = randomValue();
      const codeVerifier = generateCodeVerifier();
      store.insertOAuthState({ state_hash: sha256Hex(state), code_verifier: codeVerifier, expires_at: now + OAUTH_STATE_TTL_MS });
      return { state, url: github.client.authorizationUrl(state, codeVerifier) };
    },

    /**
     * Finishes a GitHub sign-in: the state must be known, unexpired, unused and
     * equal to the browser's `hookly_oauth` cookie; then the code is exchanged
     * and the user allowed if listed in GITHUB_ALLOWED_USERS or an active member
     * of GITHUB_ORG. Only an allowed user gets a session.
     */
    async completeGitHubSignIn(input: { code: string | null; state: string | null; cookieState: string | undefined }): Promise<GitHubSignIn> {
      if (!github) throw new AppError("not_found", "GitHub sign-in is not configured");
      const { code, state, cookieState } = input;
      if (!code || !state || !RANDOM_VALUE.test(state)) return { ok: false, reason: "invalid_state", detail: "missing or malformed state or code" };
      const pending = store.takeOAuthState(sha256Hex(state));
      if (!pending) return { ok: false, reason: "invalid_state", detail: "unknown or already used state" };
      if (pending.expires_at <= clock.now()) return { ok: false, reason: "expired_state", detail: "state expired" };
      if (!cookieState || !secretEquals(cookieState, state)) {
        return { ok: false, reason: "state_mismatch", detail: "state does not match this browser's cookie" };
      }

      let login: string;
      let avatarUrl: string | undefined;
      let allowed: boolean;
      let accessToken: string;
      try {
        accessToken = await github.client.exchangeCode(code, pending.code_verifier);
        ({ login, avatarUrl } = await github.client.user(accessToken));
        allowed = github.allowedUsers.includes(login.toLowerCase());
        if (!allowed && github.org) allowed = await github.client.isOrgMember(accessToken, github.org);
      } catch (err) {
        return { ok: false, reason: "github_error", detail: (err as Error).message };
      }
      if (!allowed) return { ok: false, reason: "not_allowed", login };
      return { ok: true, login, session: service.startSession({ id: `github:${login}`, login, avatarUrl, scope: "admin" }, accessToken) };
    },

    /**
     * Checks the users of GitHub sessions not confirmed for GITHUB_RECHECK_MS
     * against the allow rules again: listed in GITHUB_ALLOWED_USERS, or still
     * an active member of GITHUB_ORG (asked with the session's own access
     * token). A user no longer allowed, or whose token GitHub refuses, loses
     * the session; GitHub unreachable leaves it until GITHUB_CHECK_GRACE_MS
     * has passed without a check. Returns what happened, for logs and tests.
     */
    async recheckGitHubSessions(): Promise<{ confirmed: number; ended: string[]; unreachable: number }> {
      const out = { confirmed: 0, ended: [] as string[], unreachable: 0 };
      if (!github) return out;
      const now = clock.now();
      for (const row of store.githubSessionsDue(now, now - GITHUB_RECHECK_MS)) {
        const login = row.principal.slice("github:".length);
        let allowed = github.allowedUsers.includes(login.toLowerCase());
        if (!allowed && github.org) {
          let token: string | undefined;
          try {
            token = row.github_token && deps.box ? deps.box.open(row.github_token, row.id) : undefined;
          } catch {
            token = undefined;
          }
          if (token) {
            try {
              allowed = await github.client.isOrgMember(token, github.org);
            } catch {
              // note: GitHub unreachable or erring: try again at the next pass (a token it refuses reads as "not a member").
              out.unreachable += 1;
              continue;
            }
          }
        }
        if (allowed) {
          bestEffort(() => store.markChecked(row.id, now));
          out.confirmed += 1;
        } else {
          bestEffort(() => store.deleteSession(row.id));
          out.ended.push(login);
        }
      }
      return out;
    },

    /** Ends every session: everyone signs in again (the CLI's `sessions revoke-all`). Returns how many ended. */
    revokeAllSessions(): number {
      return store.deleteAllSessions();
    },
  };
  return service;
}

const MAX_TRACKED_KEYS = 10_000;

/** A fixed-window counter of failed attempts per key (client IP); see {@link createAttemptLimiter}. */
export type AttemptLimiter = ReturnType<typeof createAttemptLimiter>;

/**
 * Limits failed attempts per key: after `max` failures within `windowMs`, the
 * key is refused until the window ends. Memory stays bounded: stale windows are
 * dropped once many keys are tracked.
 */
export function createAttemptLimiter(opts: { max: number; windowMs: number; clock: Clock }) {
  const windows = new Map<string, { failures: number; endsAt: number }>();
  return {
    /** Milliseconds until `key` may try again; 0 when it may now. */
    retryAfterMs(key: string): number {
      const w = windows.get(key);
      const now = opts.clock.now();
      if (!w || w.endsAt <= now) return 0;
      return w.failures >= opts.max ? w.endsAt - now : 0;
    },
    /** Counts a failed attempt of `key`. */
    fail(key: string): void {
      const now = opts.clock.now();
      if (windows.size >= MAX_TRACKED_KEYS) {
        for (const [k, w] of windows) if (w.endsAt <= now) windows.delete(k);
        // note: still full (a flood of addresses): forget the oldest window rather than grow.
        if (windows.size >= MAX_TRACKED_KEYS) windows.delete(windows.keys().next().value!);
      }
      const w = windows.get(key);
      if (!w || w.endsAt <= now) windows.set(key, { failures: 1, endsAt: now + opts.windowMs });
      else w.failures += 1;
    },
  };
}
