/**
 * Sign-in as an edge extension: session and API-token authenticators, the
 * `/auth/*` routes, the token/WhoAmI admin RPCs, and `githubSignIn` in the
 * settings. Wire it with `extensions: [authExtension()]`; it reads its
 * configuration (`github`, `sessionTtlMs`, `adminToken`, `baseUrl`,
 * `trustProxy`) from the core's EdgeConfig.
 */
import type { ExtensionFactory } from "../core.js";
import { createGitHubClient, type GitHubClient } from "./auth.github.js";
import { authRoutes } from "./auth.http.js";
import { createAuthRpc } from "./auth.rpc.js";
import { oauthRoutes } from "./auth.oauth.js";
import { adminTokenAuthenticator, composeAuthenticators, createAttemptLimiter, createAuthService } from "./auth.service.js";
import { createAuthStore } from "./auth.store.js";

/** Failed token sign-ins allowed per client IP and window. */
export const TOKEN_SIGN_IN_MAX_FAILURES = 10;
/** The window of {@link TOKEN_SIGN_IN_MAX_FAILURES}. */
export const TOKEN_SIGN_IN_WINDOW_MS = 60_000;

/** Optional overrides, for tests. */
export interface AuthExtensionOptions {
  /** Replaces the GitHub client built from the config (GitHub sign-in must still be configured). */
  github?: GitHubClient;
  /** Failed `POST /auth/token` attempts per IP and window. Default 10 per minute. */
  rateLimit?: { max: number; windowMs: number };
  /** How often GitHub sessions due for a re-check are looked for. Default {@link RECHECK_PASS_MS}. */
  recheckIntervalMs?: number;
}

/** How often the GitHub sessions due for a re-check (GITHUB_RECHECK_MS) are checked. */
export const RECHECK_PASS_MS = 60_000;

/** The auth extension; see the module comment. */
export function authExtension(opts: AuthExtensionOptions = {}): ExtensionFactory {
  return (core) => {
    const { config, clock, log } = core;
    const gh = config.github;
    const auth = createAuthService({
      store: createAuthStore(core.db),
      clock,
      sessionTtlMs: config.sessionTtlMs,
      adminToken: config.adminToken,
      storage: core.storage,
      box: core.box,
      github: gh && {
        client:
          opts.github ??
          createGitHubClient({
            clientId: gh.clientId,
            clientSecret: gh.clientSecret,
            url: gh.url,
            apiUrl: gh.apiUrl,
            redirectUri: `${config.baseUrl}/auth/github/callback`,
          }),
        org: gh.org,
        allowedUsers: gh.allowedUsers,
      },
    });
    let rechecks: NodeJS.Timeout | undefined;
    // note: one pass at a time: a slow GitHub must not stack passes that ask about the same sessions.
    let checking = false;
    const recheck = () => {
      if (checking) return;
      checking = true;
      auth
        .recheckGitHubSessions()
        .then(
          (r) => {
            for (const login of r.ended) log.info({ login }, "GitHub session ended: the user is no longer allowed to sign in");
            if (r.unreachable > 0) log.warn({ sessions: r.unreachable }, "could not re-check GitHub sessions (GitHub unreachable); will try again");
          },
          (err: unknown) => log.warn({ err }, "re-checking GitHub sessions failed; will try again"),
        )
        .finally(() => {
          checking = false;
        });
    };
    const limiter = createAttemptLimiter({
      max: opts.rateLimit?.max ?? TOKEN_SIGN_IN_MAX_FAILURES,
      windowMs: opts.rateLimit?.windowMs ?? TOKEN_SIGN_IN_WINDOW_MS,
      clock,
    });
    return {
      // note: bearer API tokens first, so a request carrying both a token and a cookie is a
      // bearer call (no CSRF header needed) rather than a session one.
      authenticators: [auth.authenticateApiToken, auth.authenticateSession],
      routes: [
        ...authRoutes({
          auth,
          authenticate: composeAuthenticators([adminTokenAuthenticator(config.adminToken), auth.authenticateApiToken, auth.authenticateSession]),
          limiter,
          log: log.child({ component: "auth" }),
          baseUrl: config.baseUrl,
          trustProxy: config.trustProxy,
        }),
        // note: the MCP authorization flow: the edge is the authorization server of its own /mcp (auth.oauth.ts).
        ...oauthRoutes({ db: core.db, auth, clock, log: log.child({ component: "oauth" }), baseUrl: config.baseUrl }),
      ],
      adminRpc: createAuthRpc(auth),
      settings: { githubSignIn: auth.githubEnabled },
      start() {
        if (!gh) return;
        log.info({ org: gh.org, allowedUsers: gh.allowedUsers.length, githubUrl: gh.url }, "GitHub sign-in enabled");
        // note: each session is due every GITHUB_RECHECK_MS; a pass a minute keeps every check within about 11 minutes.
        rechecks = setInterval(recheck, opts.recheckIntervalMs ?? RECHECK_PASS_MS);
        rechecks.unref();
      },
      close() {
        if (rechecks) clearInterval(rechecks);
      },
    };
  };
}
