/**
 * The auth service as a plain object over an in-memory database, with a stub
 * GitHub client: sessions, API tokens, the GitHub allow rules, the limiter.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../db/db.js";
import { GitHubError, type GitHubClient, type GitHubUser } from "./auth.github.js";
import {
  GITHUB_CHECK_GRACE_MS,
  GITHUB_RECHECK_MS,
  OAUTH_STATE_TTL_MS,
  cookieValue,
  createAttemptLimiter,
  createAuthService,
  sha256Hex,
  type AuthService,
  type GitHubAccess,
} from "./auth.service.js";
import { createAuthStore } from "./auth.store.js";
import { createSecretBox } from "../crypto/secret-box.js";

const ADMIN_TOKEN = "admin-token-for-tests-0123456789";
/** The admin as a token's creator. */
const ADMIN = { id: "admin", scope: "admin" } as const;
const HOUR = 3_600_000;

class Clock {
  t = 1_700_000_000_000;
  now = () => this.t;
}

/** A GitHub client whose answers the test sets; records the org checks it was asked. */
function stubGitHub(user: GitHubUser | Error, member: boolean | Error = false) {
  const orgChecks: string[] = [];
  const client: GitHubClient = {
    authorizationUrl: (state, verifier) => new URL(`https://github.test/authorize?state=${state}&v=${verifier.length}`),
    exchangeCode: async (code) => {
      if (code === "bad") throw new GitHubError("code exchange refused: bad_verification_code");
      return "gho_token";
    },
    user: async () => {
      if (user instanceof Error) throw user;
      return user;
    },
    isOrgMember: async (_token, org) => {
      orgChecks.push(org);
      if (member instanceof Error) throw member;
      return member;
    },
  };
  return { client, orgChecks };
}

let db: Db;
let clock: Clock;
beforeEach(() => {
  db = openDatabase(":memory:");
  clock = new Clock();
});
afterEach(() => db.close());

function service(github?: GitHubAccess, adminToken = ADMIN_TOKEN): AuthService {
  return createAuthService({
    store: createAuthStore(db),
    clock,
    sessionTtlMs: 24 * HOUR,
    adminToken,
    github,
    box: createSecretBox(["0123456789abcdef".repeat(4)]),
  });
}

const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe("cookieValue", () => {
  const header = (cookie: string | undefined) => (n: string) => (n === "cookie" ? cookie : undefined);
  it.each([
    ["a=1; hookly_session=abc; b=2", "abc"],
    ["hookly_session=abc", "abc"],
    ["a=1, hookly_session=abc", "abc"],
    ["xhookly_session=abc", undefined],
    ["hookly_session_other=abc", undefined],
    ["", undefined],
  ])("reads %j", (cookie, expected) => {
    expect(cookieValue(header(cookie), "hookly_session")).toBe(expected);
  });
  it("copes without a Cookie header", () => {
    expect(cookieValue(header(undefined), "hookly_session")).toBeUndefined();
  });
});

describe("sessions", () => {
  it("opens a session stored by digest, found by its cookie until it expires, then purged", () => {
    const auth = service({ client: stubGitHub({ login: "octo", avatarUrl: undefined }).client, allowedUsers: ["octo"] });
    const s = auth.startSession({ id: "github:octo", login: "octo", avatarUrl: "https://a/octo", scope: "admin" });
    expect(s.expiresAt).toBe(clock.t + 24 * HOUR);
    expect(db.prepare("SELECT id FROM session").get()).toEqual({ id: sha256Hex(s.cookieValue) });
    expect(auth.sessionFromCookie(s.cookieValue)).toEqual({
      id: "github:octo",
      login: "octo",
      avatarUrl: "https://a/octo",
      via: "session",
      csrfToken: s.csrfToken,
      scope: "admin",
    });
    clock.t += 24 * HOUR;
    expect(auth.sessionFromCookie(s.cookieValue)).toBeUndefined();
    expect(count("session")).toBe(0);
  });

  it("purges other expired sessions when a new one opens", () => {
    const auth = service();
    auth.startSession({ id: "admin", scope: "admin" });
    auth.startSession({ id: "admin", scope: "admin" });
    clock.t += 25 * HOUR;
    auth.startSession({ id: "admin", scope: "admin" });
    expect(count("session")).toBe(1);
  });

  it("refuses malformed and unknown cookies, and ends sessions", () => {
    const auth = service();
    expect(auth.sessionFromCookie("short")).toBeUndefined();
    expect(auth.sessionFromCookie("A".repeat(43))).toBeUndefined();
    const s = auth.startSession({ id: "admin", scope: "admin" });
    auth.endSession(s.cookieValue);
    expect(auth.sessionFromCookie(s.cookieValue)).toBeUndefined();
  });

  it("authenticates the hookly_session cookie as a session principal", () => {
    const auth = service();
    const s = auth.startSession({ id: "admin", login: "admin", scope: "admin" });
    const p = auth.authenticateSession((n) => (n === "cookie" ? `other=1; hookly_session=${s.cookieValue}` : undefined));
    expect(p).toMatchObject({ id: "admin", via: "session", csrfToken: s.csrfToken });
  });
});

