/**
 * The MCP authorization flow (issue #14) with the MCP SDK's own OAuth-capable
 * client: it finds the protected-resource and authorization-server metadata,
 * registers itself, sends the person to the consent page (signed in with the
 * admin token first), exchanges the code with PKCE, and calls the tools with
 * the token it got — an API token with the scope the person chose, revoked
 * like any other. A static bearer token keeps working.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { describe, expect, it } from "vitest";
import { authExtension } from "../../apps/edge/src/auth/auth.extension.js";
import { mcpExtension } from "../../apps/edge/src/mcp/mcp.extension.js";
import { useCleanups } from "../cleanup.js";
import { TEST_SECRETS, freePort, type TestEdge } from "../harness.js";

/** An edge whose BASE_URL is where it listens (the metadata names it). */
async function oauthEdge(): Promise<TestEdge> {
  const port = await freePort();
  return scope.edge({ port, env: { BASE_URL: `http://127.0.0.1:${port}` }, extensions: [authExtension(), mcpExtension()] });
}

const scope = useCleanups();
const REDIRECT = "http://127.0.0.1:33418/callback";

/** An OAuth client's memory, as a desktop assistant keeps it; `authorizationUrl` is where it would open a browser. */
class MemoryProvider implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = "";
  authorizationUrl: URL | undefined;
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "Test Assistant",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/** A browser signed in with the admin token: its session cookie. */
async function signedInCookie(e: TestEdge): Promise<string> {
  const res = await fetch(`${e.url}/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: TEST_SECRETS.ADMIN_TOKEN }),
  });
  expect(res.ok).toBe(true);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("hookly_session="))!;
  return cookie.split(";")[0]!;
}

/** The person's part: open the authorization URL, choose a scope, approve; the code the client gets back. */
async function approve(e: TestEdge, url: URL, cookie: string, chosen = "operate", clientName = "Test Assistant"): Promise<string> {
  const unsigned = await fetch(url, { redirect: "manual" });
  expect(unsigned.status, "not signed in: off to sign-in first").toBe(302);
  expect(unsigned.headers.get("location")).toBe(`/signin?next=${encodeURIComponent(url.pathname + url.search)}`);
  const page = await fetch(url, { headers: { cookie }, redirect: "manual" });
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain(`Allow ${clientName}?`);
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(m[1]!, m[2]!.replace(/&amp;/g, "&").replace(/&quot;/g, '"'));
  form.set("scope", chosen);
  form.set("decision", "approve");
  const done = await fetch(`${e.url}/oauth/authorize`, {
    method: "POST",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: form.toString(),
    redirect: "manual",
  });
  expect(done.status).toBe(302);
  const back = new URL(done.headers.get("location")!);
  expect(back.origin + back.pathname).toBe(REDIRECT);
  expect(back.searchParams.get("state")).toBe(url.searchParams.get("state"));
  return back.searchParams.get("code")!;
}

describe("MCP authorization (OAuth 2.1)", () => {
  it("lets the SDK's OAuth client register, be approved, get a token of the chosen scope, and call the tools; revoking the token ends it", async () => {
    const e = await oauthEdge();
    const provider = new MemoryProvider();
    const mcpUrl = new URL(`${e.url}/mcp`);

    const first = new Client({ name: "assistant", version: "1" });
    const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
    await expect(first.connect(transport)).rejects.toThrow(/Unauthorized/i);
    expect(provider.info?.client_id).toMatch(/^mcpc_/);
    const url = provider.authorizationUrl!;
    expect(url.pathname).toBe("/oauth/authorize");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");

    const code = await approve(e, url, await signedInCookie(e));
    await transport.finishAuth(code);
    expect(provider.saved?.access_token).toMatch(/^hk_/);
    expect(provider.saved?.scope).toBe("operate");

    const client = new Client({ name: "assistant", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
    scope.cleanups.push(() => client.close());
    const status = await client.callTool({ name: "hookly_get_status", arguments: {} });
    expect(status.isError).toBeFalsy();
    // operate, not admin: it may not create endpoints.
    const create = await client.callTool({
      name: "hookly_create_endpoint",
      arguments: { name: "x", provider_type: "generic", destination_url: "http://127.0.0.1:9/" },
    });
    expect(create.isError).toBe(true);

    // The token is an API token like any other: listed, and revoked there.
    const listed = (await e.client.listApiTokens({})).tokens;
    const mine = listed.find((t) => t.name === "MCP: Test Assistant");
    expect(mine).toMatchObject({ scope: "operate" });
    const revoked = await e.client.revokeApiToken({ id: mine!.id });
    expect(revoked).toBeDefined();
    const after = await fetch(`${e.url}/mcp`, {
      method: "POST",
      headers: { authorization: `Bearer ${provider.saved!.access_token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(after.status).toBe(401);
    expect(after.headers.get("www-authenticate")).toContain(`resource_metadata="${e.app.config.baseUrl}/.well-known/oauth-protected-resource"`);
  });

  it("refuses what the spec refuses: a code used twice, a wrong verifier, an unregistered redirect, a forged consent", async () => {
    const e = await oauthEdge();
    const reg = await fetch(`${e.url}/oauth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "C", redirect_uris: [REDIRECT] }),
    });
    expect(reg.status).toBe(201);
    const { client_id } = (await reg.json()) as { client_id: string };
    const bad = await fetch(`${e.url}/oauth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: ["http://evil.example.com/cb"] }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error_description: string }).error_description).toMatch(/must be https, or http on localhost/);

    const verifier = "v".repeat(50);
    const { createHash } = await import("node:crypto");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const url = new URL(`${e.url}/oauth/authorize`);
    for (const [k, v] of Object.entries({
      response_type: "code",
      client_id,
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: "S256",
      state: "s1",
    })) {
      url.searchParams.set(k, v);
    }
    const cookie = await signedInCookie(e);
    // A consent posted without the session's own CSRF token (another site's form) is refused.
    const forged = await fetch(`${e.url}/oauth/authorize`, {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ ...Object.fromEntries(url.searchParams), scope: "read", decision: "approve", csrf: "nope" }).toString(),
      redirect: "manual",
    });
    expect(forged.status).toBe(403);
    const wrongRedirect = new URL(url);
    wrongRedirect.searchParams.set("redirect_uri", "https://evil.example.com/cb");
    expect((await fetch(wrongRedirect, { headers: { cookie }, redirect: "manual" })).status).toBe(400);

    const code = await approve(e, url, cookie, "read", "C");
    const token = (body: Record<string, string>) =>
      fetch(`${e.url}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(body).toString(),
      });
    const wrong = await token({ grant_type: "authorization_code", code, client_id, redirect_uri: REDIRECT, code_verifier: "w".repeat(50) });
    expect(wrong.status).toBe(400);
    // The code was taken by that try: even the right verifier now fails.
    const again = await token({ grant_type: "authorization_code", code, client_id, redirect_uri: REDIRECT, code_verifier: verifier });
    expect(((await again.json()) as { error: string }).error).toBe("invalid_grant");

    const code2 = await approve(e, url, cookie, "read", "C");
    const ok = await token({ grant_type: "authorization_code", code: code2, client_id, redirect_uri: REDIRECT, code_verifier: verifier });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ token_type: "Bearer", scope: "read", access_token: expect.stringMatching(/^hk_/) });

    // Static bearer tokens keep working.
    const staticCall = await fetch(`${e.url}/mcp`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_SECRETS.ADMIN_TOKEN}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(staticCall.status).toBe(200);
  });
});
