/**
 * Sign-in against the real edge (port 0, temp database) and a fake GitHub:
 * the OAuth flow with its state, PKCE and allow rules, cookies and CSRF, token
 * sign-in, API tokens, logout, expiry and rate limiting. Redirects are followed
 * by hand and cookies kept in a small jar, as a browser would.
 */
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "@hookly/proto/gen/admin_pb";
import { pino } from "pino";
import type { Socket } from "node:net";
import { Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFakeGitHub, type FakeGitHub } from "../fakes/github.js";
import { TEST_SECRETS, TestClock, adminClient, startEdge, tempDir, waitUntil, type TestEdge } from "../harness.js";
import { createApp } from "../../apps/edge/src/app.js";
import { loadConfig } from "../../apps/edge/src/config.js";
import { authExtension, type AuthExtensionOptions } from "../../apps/edge/src/auth/auth.extension.js";
import { GITHUB_RECHECK_MS } from "../../apps/edge/src/auth/auth.service.js";

const BASE_URL = "http://hookly.test";
const ORG = "acme";

let github: FakeGitHub;
beforeAll(async () => {
  github = await startFakeGitHub();
});
afterAll(async () => {
  await github.close();
});

const edges: Pick<TestEdge, "close">[] = [];
afterEach(async () => {
  await Promise.all(edges.splice(0).map((e) => e.close()));
});

/** Starts an edge with GitHub sign-in pointed at the fake. */
async function edgeWithGitHub(env: Record<string, string> = {}, clock?: TestClock, auth: AuthExtensionOptions = {}): Promise<TestEdge> {
  const edge = await startEdge({
    env: {
      BASE_URL,
      GITHUB_CLIENT_ID: github.clientId,
      GITHUB_CLIENT_SECRET: github.clientSecret,
      GITHUB_ORG: ORG,
      GITHUB_ALLOWED_USERS: "Friend-Of-Acme, someone-else",
      GITHUB_URL: github.url,
      GITHUB_API_URL: github.url,
      ...env,
    },
    clock,
    extensions: [authExtension(auth)],
  });
  return track(edge);
}

/**
 * Ends the edge's client connections before closing it.
 * note: the listener's h1.closeIdleConnections() is a no-op (the h1 server never
 * "listens", so Node never tracks its connections): without this, every close
 * waits out the 3 s grace period for keep-alive sockets of fetch and Connect.
 */
function track<E extends Pick<TestEdge, "app" | "close">>(edge: E): E {
  const sockets = new Set<Socket>();
  edge.app.server.tcp.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  edges.push({
    close() {
      for (const s of sockets) s.destroy();
      return edge.close();
    },
  });
  return edge;
}

/** A browser: manual redirects, a cookie jar, the Set-Cookie lines it saw. */
class Browser {
  readonly cookies = new Map<string, string>();
  lastSetCookies: string[] = [];
  constructor(readonly edgeUrl: string) {}