describe("API tokens", () => {
  it("creates hk_ secrets stored by digest, with trimmed names of 1–100 characters", () => {
    const auth = service();
    const { token, secret } = auth.createApiToken("  deploy bot  ", ADMIN);
    expect(secret).toMatch(/^hk_[A-Za-z0-9_-]{43}$/);
    expect(token).toEqual({
      id: expect.stringMatching(/^tok_/),
      name: "deploy bot",
      createdBy: "admin",
      createdAt: clock.t,
      lastUsedAt: undefined,
      scope: "admin",
    });
    expect(db.prepare("SELECT secret_hash FROM api_token").get()).toEqual({ secret_hash: sha256Hex(secret) });
    expect(auth.createApiToken("x".repeat(100), ADMIN).token.name).toHaveLength(100);
    for (const bad of ["", "   ", "x".repeat(101)]) {
      expect(() => auth.createApiToken(bad, ADMIN)).toThrow(/1–100 characters/);
    }
  });

  it("authenticates Bearer hk_… and records the last use at most once a minute", () => {
    const auth = service();
    const { token, secret } = auth.createApiToken("ci", ADMIN);
    const bearer = (value: string) => (n: string) => (n === "authorization" ? `Bearer ${value}` : undefined);
    expect(auth.authenticateApiToken(bearer(secret))).toEqual({ id: `token:${token.id}`, login: "ci", via: "bearer", scope: "admin" });
    const t0 = clock.t;
    clock.t += 59_999;
    auth.authenticateApiToken(bearer(secret));
    expect(auth.listApiTokens()[0]!.lastUsedAt).toBe(t0);
    clock.t += 1;
    auth.authenticateApiToken(bearer(secret));
    expect(auth.listApiTokens()[0]!.lastUsedAt).toBe(t0 + 60_000);
    expect(auth.authenticateApiToken(bearer(`${secret.slice(0, -1)}x`))).toBeUndefined();
    expect(auth.authenticateApiToken(bearer(ADMIN_TOKEN))).toBeUndefined();
  });

  it("revoking ends the token and the sessions it opened, not others", () => {
    const auth = service();
    const { token, secret } = auth.createApiToken("ci", ADMIN);
    const viaToken = auth.startSession({ id: `token:${token.id}`, scope: "admin" });
    const viaAdmin = auth.startSession({ id: "admin", scope: "admin" });
    auth.revokeApiToken(token.id);
    expect(auth.principalForSecret(secret)).toBeUndefined();
    expect(auth.sessionFromCookie(viaToken.cookieValue)).toBeUndefined();
    expect(auth.sessionFromCookie(viaAdmin.cookieValue)).toBeDefined();
    expect(auth.listApiTokens()).toEqual([]);
    expect(() => auth.revokeApiToken(token.id)).toThrow(/no API token/);
  });

  it("signs in with the admin token or an API token secret only", () => {
    const auth = service();
    const { token, secret } = auth.createApiToken("ci", ADMIN);
    expect(auth.principalForSecret(ADMIN_TOKEN)).toEqual({ id: "admin", login: "admin", via: "bearer", scope: "admin" });
    expect(auth.principalForSecret(secret)?.id).toBe(`token:${token.id}`);
    expect(auth.principalForSecret(`${ADMIN_TOKEN}x`)).toBeUndefined();
    const noAdmin = createAuthService({ store: createAuthStore(db), clock, sessionTtlMs: HOUR, adminToken: undefined });
    expect(noAdmin.principalForSecret("")).toBeUndefined();
    expect(noAdmin.principalForSecret(ADMIN_TOKEN)).toBeUndefined();
  });
});

