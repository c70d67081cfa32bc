/**
 * The GitHub client against the fake GitHub: PKCE authorization URL, the code
 * exchange (including GitHub's "HTTP 200 with an error" answer), and the
 * user and membership calls.
 */
import { generateCodeVerifier } from "arctic";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeGitHub, type FakeGitHub } from "../../../../test/fakes/github.js";
import { GitHubError, createGitHubClient, type GitHubClient } from "./auth.github.js";

let github: FakeGitHub;
let client: GitHubClient;
const REDIRECT = "http://hookly.test/auth/github/callback";

beforeAll(async () => {
  github = await startFakeGitHub();
  client = createGitHubClient({ clientId: github.clientId, clientSecret: github.clientSecret, url: github.url, apiUrl: github.url, redirectUri: REDIRECT });
});
afterAll(() => github.close());

/** Walks the authorize page; returns the code GitHub would hand the browser. */
async function authorize(verifier: string): Promise<string> {
  const res = await fetch(client.authorizationUrl("state-1", verifier), { redirect: "manual" });
  const back = new URL(res.headers.get("location")!);
  expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
  expect(back.searchParams.get("state")).toBe("state-1");
  return back.searchParams.get("code")!;
}

async function failure(p: Promise<unknown>): Promise<GitHubError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GitHubError);
  return err as GitHubError;
}

describe("GitHub client", () => {
  it("exchanges a code with its PKCE verifier and reads the user and membership", async () => {
    github.nextUser({ login: "octo", avatarUrl: "https://a/octo", orgs: { acme: "active", pend: "pending" } });
    const verifier = generateCodeVerifier();
    const token = await client.exchangeCode(await authorize(verifier), verifier);
    expect(token).toMatch(/^gho_/);
    expect(await client.user(token)).toEqual({ login: "octo", avatarUrl: "https://a/octo" });
    expect(await client.isOrgMember(token, "acme")).toBe(true);
    expect(await client.isOrgMember(token, "pend")).toBe(false);
    expect(await client.isOrgMember(token, "other")).toBe(false);
  });

  it("fails on GitHub's HTTP 200 error answers, without echoing the code", async () => {
    const verifier = generateCodeVerifier();
    const code = await authorize(verifier);
    const wrongVerifier = await failure(client.exchangeCode(code, generateCodeVerifier()));
    expect(wrongVerifier.message).toBe("code exchange refused: bad_verification_code");
    expect(github.exchanges.at(-1)).toMatchObject({ status: 200, body: { error: "bad_verification_code" } });
    // The code was spent by the failed attempt, as on GitHub.
    expect((await failure(client.exchangeCode(code, verifier))).message).not.toContain(code);
  });

  it("fails on wrong client credentials", async () => {
    const other = createGitHubClient({ clientId: github.clientId, clientSecret: "wrong", url: github.url, apiUrl: github.url, redirectUri: REDIRECT });
    const verifier = generateCodeVerifier();
    const err = await failure(other.exchangeCode(await authorize(verifier), verifier));
    expect(err.message).toBe("code exchange refused: incorrect_client_credentials");
  });

  it("fails when GitHub cannot be reached or answers oddly", async () => {
    const down = createGitHubClient({ clientId: "x", clientSecret: "y", url: "http://127.0.0.1:1", apiUrl: "http://127.0.0.1:1", redirectUri: REDIRECT });
    expect((await failure(down.exchangeCode("c", "v"))).message).toMatch(/^code exchange failed/);
    expect((await failure(down.user("t"))).message).toMatch(/unreachable/);
    expect((await failure(client.user("gho_unknown"))).message).toBe("GET /user answered 401");
    const notFound = createGitHubClient({ clientId: "x", clientSecret: "y", url: `${github.url}/nowhere`, apiUrl: github.url, redirectUri: REDIRECT });
    expect((await failure(notFound.exchangeCode("c", "v"))).message).toMatch(/^code exchange failed.*404/);
  });
});