  async fetch(pathOrUrl: string, init: RequestInit = {}): Promise<Response> {
    const url = pathOrUrl.startsWith("http") ? pathOrUrl : `${this.edgeUrl}${pathOrUrl}`;
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    this.lastSetCookies = res.headers.getSetCookie();
    for (const line of this.lastSetCookies) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/max-age=0\b/i.test(line) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  setCookieFor(name: string): string | undefined {
    return this.lastSetCookies.find((l) => l.startsWith(`${name}=`));
  }

  /** GET /auth/github/login and through the fake's authorize page; returns the callback path + query. */
  async startGitHubSignIn(next?: string): Promise<string> {
    const login = await this.fetch(next === undefined ? "/auth/github/login" : `/auth/github/login?next=${encodeURIComponent(next)}`);
    expect(login.status).toBe(302);
    const authorize = await fetch(login.headers.get("location")!, { redirect: "manual" });
    expect(authorize.status).toBe(302);
    const callback = new URL(authorize.headers.get("location")!);
    expect(callback.origin).toBe(BASE_URL);
    return callback.pathname + callback.search;
  }

  /** The whole GitHub flow; returns the callback's answer. */
  async signInWithGitHub(next?: string): Promise<Response> {
    return this.fetch(await this.startGitHubSignIn(next));
  }

  async session(): Promise<Record<string, unknown>> {
    const res = await this.fetch("/auth/session");
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  /** An AdminService client sending this browser's cookies (and a CSRF header when given). */
  admin(csrf?: string) {
    const withCookies: Interceptor = (next) => (req) => {
      req.header.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
      if (csrf !== undefined) req.header.set("x-hookly-csrf", csrf);
      return next(req);
    };
    return createClient(AdminService, createConnectTransport({ baseUrl: this.edgeUrl, httpVersion: "1.1", interceptors: [withCookies] }));
  }
}

async function rpcError(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

function bearerClient(baseUrl: string, token: string) {
  return adminClient(baseUrl, token);
}

async function tokenSignIn(browser: Browser, token: string): Promise<Response> {
  return browser.fetch("/auth/token", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
}

describe("GitHub sign-in", () => {
  it("sends the browser to GitHub with client id, callback, read:org, state and PKCE S256", async () => {
    const edge = await edgeWithGitHub();
    const browser = new Browser(edge.url);
    const res = await browser.fetch("/auth/github/login");
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get("location")!);
    expect(`${to.origin}${to.pathname}`).toBe(`${github.url}/login/oauth/authorize`);
    expect(to.searchParams.get("client_id")).toBe(github.clientId);
    expect(to.searchParams.get("redirect_uri")).toBe(`${BASE_URL}/auth/github/callback`);
    expect(to.searchParams.get("scope")).toBe("read:org");
    expect(to.searchParams.get("code_challenge_method")).toBe("S256");
    expect(to.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const state = to.searchParams.get("state")!;
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = browser.setCookieFor("hookly_oauth")!;
    expect(cookie).toBe(`hookly_oauth=${state}; HttpOnly; SameSite=Lax; Path=/auth/github; Max-Age=600`);
    // Stored hashed: the state itself is nowhere in the database.
    const rows = edge.app.db.prepare("SELECT state_hash FROM oauth_state").all() as { state_hash: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.state_hash).not.toContain(state);
  });

  it("keeps ?next= through GitHub's sign-in, same-origin paths only", async () => {
    const edge = await edgeWithGitHub();
    const cases: [string, string][] = [
      ["/webhooks/wh_abc?tab=attempts", "/webhooks/wh_abc?tab=attempts"],
      ["//evil.example.com/x", "/"],
      ["/\\evil.example.com", "/"],
      ["https://evil.example.com/", "/"],
      ["/ok\u0000", "/"],
    ];
    for (const [next, landing] of cases) {
      github.nextUser({ login: "octo-member", orgs: { [ORG]: "active" } });
      const browser = new Browser(edge.url);
      const res = await browser.signInWithGitHub(next);
      expect(res.status, next).toBe(302);
      expect(res.headers.get("location"), next).toBe(landing);
      expect(browser.cookies.has("hookly_next"), "the next cookie is cleared").toBe(false);
    }
  });

  it("lets an active org member in: session cookie, /auth/session, WhoAmI with the CSRF header", async () => {
    const edge = await edgeWithGitHub();
    github.nextUser({ login: "octo-member", avatarUrl: "https://avatars.example.com/octo", orgs: { [ORG]: "active" } });
    const browser = new Browser(edge.url);
    const res = await browser.signInWithGitHub();
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/");
    const cookie = browser.setCookieFor("hookly_session")!;
    expect(cookie).toMatch(/^hookly_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Lax; Path=\/; Max-Age=604800$/);
    expect(browser.setCookieFor("hookly_oauth")).toMatch(/Max-Age=0/);
    expect(browser.cookies.has("hookly_oauth")).toBe(false);

    const session = await browser.session();
    expect(session).toEqual({
      authenticated: true,
      principal: "github:octo-member",
      login: "octo-member",
      avatarUrl: "https://avatars.example.com/octo",
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      githubEnabled: true,
    });
    const me = await browser.admin(session.csrfToken as string).whoAmI({});
    expect(me.principal).toBe("github:octo-member");
    expect(me.login).toBe("octo-member");
    expect(me.avatarUrl).toBe("https://avatars.example.com/octo");
    // The session id is stored hashed.
    const ids = edge.app.db.prepare("SELECT id FROM session").all() as { id: string }[];
    expect(ids.map((r) => r.id)).not.toContain(browser.cookies.get("hookly_session"));
  });

  it("lets a user listed in GITHUB_ALLOWED_USERS in (case-insensitive) without org membership", async () => {
    const edge = await edgeWithGitHub();
    github.nextUser({ login: "friend-of-acme" });
    const browser = new Browser(edge.url);
    const res = await browser.signInWithGitHub();
    expect(res.headers.get("location")).toBe("/");
    expect((await browser.session()).principal).toBe("github:friend-of-acme");
  });

  it("lets allowed users in when no org is configured", async () => {
    const edge = await edgeWithGitHub({ GITHUB_ORG: "" });
    github.nextUser({ login: "someone-else" });
    const browser = new Browser(edge.url);
    expect((await browser.signInWithGitHub()).headers.get("location")).toBe("/");
  });

  it.each([
    ["not a member (404)", { login: "stranger" }],
    ["a pending member", { login: "invitee", orgs: { [ORG]: "pending" as const } }],
    ["hidden by org policy (403)", { login: "restricted", orgs: { [ORG]: "forbidden" as const } }],
  ])("refuses %s: /denied, no session, the API stays closed", async (_name, user) => {
    const edge = await edgeWithGitHub();
    github.nextUser(user);
    const browser = new Browser(edge.url);
    const res = await browser.signInWithGitHub();
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/denied?login=${user.login}`);
    expect(browser.setCookieFor("hookly_session")).toBeUndefined();
    expect(browser.cookies.has("hookly_session")).toBe(false);
    expect(edge.app.db.prepare("SELECT count(*) AS n FROM session").get()).toEqual({ n: 0 });
    expect((await browser.session()).authenticated).toBe(false);
    expect((await rpcError(browser.admin("anything").whoAmI({}))).code).toBe(Code.Unauthenticated);
    expect((await browser.fetch("/api/endpoints")).status).toBe(401);
  });

  it("refuses a forged state", async () => {
    const edge = await edgeWithGitHub();
    const browser = new Browser(edge.url);
    const forged = "A".repeat(43);
    browser.cookies.set("hookly_oauth", forged);
    const res = await browser.fetch(`/auth/github/callback?code=abc&state=${forged}`);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/signin?error=invalid_state");
    expect(browser.cookies.has("hookly_session")).toBe(false);
  });

  it.each([
    ["no state", "?code=abc"],
    ["no code", `?state=${"B".repeat(43)}`],
    ["nothing", ""],
  ])("refuses a callback with %s", async (_name, query) => {
    const edge = await edgeWithGitHub();
    const browser = new Browser(edge.url);
    const res = await browser.fetch(`/auth/github/callback${query}`);
    expect(res.headers.get("location")).toBe("/signin?error=invalid_state");
  });

  it("refuses an expired state (10 minutes)", async () => {
    const clock = new TestClock();
    const edge = await edgeWithGitHub({}, clock);
    github.nextUser({ login: "octo-member", orgs: { [ORG]: "active" } });
    const browser = new Browser(edge.url);
    const callback = await browser.startGitHubSignIn();
    clock.advance(10 * 60_000 + 1);
    const res = await browser.fetch(callback);
    expect(res.headers.get("location")).toBe("/signin?error=expired_state");
    expect(browser.cookies.has("hookly_session")).toBe(false);
  });

  it("refuses a state started in another browser, and the state is then spent", async () => {
    const edge = await edgeWithGitHub();
    github.nextUser({ login: "octo-member", orgs: { [ORG]: "active" } });
    const attacker = new Browser(edge.url);
    const callback = await attacker.startGitHubSignIn();

    const victim = new Browser(edge.url);
    const res = await victim.fetch(callback);
    expect(res.headers.get("location")).toBe("/signin?error=state_mismatch");
    expect(victim.cookies.has("hookly_session")).toBe(false);

    expect((await attacker.fetch(callback)).headers.get("location")).toBe("/signin?error=invalid_state");
  });

  it("refuses a bad code, which GitHub answers with HTTP 200 and an error", async () => {
    const edge = await edgeWithGitHub();
    github.nextUser({ login: "octo-member", orgs: { [ORG]: "active" } });
    const browser = new Browser(edge.url);
    const callback = new URL(await browser.startGitHubSignIn(), BASE_URL);
    callback.searchParams.set("code", "not-a-code-github-issued");
    const before = github.exchanges.length;
    const res = await browser.fetch(callback.pathname + callback.search);
    expect(res.headers.get("location")).toBe("/signin?error=github_error");
    expect(github.exchanges.slice(before)).toEqual([{ status: 200, body: expect.objectContaining({ error: "bad_verification_code" }) }]);
    expect(browser.cookies.has("hookly_session")).toBe(false);
  });

  it("refuses a code exchange with a wrong client secret", async () => {
    const edge = await edgeWithGitHub({ GITHUB_CLIENT_SECRET: "not-the-secret" });
    github.nextUser({ login: "octo-member", orgs: { [ORG]: "active" } });
    const browser = new Browser(edge.url);
    expect((await browser.signInWithGitHub()).headers.get("location")).toBe("/signin?error=github_error");
    expect(github.exchanges.at(-1)?.body.error).toBe("incorrect_client_credentials");
  });

  it("passes on a cancel on GitHub as access_denied", async () => {
    const edge = await edgeWithGitHub();
    const browser = new Browser(edge.url);
    const res = await browser.fetch(`/auth/github/callback?error=access_denied&state=${"D".repeat(43)}`);
    expect(res.headers.get("location")).toBe("/signin?error=access_denied");
  });

  it("marks the session cookie Secure only when BASE_URL is https", async () => {
    const edge = await edgeWithGitHub({ BASE_URL: "https://hookly.test" });
    github.nextUser({ login: "octo-member", orgs: { [ORG]: "active" } });
    const browser = new Browser(edge.url);
    const login = await browser.fetch("/auth/github/login");
    expect(browser.setCookieFor("hookly_oauth")).toMatch(/; Secure$/);
    const authorize = await fetch(login.headers.get("location")!, { redirect: "manual" });
    const callback = new URL(authorize.headers.get("location")!);
    expect(callback.origin).toBe("https://hookly.test");
    await browser.fetch(callback.pathname + callback.search);
    expect(browser.setCookieFor("hookly_session")).toMatch(/^hookly_session=[^;]+; HttpOnly; SameSite=Lax; Path=\/; Max-Age=604800; Secure$/);
  });

  it("reports githubSignIn in the settings, and answers 404 JSON when GitHub is off", async () => {
    const on = await edgeWithGitHub();
    expect((await adminClient(on.url).getSettings({})).githubSignIn).toBe(true);

    const off = track(await startEdge({ extensions: [authExtension()] }));
    expect((await adminClient(off.url).getSettings({})).githubSignIn).toBe(false);
    const browser = new Browser(off.url);
    expect(await browser.session()).toEqual({ authenticated: false, githubEnabled: false });
    const res = await browser.fetch("/auth/github/login");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "GitHub sign-in is not configured" } });
  });
});

describe("CSRF for cookie sessions", () => {
  it("refuses admin RPCs without or with a wrong x-hookly-csrf, accepts the right one", async () => {
    const edge = await edgeWithGitHub();
    github.nextUser({ login: "octo-member", orgs: { [ORG]: "active" } });
    const browser = new Browser(edge.url);
    await browser.signInWithGitHub();
    const { csrfToken } = await browser.session();

    expect((await rpcError(browser.admin().listEndpoints({}))).code).toBe(Code.PermissionDenied);
    expect((await rpcError(browser.admin("wrong").listEndpoints({}))).code).toBe(Code.PermissionDenied);
    expect((await browser.admin(csrfToken as string).listEndpoints({})).endpoints).toEqual([]);

    // REST: reads need no header, changes do.
    expect((await browser.fetch("/api/endpoints")).status).toBe(200);
    const body = JSON.stringify({ name: "x", providerType: "generic", destinationUrl: "http://lan.test/" });
    const post = (headers: Record<string, string>) =>
      browser.fetch("/api/endpoints", { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    expect((await post({})).status).toBe(403);
    expect((await post({ "x-hookly-csrf": "wrong" })).status).toBe(403);
  });
});

describe("token sign-in and API tokens", () => {
  it("signs in with the admin token: 204, session cookie, principal admin", async () => {
    const edge = await edgeWithGitHub();
    const browser = new Browser(edge.url);
    const res = await tokenSignIn(browser, TEST_SECRETS.ADMIN_TOKEN);
    expect(res.status).toBe(204);
    expect(browser.setCookieFor("hookly_session")).toMatch(/HttpOnly; SameSite=Lax; Path=\/; Max-Age=604800$/);
    const session = await browser.session();
    expect(session).toMatchObject({ authenticated: true, principal: "admin", login: "admin", githubEnabled: true });
    expect((await browser.admin(session.csrfToken as string).whoAmI({})).principal).toBe("admin");
  });

  it("refuses a wrong token with 401 JSON, and non-JSON bodies", async () => {
    const edge = await edgeWithGitHub();
    const browser = new Browser(edge.url);
    const res = await tokenSignIn(browser, "hk_not-a-real-token");
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: "unauthenticated", message: "unknown or revoked token" } });
    expect(browser.cookies.size).toBe(0);

    const form = await browser.fetch("/auth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `token=${TEST_SECRETS.ADMIN_TOKEN}`,
    });
    expect(form.status).toBe(400);
    expect(((await form.json()) as { error: { code: string } }).error.code).toBe("invalid_argument");
    expect(browser.cookies.size).toBe(0);
  });

  it("creates, lists, uses, and revokes an API token", async () => {
    const clock = new TestClock();
    const edge = await edgeWithGitHub({}, clock);
    const admin = adminClient(edge.url);
    expect((await rpcError(admin.createApiToken({ name: "" }))).code).toBe(Code.InvalidArgument);
    expect((await rpcError(admin.createApiToken({ name: "x".repeat(101) }))).code).toBe(Code.InvalidArgument);

    const created = await admin.createApiToken({ name: "ci deploys" });
    expect(created.secret).toMatch(/^hk_[A-Za-z0-9_-]{43}$/);
    const id = created.token!.id;
    expect(id).toMatch(/^tok_/);
    expect(created.token).toMatchObject({ name: "ci deploys", createdBy: "admin" });
    expect(created.token!.lastUsedAt).toBeUndefined();
    const stored = edge.app.db.prepare("SELECT * FROM api_token").all() as Record<string, unknown>[];
    expect(JSON.stringify(stored)).not.toContain(created.secret.slice(3));

    const listed = await admin.listApiTokens({});
    expect(listed.tokens.map((t) => t.id)).toEqual([id]);
    expect(JSON.stringify(listed, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain(created.secret);

    // As a bearer token: no CSRF header needed, last use recorded at most once a minute.
    const bearer = bearerClient(edge.url, created.secret);
    expect(await bearer.whoAmI({})).toMatchObject({ principal: `token:${id}`, login: "ci deploys" });
    const lastUsed = () => (edge.app.db.prepare("SELECT last_used_at FROM api_token WHERE id = ?").get(id) as { last_used_at: number }).last_used_at;
    const first = lastUsed();
    expect(first).toBe(clock.now());
    clock.advance(30_000);
    await bearer.listEndpoints({});
    expect(lastUsed()).toBe(first);
    clock.advance(30_000);
    await bearer.listEndpoints({});
    expect(lastUsed()).toBe(first + 60_000);
    expect((await admin.listApiTokens({})).tokens[0]!.lastUsedAt).toBeDefined();
    // A token made by a token records who made it.
    const child = await bearer.createApiToken({ name: "child" });
    expect(child.token!.createdBy).toBe(`token:${id}`);

    // And as a browser sign-in.
    const browser = new Browser(edge.url);
    expect((await tokenSignIn(browser, created.secret)).status).toBe(204);
    expect((await browser.session()).principal).toBe(`token:${id}`);

    await admin.revokeApiToken({ id });
    expect((await rpcError(bearer.whoAmI({}))).code).toBe(Code.Unauthenticated);
    expect((await browser.session()).authenticated).toBe(false);
    expect((await tokenSignIn(new Browser(edge.url), created.secret)).status).toBe(401);
    // Revoking a token revokes the tokens it made (#12): the child goes with it.
    expect((await admin.listApiTokens({})).tokens.map((t) => t.id)).toEqual([]);
    expect((await rpcError(bearerClient(edge.url, child.secret).whoAmI({}))).code).toBe(Code.Unauthenticated);
    expect((await rpcError(admin.revokeApiToken({ id }))).code).toBe(Code.NotFound);
    expect((await rpcError(admin.revokeApiToken({ id: "tok_unknown" }))).code).toBe(Code.NotFound);
  });

  it("rate-limits failed token sign-ins per IP: 10 a minute, then 429", async () => {
    const clock = new TestClock();
    const edge = await edgeWithGitHub({}, clock);
    const browser = new Browser(edge.url);
    for (let i = 0; i < 10; i++) expect((await tokenSignIn(browser, `wrong-${i}`)).status).toBe(401);
    const limited = await tokenSignIn(browser, TEST_SECRETS.ADMIN_TOKEN);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("resource_exhausted");
    expect(browser.cookies.size).toBe(0);
    clock.advance(60_000);
    expect((await tokenSignIn(browser, TEST_SECRETS.ADMIN_TOKEN)).status).toBe(204);
  });
});

describe("sessions", () => {
  it("logout needs the CSRF header, deletes the session and expires the cookie", async () => {
    const edge = await edgeWithGitHub();
    github.nextUser({ login: "octo-member", orgs: { [ORG]: "active" } });
    const browser = new Browser(edge.url);
    await browser.signInWithGitHub();
    const { csrfToken } = await browser.session();
    const cookie = browser.cookies.get("hookly_session")!;

    const refused = await browser.fetch("/auth/logout", { method: "POST" });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("permission_denied");
    expect((await browser.session()).authenticated).toBe(true);

    const res = await browser.fetch("/auth/logout", { method: "POST", headers: { "x-hookly-csrf": csrfToken as string } });
    expect(res.status).toBe(204);
    expect(browser.setCookieFor("hookly_session")).toBe("hookly_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    expect((await browser.session()).authenticated).toBe(false);

    // The old cookie is dead server-side too.
    const replay = new Browser(edge.url);
    replay.cookies.set("hookly_session", cookie);
    expect((await rpcError(replay.admin(csrfToken as string).whoAmI({}))).code).toBe(Code.Unauthenticated);
    // Logging out without a session is fine.
    expect((await new Browser(edge.url).fetch("/auth/logout", { method: "POST" })).status).toBe(204);
  });

  it("expires after SESSION_TTL_HOURS and purges the row", async () => {
    const clock = new TestClock();
    const edge = await edgeWithGitHub({ SESSION_TTL_HOURS: "2" }, clock);
    // note: a user GITHUB_ALLOWED_USERS lists, so no org re-check is due while the test clock jumps hours.
    github.nextUser({ login: "Friend-Of-Acme" });
    const browser = new Browser(edge.url);
    await browser.signInWithGitHub();
    expect(browser.setCookieFor("hookly_session")).toMatch(/Max-Age=7200$/);
    const { csrfToken } = await browser.session();
    clock.advance(2 * 3_600_000 - 1);
    expect((await browser.admin(csrfToken as string).whoAmI({})).principal).toBe("github:Friend-Of-Acme");
    clock.advance(1);
    expect((await rpcError(browser.admin(csrfToken as string).whoAmI({}))).code).toBe(Code.Unauthenticated);
    expect((await browser.session()).authenticated).toBe(false);
    expect(edge.app.db.prepare("SELECT count(*) AS n FROM session").get()).toEqual({ n: 0 });
  });

  it("re-checks an org member's session with GitHub every 10 minutes and ends it once they left the org", async () => {
    const clock = new TestClock();
    const edge = await edgeWithGitHub({}, clock, { recheckIntervalMs: 50 });
    const user = { login: "octo-member", orgs: { [ORG]: "active" as const } as Record<string, "active"> };
    github.nextUser(user);
    const browser = new Browser(edge.url);
    await browser.signInWithGitHub();
    const memberships = () => github.requests.filter((r) => r.path.startsWith("/user/memberships/")).length;
    const atSignIn = memberships();

    // Ten minutes on: the session is checked again with GitHub, and stays.
    clock.advance(GITHUB_RECHECK_MS);
    await waitUntil(() => memberships() > atSignIn, 5_000, "a re-check");
    expect((await browser.session()).authenticated).toBe(true);

    // The user leaves the org: at the next re-check the session ends.
    delete user.orgs[ORG];
    clock.advance(GITHUB_RECHECK_MS);
    await waitUntil(async () => !(await browser.session()).authenticated, 5_000, "the session ended");
    expect(edge.app.db.prepare("SELECT count(*) AS n FROM session").get()).toEqual({ n: 0 });
  });

  it("a new sign-in replaces the browser's previous session", async () => {
    const edge = await edgeWithGitHub();
    const browser = new Browser(edge.url);
    await tokenSignIn(browser, TEST_SECRETS.ADMIN_TOKEN);
    const old = browser.cookies.get("hookly_session");
    await tokenSignIn(browser, TEST_SECRETS.ADMIN_TOKEN);
    expect(browser.cookies.get("hookly_session")).not.toBe(old);
    expect(edge.app.db.prepare("SELECT count(*) AS n FROM session").get()).toEqual({ n: 1 });
  });

  it("answers unknown /auth paths and wrong methods with JSON errors", async () => {
    const edge = await edgeWithGitHub();
    const browser = new Browser(edge.url);
    const missing = await browser.fetch("/auth/nope");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("not_found");
    const wrong = await browser.fetch("/auth/session", { method: "POST" });
    expect(wrong.status).toBe(405);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
  });
});

describe("logs", () => {
  it("name the login, never a code, access token, cookie, state or token secret", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const tmp = tempDir();
    const config = loadConfig({
      ...TEST_SECRETS,
      DATABASE_PATH: `${tmp.dir}/hookly.db`,
      BASE_URL,
      GITHUB_CLIENT_ID: github.clientId,
      GITHUB_CLIENT_SECRET: github.clientSecret,
      GITHUB_ORG: ORG,
      GITHUB_URL: github.url,
      GITHUB_API_URL: github.url,
      LOG_LEVEL: "debug",
    });
    const app = await createApp(config, { log: pino({ level: "debug" }, sink), extensions: [authExtension()] });
    const port = await app.listen(0, "127.0.0.1");
    track({
      app,
      port,
      url: `http://127.0.0.1:${port}`,
      async close() {
        await app.close();
        tmp.remove();
      },
    });
    const browser = new Browser(`http://127.0.0.1:${port}`);
    github.nextUser({ login: "octo-member", orgs: { [ORG]: "active" } });
    const callback = await browser.startGitHubSignIn();
    const state = new URL(callback, BASE_URL).searchParams.get("state")!;
    await browser.fetch(callback);
    github.nextUser({ login: "stranger" });
    await new Browser(browser.edgeUrl).signInWithGitHub();
    const bad = new URL(await browser.startGitHubSignIn(), BASE_URL);
    bad.searchParams.set("code", "leaky-bad-code-123");
    await browser.fetch(bad.pathname + bad.search);
    await tokenSignIn(new Browser(browser.edgeUrl), "hk_wrong-secret-that-must-not-be-logged");
    await tokenSignIn(new Browser(browser.edgeUrl), TEST_SECRETS.ADMIN_TOKEN);

    const text = lines.join("");
    expect(text).toContain('"login":"octo-member"');
    expect(text).toContain('"login":"stranger"');
    const secrets = [
      ...github.issuedCodes,
      ...github.issuedTokens,
      "leaky-bad-code-123",
      state,
      browser.cookies.get("hookly_session")!,
      "hk_wrong-secret-that-must-not-be-logged",
      TEST_SECRETS.ADMIN_TOKEN,
      github.clientSecret,
    ];
    for (const s of secrets) expect(text).not.toContain(s);
  });
});