describe("GitHub sign-in", () => {
  function begin(auth: AuthService) {
    const { state, url } = auth.beginGitHubSignIn();
    expect(url.searchParams.get("state")).toBe(state);
    return state;
  }

  it("is off without GitHub access", async () => {
    const auth = service();
    expect(auth.githubEnabled).toBe(false);
    expect(() => auth.beginGitHubSignIn()).toThrow(/not configured/);
    await expect(auth.completeGitHubSignIn({ code: "c", state: "s", cookieState: "s" })).rejects.toThrow(/not configured/);
  });

  it("lets an allowed user in without asking about the org (case-insensitive)", async () => {
    const gh = stubGitHub({ login: "Alice", avatarUrl: undefined });
    const auth = service({ client: gh.client, org: "acme", allowedUsers: ["alice"] });
    const state = begin(auth);
    const result = await auth.completeGitHubSignIn({ code: "c", state, cookieState: state });
    expect(result).toMatchObject({ ok: true, login: "Alice", session: { principal: { id: "github:Alice", login: "Alice", via: "session" } } });
    expect(gh.orgChecks).toEqual([]);
    expect(count("oauth_state")).toBe(0);
  });

  it("asks about the org for everyone else", async () => {
    const member = stubGitHub({ login: "bob", avatarUrl: "https://a/bob" }, true);
    const auth = service({ client: member.client, org: "acme", allowedUsers: [] });
    const state = begin(auth);
    expect((await auth.completeGitHubSignIn({ code: "c", state, cookieState: state })).ok).toBe(true);
    expect(member.orgChecks).toEqual(["acme"]);

    const stranger = stubGitHub({ login: "eve", avatarUrl: undefined }, false);
    const refusing = service({ client: stranger.client, org: "acme", allowedUsers: ["alice"] });
    const s2 = begin(refusing);
    expect(await refusing.completeGitHubSignIn({ code: "c", state: s2, cookieState: s2 })).toEqual({ ok: false, reason: "not_allowed", login: "eve" });
    expect(count("session")).toBe(1);
  });

  it("refuses users not listed when no org is set", async () => {
    const gh = stubGitHub({ login: "eve", avatarUrl: undefined }, true);
    const auth = service({ client: gh.client, allowedUsers: ["alice"] });
    const state = begin(auth);
    expect(await auth.completeGitHubSignIn({ code: "c", state, cookieState: state })).toMatchObject({ ok: false, reason: "not_allowed" });
    expect(gh.orgChecks).toEqual([]);
  });

  it.each([
    ["a refused code", stubGitHub({ login: "alice", avatarUrl: undefined }), "bad"],
    ["a failing /user", stubGitHub(new GitHubError("GET /user answered 500")), "c"],
    ["a failing org check", stubGitHub({ login: "bob", avatarUrl: undefined }, new GitHubError("answered 502")), "c"],
  ])("turns %s into github_error", async (_name, gh, code) => {
    const auth = service({ client: gh.client, org: "acme", allowedUsers: ["alice"] });
    const state = begin(auth);
    expect(await auth.completeGitHubSignIn({ code, state, cookieState: state })).toMatchObject({ ok: false, reason: "github_error" });
    expect(count("session")).toBe(0);
  });

  it("checks the state: known, single use, unexpired, bound to the browser", async () => {
    const gh = stubGitHub({ login: "alice", avatarUrl: undefined });
    const auth = service({ client: gh.client, allowedUsers: ["alice"] });
    expect(db.prepare("SELECT * FROM oauth_state").all()).toEqual([]);

    const s1 = begin(auth);
    expect(db.prepare("SELECT state_hash FROM oauth_state").get()).toEqual({ state_hash: sha256Hex(s1) });
    expect(await auth.completeGitHubSignIn({ code: "c", state: s1, cookieState: "other" })).toMatchObject({ reason: "state_mismatch" });
    expect(await auth.completeGitHubSignIn({ code: "c", state: s1, cookieState: s1 })).toMatchObject({ reason: "invalid_state" });

    const s2 = begin(auth);
    expect(await auth.completeGitHubSignIn({ code: "c", state: s2, cookieState: undefined })).toMatchObject({ reason: "state_mismatch" });

    const s3 = begin(auth);
    clock.t += OAUTH_STATE_TTL_MS;
    expect(await auth.completeGitHubSignIn({ code: "c", state: s3, cookieState: s3 })).toMatchObject({ reason: "expired_state" });

    expect(await auth.completeGitHubSignIn({ code: null, state: "x", cookieState: "x" })).toMatchObject({ reason: "invalid_state" });
    expect(await auth.completeGitHubSignIn({ code: "c", state: null, cookieState: undefined })).toMatchObject({ reason: "invalid_state" });
    expect(count("session")).toBe(0);
  });

  it("purges expired states when a sign-in begins", () => {
    const auth = service({ client: stubGitHub({ login: "a", avatarUrl: undefined }).client, allowedUsers: ["a"] });
    begin(auth);
    begin(auth);
    clock.t += OAUTH_STATE_TTL_MS;
    begin(auth);
    expect(count("oauth_state")).toBe(1);
  });
});

