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
}

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
    const limiter = createAttemptLimiter({
      max: opts.rateLimit?.max ?? TOKEN_SIGN_IN_MAX_FAILURES,
      windowMs: opts.rateLimit?.windowMs ?? TOKEN_SIGN_IN_WINDOW_MS,
      clock,
    });
    return {
      // note: bearer API tokens first, so a request carrying both a token and a cookie is a
      // bearer call (no CSRF header needed) rather than a session one.
      authenticators: [auth.authenticateApiToken, auth.authenticateSession],
      routes: authRoutes({
        auth,
        authenticate: composeAuthenticators([adminTokenAuthenticator(config.adminToken), auth.authenticateApiToken, auth.authenticateSession]),
        limiter,
        log: log.child({ component: "auth" }),
        baseUrl: config.baseUrl,
        trustProxy: config.trustProxy,
      }),
      adminRpc: createAuthRpc(auth),
      settings: { githubSignIn: auth.githubEnabled },
      start() {
        if (gh) log.info({ org: gh.org, allowedUsers: gh.allowedUsers.length, githubUrl: gh.url }, "GitHub sign-in enabled");
      },
    };
  };
}
