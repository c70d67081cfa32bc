/**
 * A small fake GitHub for sign-in tests: the OAuth pages and the two REST
 * calls the edge makes, on 127.0.0.1 port 0. Serve it as both GITHUB_URL and
 * GITHUB_API_URL.
 *
 * - `GET  /login/oauth/authorize`        302s straight back to redirect_uri with a code for
 *                                        the "next user" and the same state (no consent page)
 * - `POST /login/oauth/access_token`     checks client id/secret (Basic or form), the code
 *                                        (single use), redirect_uri and the PKCE S256 verifier;
 *                                        like GitHub, a bad code is HTTP 200 `{ error: "bad_verification_code" }`
 * - `GET  /user`                         the token's user
 * - `GET  /user/memberships/orgs/:org`   200 `{ state }`, 404 when not a member, or 403 when told to
 */
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { listenLocal } from "./listen.js";

/** A GitHub account the fake signs in. */
export interface FakeGitHubUser {
  login: string;
  avatarUrl?: string;
  /** Membership per org: `active`, `pending`, or `forbidden` (403, as when an org restricts OAuth apps). */
  orgs?: Record<string, "active" | "pending" | "forbidden">;
}

/** One request the fake received (no bodies: they hold codes and secrets). */
export interface FakeGitHubRequest {
  method: string;
  path: string;
  query: URLSearchParams;
}

/** What `/login/oauth/access_token` answered, for assertions. */
export interface FakeTokenExchange {
  status: number;
  body: Record<string, unknown>;
}

/** A running fake; see {@link startFakeGitHub}. */
export interface FakeGitHub {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  clientId: string;
  clientSecret: string;
  /** Every request, oldest first. */
  requests: FakeGitHubRequest[];
  /** Every token exchange answer, oldest first. */
  exchanges: FakeTokenExchange[];
  /** Access tokens issued so far (to check that none leaks into logs). */
  issuedTokens: string[];
  /** Codes issued so far. */
  issuedCodes: string[];
  /** The user the next authorize grants. */
  nextUser(user: FakeGitHubUser): void;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Starts the fake. The first user is `octocat` with no org memberships. */
export async function startFakeGitHub(init: { clientId?: string; clientSecret?: string; user?: FakeGitHubUser } = {}): Promise<FakeGitHub> {
  const clientId = init.clientId ?? "fake-client-id";
  const clientSecret = init.clientSecret ?? "fake-client-secret-0123456789";
  let next: FakeGitHubUser = init.user ?? { login: "octocat" };
  const codes = new Map<string, { user: FakeGitHubUser; challenge: string; redirectUri: string; used: boolean }>();
  const tokens = new Map<string, FakeGitHubUser>();
  const requests: FakeGitHubRequest[] = [];
  const exchanges: FakeTokenExchange[] = [];
  const issuedTokens: string[] = [];
  const issuedCodes: string[] = [];

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const userOf = (req: http.IncomingMessage) => {
    const m = /^(?:Bearer|token)\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    return m ? tokens.get(m[1]!) : undefined;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake.invalid");
    requests.push({ method: req.method ?? "GET", path: url.pathname, query: url.searchParams });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "GET" && url.pathname === "/login/oauth/authorize") {
        const q = url.searchParams;
        const redirectUri = q.get("redirect_uri");
        if (q.get("client_id") !== clientId || !redirectUri || !q.get("state")) {
          json(res, 400, { error: "invalid_request" });
          return;
        }
        if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) {
          json(res, 400, { error: "invalid_request", error_description: "PKCE S256 expected" });
          return;
        }
        const code = randomBytes(10).toString("hex");
        issuedCodes.push(code);
        codes.set(code, { user: next, challenge: q.get("code_challenge")!, redirectUri, used: false });
        const back = new URL(redirectUri);
        back.searchParams.set("code", code);
        back.searchParams.set("state", q.get("state")!);
        res.writeHead(302, { location: back.toString() });
        res.end();
        return;
      }

      if (req.method === "POST" && url.pathname === "/login/oauth/access_token") {
        const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
        let id = form.get("client_id");
        let secret = form.get("client_secret");
        const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? "");
        if (basic) {
          const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
          const colon = decoded.indexOf(":");
          id = decoded.slice(0, colon);
          secret = decoded.slice(colon + 1);
        }
        const answer = (body: Record<string, unknown>) => {
          // note: like GitHub, every answer is HTTP 200, errors included.
          exchanges.push({ status: 200, body });
          json(res, 200, body);
        };
        if (id !== clientId || secret !== clientSecret) {
          answer({ error: "incorrect_client_credentials", error_description: "The client_id and/or client_secret passed are incorrect." });
          return;
        }
        const grant = codes.get(form.get("code") ?? "");
        const verifier = form.get("code_verifier") ?? "";
        const challenge = createHash("sha256").update(verifier).digest("base64url");
        if (!grant || grant.used || (form.get("redirect_uri") && form.get("redirect_uri") !== grant.redirectUri)) {
          answer({ error: "bad_verification_code", error_description: "The code passed is incorrect or expired." });
          return;
        }
        grant.used = true;
        if (challenge !== grant.challenge) {
          answer({ error: "bad_verification_code", error_description: "The code_verifier does not match the challenge." });
          return;
        }
        const token = `gho_${randomBytes(18).toString("base64url")}`;
        tokens.set(token, grant.user);
        issuedTokens.push(token);
        answer({ access_token: token, token_type: "bearer", scope: "read:org" });
        return;
      }

      if (req.method === "GET" && url.pathname === "/user") {
        const user = userOf(req);
        if (!user) return json(res, 401, { message: "Bad credentials" });
        const avatar = user.avatarUrl ?? `https://avatars.example.com/u/${user.login}`;
        return json(res, 200, { login: user.login, id: 1, avatar_url: avatar, type: "User" });
      }

      const membership = /^\/user\/memberships\/orgs\/([^/]+)$/.exec(url.pathname);
      if (req.method === "GET" && membership) {
        const user = userOf(req);
        if (!user) return json(res, 401, { message: "Bad credentials" });
        const org = decodeURIComponent(membership[1]!);
        const state = user.orgs?.[org];
        if (state === "forbidden") return json(res, 403, { message: "Resource protected by organization access policies" });
        if (!state) return json(res, 404, { message: "Not Found" });
        return json(res, 200, { state, role: "member", organization: { login: org }, user: { login: user.login } });
      }

      json(res, 404, { message: "Not Found" });
    });
  });

  const { url } = await listenLocal(server);
  return {
    url,
    clientId,
    clientSecret,
    requests,
    exchanges,
    issuedTokens,
    issuedCodes,
    nextUser(user) {
      next = user;
    },
    close() {
      return new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