describe("attempt limiter", () => {
  it("refuses a key after max failures until its window ends; keys are independent", () => {
    const clock = new Clock();
    const limiter = createAttemptLimiter({ max: 3, windowMs: 60_000, clock });
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterMs("1.2.3.4")).toBe(0);
      limiter.fail("1.2.3.4");
      clock.t += 1_000;
    }
    expect(limiter.retryAfterMs("1.2.3.4")).toBe(57_000);
    expect(limiter.retryAfterMs("5.6.7.8")).toBe(0);
    clock.t += 57_000;
    expect(limiter.retryAfterMs("1.2.3.4")).toBe(0);
    limiter.fail("1.2.3.4");
    expect(limiter.retryAfterMs("1.2.3.4")).toBe(0);
  });

  it("stays bounded under a flood of addresses", () => {
    const clock = new Clock();
    const limiter = createAttemptLimiter({ max: 1, windowMs: 60_000, clock });
    for (let i = 0; i < 10_050; i++) limiter.fail(`10.0.${i >> 8}.${i & 255}`);
    // The oldest windows were dropped; the newest are still enforced.
    expect(limiter.retryAfterMs("10.0.0.0")).toBe(0);
    expect(limiter.retryAfterMs(`10.0.${10_049 >> 8}.${10_049 & 255}`)).toBeGreaterThan(0);
  });
});

