/**
 * The edge's side of "Sign in with GitHub": the authorization URL (PKCE S256),
 * the code exchange, and the two API calls that decide who may sign in
 * (`GET /user`, `GET /user/memberships/orgs/:org`).
 *
 * Endpoints are configurable (GITHUB_URL, GITHUB_API_URL) for GitHub
 * Enterprise Server and the fake in tests, so this uses arctic's generic
 * `OAuth2Client`, not its `GitHub` class (which hard-codes github.com).
 */
import { CodeChallengeMethod, OAuth2Client, OAuth2RequestError, type OAuth2Tokens } from "arctic";

/** Scopes asked for: `read:org` lets the edge see private org membership; `read:user` is implied. */
export const GITHUB_SCOPES = ["read:org"];

/** How long one GitHub request may take before the sign-in fails. */
export const GITHUB_TIMEOUT_MS = 10_000;

/** Where and as whom the edge talks to GitHub. */
export interface GitHubClientOptions {
  clientId: string;
  clientSecret: string;
  /** Web URL without trailing slash, e.g. https://github.com. */
  url: string;
  /** REST API URL without trailing slash, e.g. https://api.github.com. */
  apiUrl: string;
  /** `${BASE_URL}/auth/github/callback`; must match the OAuth app's callback URL. */
  redirectUri: string;
}

/** The signed-in GitHub user. */
export interface GitHubUser {
  login: string;
  avatarUrl: string | undefined;
}

/**
 * A failed GitHub call. `message` is safe to log: it never holds the code,
 * the access token or the client secret.
 */
export class GitHubError extends Error {
  override name = "GitHubError";
}

/** The GitHub calls sign-in needs; see {@link createGitHubClient}. */
export interface GitHubClient {
  /** The URL to send the browser to. */
  authorizationUrl(state: string, codeVerifier: string): URL;
  /** Exchanges the callback's code for an access token; throws GitHubError. */
  exchangeCode(code: string, codeVerifier: string): Promise<string>;
  /** The token's user; throws GitHubError. */
  user(accessToken: string): Promise<GitHubUser>;
  /** Whether the token's user is an active member of `org`; throws GitHubError when GitHub cannot tell. */
  isOrgMember(accessToken: string, org: string): Promise<boolean>;
}

/** Builds a client for one GitHub (or GitHub Enterprise Server) OAuth app. */
export function createGitHubClient(opts: GitHubClientOptions): GitHubClient {
  const oauth = new OAuth2Client(opts.clientId, opts.clientSecret, opts.redirectUri);
  const authorizeEndpoint = `${opts.url}/login/oauth/authorize`;
  const tokenEndpoint = `${opts.url}/login/oauth/access_token`;

  async function api(path: string, accessToken: string): Promise<Response> {
    try {
      return await fetch(`${opts.apiUrl}${path}`, {
        headers: {
          accept: "application/vnd.github+json",
          authorization: `Bearer ${accessToken}`,
          "user-agent": "hookly",
          "x-github-api-version": "2022-11-28",
        },
        signal: AbortSignal.timeout(GITHUB_TIMEOUT_MS),
      });
    } catch (err) {
      throw new GitHubError(`GitHub API ${path} unreachable: ${(err as Error).name}`);
    }
  }

  return {
    authorizationUrl(state, codeVerifier) {
      return oauth.createAuthorizationURLWithPKCE(authorizeEndpoint, state, CodeChallengeMethod.S256, codeVerifier, GITHUB_SCOPES);
    },

    async exchangeCode(code, codeVerifier) {
      let tokens: OAuth2Tokens;
      try {
        tokens = await withTimeout(oauth.validateAuthorizationCode(tokenEndpoint, code, codeVerifier), GITHUB_TIMEOUT_MS);
      } catch (err) {
        if (err instanceof OAuth2RequestError) throw new GitHubError(`code exchange refused: ${err.code}`);
        const status = (err as { status?: unknown }).status;
        throw new GitHubError(`code exchange failed: ${(err as Error).message}${typeof status === "number" ? ` (HTTP ${status})` : ""}`);
      }
      // note: GitHub answers a bad or expired code with HTTP 200 and `{ error }`; arctic's
      // OAuth2Client treats any 200 as tokens, so look for the error field ourselves.
      const data = tokens.data as Record<string, unknown>;
      if (typeof data.error === "string") throw new GitHubError(`code exchange refused: ${data.error}`);
      if (typeof data.access_token !== "string" || data.access_token === "") {
        throw new GitHubError("code exchange answered without an access token");
      }
      return data.access_token;
    },

    async user(accessToken) {
      const res = await api("/user", accessToken);
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new GitHubError(`GET /user answered ${res.status}`);
      }
      const body = (await res.json().catch(() => undefined)) as { login?: unknown; avatar_url?: unknown } | undefined;
      if (typeof body?.login !== "string" || body.login === "") throw new GitHubError("GET /user answered without a login");
      return { login: body.login, avatarUrl: typeof body.avatar_url === "string" ? body.avatar_url : undefined };
    },

    async isOrgMember(accessToken, org) {
      const res = await api(`/user/memberships/orgs/${encodeURIComponent(org)}`, accessToken);
      // note: 404 = not a member (or the org does not exist); 403 = the org restricts
      // OAuth apps or the token lacks read:org; 401 = the token was revoked (a session's
      // re-check). All mean "not shown to be a member".
      if (res.status === 404 || res.status === 403 || res.status === 401) {
        await res.body?.cancel();
        return false;
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new GitHubError(`GET /user/memberships/orgs/${org} answered ${res.status}`);
      }
      const body = (await res.json().catch(() => undefined)) as { state?: unknown } | undefined;
      return body?.state === "active";
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