describe("sessions bound to what opened them", () => {
  it("ends an admin session once the edge runs with another ADMIN_TOKEN", () => {
    const s = service().startSession({ id: "admin", login: "admin", scope: "admin" });
    expect(service().sessionFromCookie(s.cookieValue)).toMatchObject({ id: "admin" });
    expect(service(undefined, "a-new-admin-token-after-a-leak-0123").sessionFromCookie(s.cookieValue)).toBeUndefined();
    expect(count("session")).toBe(0);
    // Back to the old token: the session is gone for good.
    expect(service().sessionFromCookie(s.cookieValue)).toBeUndefined();
  });

  it("ends a GitHub session at once when GITHUB_ALLOWED_USERS no longer lists the user, or GitHub sign-in is off", () => {
    const gh = stubGitHub({ login: "alice", avatarUrl: undefined });
    const s = service({ client: gh.client, allowedUsers: ["alice"] }).startSession({ id: "github:alice", login: "alice", scope: "admin" }, "gho_alice");
    expect(service({ client: gh.client, allowedUsers: ["alice"] }).sessionFromCookie(s.cookieValue)).toBeDefined();
    expect(service({ client: gh.client, allowedUsers: ["bob"] }).sessionFromCookie(s.cookieValue)).toBeUndefined();
    const t = service({ client: gh.client, allowedUsers: ["alice"] }).startSession({ id: "github:alice", login: "alice", scope: "admin" }, "gho_alice");
    expect(service().sessionFromCookie(t.cookieValue)).toBeUndefined();
  });

  it("re-checks org members every 10 minutes with their own token, and ends the session of one who left", async () => {
    let member: boolean | Error = true;
    const tokens: string[] = [];
    const gh = stubGitHub({ login: "bob", avatarUrl: undefined });
    gh.client.isOrgMember = async (token) => {
      tokens.push(token);
      if (member instanceof Error) throw member;
      return member;
    };
    const auth = service({ client: gh.client, org: "acme", allowedUsers: [] });
    const state = auth.beginGitHubSignIn().state;
    const signIn = await auth.completeGitHubSignIn({ code: "c", state, cookieState: state });
    if (!signIn.ok) throw new Error("sign-in failed");
    const cookie = signIn.session.cookieValue;
    // The access token is kept sealed, never as such.
    expect(JSON.stringify(db.prepare("SELECT * FROM session").all())).not.toContain("gho_token");

    expect(await auth.recheckGitHubSessions()).toEqual({ confirmed: 0, ended: [], unreachable: 0 });
    clock.t += GITHUB_RECHECK_MS;
    expect(await auth.recheckGitHubSessions()).toEqual({ confirmed: 1, ended: [], unreachable: 0 });
    expect(tokens).toEqual(["gho_token", "gho_token"]);

    // GitHub unreachable: the session stays, until the grace runs out without a check.
    member = new GitHubError("GET /user/memberships/orgs/acme answered 502");
    clock.t += GITHUB_RECHECK_MS;
    expect(await auth.recheckGitHubSessions()).toEqual({ confirmed: 0, ended: [], unreachable: 1 });
    expect(auth.sessionFromCookie(cookie)).toBeDefined();
    clock.t += GITHUB_CHECK_GRACE_MS - GITHUB_RECHECK_MS + 1;
    expect(auth.sessionFromCookie(cookie)).toBeUndefined();
  });

  it("ends the session of a member who left the org at the next re-check", async () => {
    let member = true;
    const gh = stubGitHub({ login: "carol", avatarUrl: undefined });
    gh.client.isOrgMember = async () => member;
    const auth = service({ client: gh.client, org: "acme", allowedUsers: [] });
    const state = auth.beginGitHubSignIn().state;
    const signIn = await auth.completeGitHubSignIn({ code: "c", state, cookieState: state });
    if (!signIn.ok) throw new Error("sign-in failed");
    member = false;
    clock.t += GITHUB_RECHECK_MS;
    expect(await auth.recheckGitHubSessions()).toEqual({ confirmed: 0, ended: ["carol"], unreachable: 0 });
    expect(auth.sessionFromCookie(signIn.session.cookieValue)).toBeUndefined();
  });

  it("revokes every session at once", () => {
    const auth = service();
    const a = auth.startSession({ id: "admin", scope: "admin" });
    const b = auth.startSession({ id: "admin", scope: "admin" });
    expect(auth.revokeAllSessions()).toBe(2);
    expect(auth.sessionFromCookie(a.cookieValue)).toBeUndefined();
    expect(auth.sessionFromCookie(b.cookieValue)).toBeUndefined();
  });
});

describe("token scopes", () => {
  it("makes tokens of the asked scope, the maker's own by default, never wider than the maker", () => {
    const auth = service();
    expect(auth.createApiToken("reader", ADMIN, "read").token.scope).toBe("read");
    expect(auth.createApiToken("default", ADMIN).token.scope).toBe("admin");
    const operator = { id: "token:tok_op", scope: "operate" } as const;
    expect(auth.createApiToken("narrower", operator, "read").token.scope).toBe("read");
    expect(() => auth.createApiToken("wider", operator, "admin")).toThrow(/cannot make a admin token/);
    expect(() => auth.createApiToken("odd", ADMIN, "root")).toThrow(/scope must be one of read, operate, admin/);
    // The token authenticates with its scope.
    const { secret } = auth.createApiToken("op", ADMIN, "operate");
    expect(auth.authenticateApiToken((n) => (n === "authorization" ? `Bearer ${secret}` : undefined))).toMatchObject({ scope: "operate" });
  });

  it("revoking a token revokes every token it made, at any depth, with their sessions", () => {
    const auth = service();
    const a = auth.createApiToken("a", ADMIN, "admin");
    const b = auth.createApiToken("b", { id: `token:${a.token.id}`, scope: "admin" }, "operate");
    const c = auth.createApiToken("c", { id: `token:${b.token.id}`, scope: "operate" }, "read");
    const other = auth.createApiToken("other", ADMIN, "read");
    const sessionOfC = auth.startSession({ id: `token:${c.token.id}`, scope: "read" });
    expect(auth.revokeApiToken(a.token.id).sort()).toEqual([a.token.id, b.token.id, c.token.id].sort());
    expect(auth.listApiTokens().map((t) => t.id)).toEqual([other.token.id]);
    for (const t of [a, b, c]) expect(auth.principalForSecret(t.secret)).toBeUndefined();
    expect(auth.sessionFromCookie(sessionOfC.cookieValue)).toBeUndefined();
  });
});
