/**
 * Security hardening (issue #12), each case against a real edge on port 0:
 * what a client behind a trusted proxy can claim, the headers that pin
 * browsers to HTTPS, and signature secrets that are any string the provider
 * accepts, several at once.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { ProviderType } from "@hookly/proto/gen/admin_pb";
import { sign } from "@octokit/webhooks-methods";
import { spawnSync } from "node:child_process";
import http2 from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { authExtension } from "../../apps/edge/src/auth/auth.extension.js";
import { createSecretBox } from "../../apps/edge/src/crypto/secret-box.js";
import { mcpExtension } from "../../apps/edge/src/mcp/mcp.extension.js";
import { distFile } from "../../scripts/bundle.js";
import { useCleanups } from "../cleanup.js";
import { type FakeEdgeSession, StreamService, fakeEdgeService } from "../fakes/edge.js";
import { listenLocal } from "../fakes/listen.js";
import { TEST_SECRETS, TestClock, adminClient, startHub, createEndpoint, postWebhook, tempDir, waitUntil, type TestEdge } from "../harness.js";

const scope = useCleanups();
const MiB = 1024 * 1024;

describe("security", () => {
  it("records the address the trusted proxy saw (the right-most X-Forwarded-For entry), not one the client wrote", async () => {
    const proxied = await scope.edge({ env: { TRUST_PROXY: "true" } });
    const ep = await createEndpoint(proxied.url, "http://127.0.0.1:9/x");
    // The client claims 6.6.6.6; the proxy in front appends the address it saw.
    const id = await postWebhook(ep.ingestUrl, "{}", { "x-forwarded-for": "6.6.6.6, 198.51.100.7" });
    expect((await proxied.api("GET", `/api/webhooks/${id}`)).body.webhook.source_ip).toBe("198.51.100.7");
    // Without TRUST_PROXY the header is ignored: the socket's peer is recorded.
    const direct = await scope.edge();
    const ep2 = await createEndpoint(direct.url, "http://127.0.0.1:9/x");
    const id2 = await postWebhook(ep2.ingestUrl, "{}", { "x-forwarded-for": "6.6.6.6" });
    expect((await direct.api("GET", `/api/webhooks/${id2}`)).body.webhook.source_ip).toBe("127.0.0.1");
  });

  it("sends Strict-Transport-Security on every response when BASE_URL is https, and not otherwise", async () => {
    const secure = await scope.edge({ env: { BASE_URL: "https://hooks.example.com" } });
    const ep = await createEndpoint(secure.url, "http://127.0.0.1:9/x");
    const responses = [
      await fetch(`${secure.url}/healthz`),
      await fetch(ep.ingestUrl, { method: "POST", body: "{}" }),
      await fetch(`${secure.url}/api/endpoints`),
      await fetch(`${secure.url}/nothing-here`),
    ];
    for (const r of responses) expect(r.headers.get("strict-transport-security"), r.url).toBe("max-age=31536000");
    // Connect (the admin API and the hub stream's protocol) answers with it too.
    const statuses: string[] = [];
    await adminClient(secure.url).getStatus({}, { onHeader: (h) => statuses.push(h.get("strict-transport-security") ?? "") });
    expect(statuses).toEqual(["max-age=31536000"]);

    const plain = await scope.edge();
    expect((await fetch(`${plain.url}/healthz`)).headers.get("strict-transport-security")).toBeNull();
  });

  describe("signature secrets", () => {
    // GitHub's own documentation uses this secret.
    const DOCS_SECRET = "It's a Secret to Everybody";
    const body = JSON.stringify({ action: "opened", zen: "Keep it logically awesome." });
    /** Posts `body` signed by GitHub's own library with `secret`; returns whether the edge found it verified. */
    const verifiedWith = async (e: TestEdge, endpointId: string, secret: string) => {
      const id = await postWebhook(`${e.url}/h/${endpointId}`, body, {
        "content-type": "application/json",
        "x-github-event": "pull_request",
        "x-hub-signature-256": await sign(secret, body),
      });
      return (await e.api("GET", `/api/webhooks/${id}`)).body.webhook.signature_valid as boolean;
    };

    it("accepts any secret the provider accepts, spaces included, as one secret", async () => {
      const e = await scope.edge();
      const ep = await createEndpoint(e.url, "http://127.0.0.1:9/x", { providerType: ProviderType.GITHUB, signatureSecret: DOCS_SECRET });
      expect((await e.api("GET", `/api/endpoints/${ep.id}`)).body.endpoint).toMatchObject({ has_signature_secret: true, signature_secret_count: 1 });
      expect(await verifiedWith(e, ep.id, DOCS_SECRET)).toBe(true);
      // Its words are not secrets of their own.
      expect(await verifiedWith(e, ep.id, "a")).toBe(false);
    });

    it("takes rotation secrets as a list (REST, Connect, MCP's shape), each verifying, and replaces or removes them", async () => {
      const e = await scope.edge();
      const created = await e.api("POST", "/api/endpoints", {
        body: {
          name: "gh",
          provider_type: "github",
          destination_url: "http://127.0.0.1:9/x",
          signature_secrets: ["old secret, with a comma", DOCS_SECRET],
        },
      });
      expect(created.status).toBe(201);
      const id = created.body.endpoint.id as string;
      expect(created.body.endpoint.signature_secret_count).toBe(2);
      expect(await verifiedWith(e, id, "old secret, with a comma")).toBe(true);
      expect(await verifiedWith(e, id, DOCS_SECRET)).toBe(true);
      expect(await verifiedWith(e, id, "old secret")).toBe(false);

      // Connect: the rotation ends, the old one goes.
      const updated = await adminClient(e.url).updateEndpoint({ id, signatureSecrets: { secrets: [DOCS_SECRET] } });
      expect(updated.endpoint?.signatureSecretCount).toBe(1);
      expect(await verifiedWith(e, id, "old secret, with a comma")).toBe(false);
      expect(await verifiedWith(e, id, DOCS_SECRET)).toBe(true);

      // Bad lists are refused with the reason; both forms at once too.
      const bad = await e.api("PATCH", `/api/endpoints/${id}`, { body: { signature_secrets: ["ok-secret", " "] } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/secret 2 is empty/);
      const both = await e.api("PATCH", `/api/endpoints/${id}`, { body: { signature_secret: "a", signature_secrets: ["b"] } });
      expect(both.status).toBe(400);
      const removed = await e.api("PATCH", `/api/endpoints/${id}`, { body: { signature_secrets: [] } });
      expect(removed.body.endpoint).toMatchObject({ has_signature_secret: false, signature_secret_count: 0 });
    });

    it("re-stores secrets from before lists at start: a rotation stays a rotation, a secret with spaces becomes whole", async () => {
      const tmp = tempDir();
      scope.cleanups.push(async () => tmp.remove());
      const databasePath = join(tmp.dir, "hookly.db");
      let e = await startEdgeAt(databasePath);
      const rotation = await createEndpoint(e.url, "http://127.0.0.1:9/x", { name: "rotation", providerType: ProviderType.GITHUB });
      const spaced = await createEndpoint(e.url, "http://127.0.0.1:9/x", { name: "spaced", providerType: ProviderType.GITHUB });
      // As an edge before lists stored them: one sealed string, split on whitespace and commas when read.
      const box = createSecretBox([TEST_SECRETS.ENCRYPTION_KEY]);
      const legacy = e.app.db.prepare(`UPDATE endpoint SET signature_secret = ? WHERE id = ?`);
      legacy.run(box.seal("whsec_newnewnewnew, whsec_oldoldoldold", rotation.id), rotation.id);
      legacy.run(box.seal(DOCS_SECRET, spaced.id), spaced.id);
      await e.close();

      e = await startEdgeAt(databasePath);
      const count = async (id: string) => (await e.api("GET", `/api/endpoints/${id}`)).body.endpoint.signature_secret_count;
      expect(await count(rotation.id)).toBe(2);
      expect(await count(spaced.id)).toBe(1);
      expect(await verifiedWith(e, rotation.id, "whsec_newnewnewnew")).toBe(true);
      expect(await verifiedWith(e, rotation.id, "whsec_oldoldoldold")).toBe(true);
      expect(await verifiedWith(e, spaced.id, DOCS_SECRET)).toBe(true);
      expect(await verifiedWith(e, spaced.id, "a")).toBe(false);
      // Re-sealed in the list form: what is stored now is no longer the old single string.
      const stored = e.app.db.prepare<[string], { s: string }>(`SELECT signature_secret AS s FROM endpoint WHERE id = ?`).get(spaced.id)!.s;
      expect(box.open(stored, spaced.id)).not.toBe(DOCS_SECRET);
    });
  });

  describe("sessions", () => {
    /** Signs in with `token` (POST /auth/token); returns the session cookie. */
    const signIn = async (e: TestEdge, token: string) => {
      const res = await fetch(`${e.url}/auth/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
      expect(res.status).toBe(204);
      return /hookly_session=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")![1]!;
    };
    const signedIn = async (e: TestEdge, cookie: string) =>
      ((await (await fetch(`${e.url}/auth/session`, { headers: { cookie: `hookly_session=${cookie}` } })).json()) as { authenticated: boolean }).authenticated;

    it("an admin session ends when ADMIN_TOKEN is changed and the edge restarted", async () => {
      const tmp = tempDir();
      scope.cleanups.push(async () => tmp.remove());
      const databasePath = join(tmp.dir, "hookly.db");
      let e = await scope.edge({ databasePath, extensions: [authExtension()] });
      const cookie = await signIn(e, TEST_SECRETS.ADMIN_TOKEN);
      expect(await signedIn(e, cookie)).toBe(true);
      await e.close();
      // The token leaked; the operator sets a new one and restarts.
      e = await scope.edge({ databasePath, extensions: [authExtension()], env: { ADMIN_TOKEN: "a-brand-new-admin-token-0123456789" } });
      expect(await signedIn(e, cookie)).toBe(false);
      expect((await fetch(`${e.url}/api/endpoints`, { headers: { cookie: `hookly_session=${cookie}` } })).status).toBe(401);
    });

    it("`hookly sessions revoke-all` ends every session while the edge runs", async () => {
      const tmp = tempDir();
      scope.cleanups.push(async () => tmp.remove());
      const databasePath = join(tmp.dir, "hookly.db");
      const e = await scope.edge({ databasePath, extensions: [authExtension()] });
      const cookies = [await signIn(e, TEST_SECRETS.ADMIN_TOKEN), await signIn(e, TEST_SECRETS.ADMIN_TOKEN)];
      const run = spawnSync(process.execPath, [distFile("edge", "cli"), "sessions", "revoke-all"], {
        env: { PATH: process.env.PATH ?? "", ...TEST_SECRETS, DATABASE_PATH: databasePath },
        encoding: "utf8",
      });
      expect(run.stderr).toBe("");
      expect(run.stdout).toBe("2 session(s) ended; everyone signs in again\n");
      expect(run.status).toBe(0);
      for (const c of cookies) expect(await signedIn(e, c)).toBe(false);
    });
  });

  it("keeps provider secrets in headers sealed at rest, redacted in the API, MCP and logs, and whole for the LAN service", async () => {
    const TG_SECRET = "telegram-secret-token-Zq81";
    const BEARER = "provider-bearer-Wd3K";
    const COOKIE = "provider-cookie-Hs7P";
    const EXTRA = "extra-configured-secret-Np2V";
    const logs: string[] = [];
    const log = pino({ level: "trace" }, { write: (line: string) => void logs.push(line) });
    const tmp = tempDir();
    scope.cleanups.push(async () => tmp.remove());
    const databasePath = join(tmp.dir, "hookly.db");
    const e = await scope.edge({ databasePath, log, env: { SECRET_HEADERS: "X-Api-Key" }, extensions: [mcpExtension()] });
    const t = await scope.receiver();
    const ep = await createEndpoint(e.url, t.url, { providerType: ProviderType.TELEGRAM, signatureSecret: TG_SECRET });
    const body = JSON.stringify({ update_id: 7, message: { message_id: 1, text: "hi" } });
    const id = await postWebhook(ep.ingestUrl, body, {
      "content-type": "application/json",
      "x-telegram-bot-api-secret-token": TG_SECRET,
      authorization: `Bearer ${BEARER}`,
      cookie: `s=${COOKIE}`,
      "x-api-key": EXTRA,
    });
    const secrets = [TG_SECRET, BEARER, COOKIE, EXTRA];

    // The API: verified (the secret was checked before sealing), and every secret header redacted.
    const detail = await e.api("GET", `/api/webhooks/${id}`);
    expect(detail.body.webhook.signature_valid).toBe(true);
    const shown = Object.fromEntries((detail.body.webhook.headers as { name: string; value: string }[]).map((h) => [h.name.toLowerCase(), h.value]));
    expect(shown).toMatchObject({
      "x-telegram-bot-api-secret-token": "[redacted]",
      authorization: "[redacted]",
      cookie: "[redacted]",
      "x-api-key": "[redacted]",
    });
    expect(shown["content-type"]).toBe("application/json");
    const rpc = JSON.stringify(await adminClient(e.url).getWebhook({ id }), (_, v) => (typeof v === "bigint" ? String(v) : v));
    // The MCP tool an assistant reads.
    const client = new Client({ name: "security-test", version: "0.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${e.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${TEST_SECRETS.ADMIN_TOKEN}` } } }),
    );
    scope.cleanups.push(() => client.close());
    const mcp = JSON.stringify(await client.callTool({ name: "hookly_get_webhook", arguments: { webhook_id: id } }));
    expect(mcp).toContain("[redacted]");

    // The LAN service gets the originals; a replay's forward too.
    await scope.hub(e.url);
    const [got] = await t.waitFor(1);
    expect(got!.headers).toMatchObject({
      "x-telegram-bot-api-secret-token": TG_SECRET,
      authorization: `Bearer ${BEARER}`,
      cookie: `s=${COOKIE}`,
      "x-api-key": EXTRA,
    });
    await adminClient(e.url).replayWebhook({ id, allowPending: true });
    const [, again] = await t.waitFor(2);
    expect(again!.headers["x-telegram-bot-api-secret-token"]).toBe(TG_SECRET);

    // Nowhere else: not in the API, MCP or log output, not in the database's files.
    await e.close();
    const files = [databasePath, `${databasePath}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f).toString("latin1"));
    for (const secret of secrets) {
      for (const [what, text] of [
        ["REST", JSON.stringify(detail.body)],
        ["Connect", rpc],
        ["MCP", mcp],
        ["logs", logs.join("")],
        ...files.map((f, i) => [`database file ${i}`, f]),
      ] as const) {
        expect(text.includes(secret), `${secret} in ${what}`).toBe(false);
      }
    }
  });

  it("seals at start the secret headers of webhooks stored before they were sealed, and still forwards them whole", async () => {
    const tmp = tempDir();
    scope.cleanups.push(async () => tmp.remove());
    const databasePath = join(tmp.dir, "hookly.db");
    let e = await scope.edge({ databasePath });
    const t = await scope.receiver();
    const ep = await createEndpoint(e.url, t.url);
    const id = await postWebhook(ep.ingestUrl, "{}", { "content-type": "application/json", authorization: "Bearer stored-before-0Kx" });
    // As an older edge stored it: the header as received, and the upgrade job still to run.
    e.app.db.prepare(`UPDATE webhook_body SET headers = ? WHERE webhook_seq = (SELECT seq FROM webhook WHERE id = ?)`).run(
      JSON.stringify([
        ["content-type", "application/json"],
        ["authorization", "Bearer stored-before-0Kx"],
      ]),
      id,
    );
    e.app.db.prepare(`UPDATE upgrade_job SET after_seq = 0, done_at = NULL`).run();
    await e.close();

    e = await scope.edge({ databasePath });
    await waitUntil(() => e.app.db.prepare<[], { d: number | null }>(`SELECT done_at AS d FROM upgrade_job`).get()!.d !== null, 10_000, "the job done");
    const stored = e.app.db
      .prepare<[string], { h: string }>(`SELECT headers AS h FROM webhook_body WHERE webhook_seq = (SELECT seq FROM webhook WHERE id = ?)`)
      .get(id)!.h;
    expect(stored).not.toContain("stored-before-0Kx");
    const shown = (await e.api("GET", `/api/webhooks/${id}`)).body.webhook.headers as { name: string; value: string }[];
    expect(shown.find((h) => h.name === "authorization")?.value).toBe("[redacted]");
    await scope.hub(e.url);
    const [got] = await t.waitFor(1);
    expect(got!.headers.authorization).toBe("Bearer stored-before-0Kx");
  });

  describe("token scopes", () => {
    /** A token of `scope`, made by the admin token. */
    const tokenOf = async (e: TestEdge, scope: string) => (await adminClient(e.url).createApiToken({ name: scope, scope })).secret;
    const rest = (e: TestEdge, token: string, method: string, path: string, body?: unknown) =>
      fetch(`${e.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then((r) => r.status);
    const connectCode = (p: Promise<unknown>) =>
      p.then(
        () => "ok",
        (err: unknown) => Code[ConnectError.from(err).code],
      );

    it("read sees, operate also replays and mutes, admin changes endpoints: REST and Connect alike", async () => {
      const e = await scope.edge({ extensions: [authExtension()] });
      const ep = await createEndpoint(e.url, "http://127.0.0.1:9/x");
      const id = await postWebhook(ep.ingestUrl, "{}");
      const [read, operate, admin] = [await tokenOf(e, "read"), await tokenOf(e, "operate"), await tokenOf(e, "admin")];
      const table: [string, string, string, unknown, [number, number, number]][] = [
        ["GET", "/api/endpoints", "list", undefined, [200, 200, 200]],
        ["GET", `/api/webhooks/${id}`, "detail", undefined, [200, 200, 200]],
        ["POST", `/api/webhooks/${id}/replay?allow_pending=true`, "replay", undefined, [403, 201, 201]],
        ["PATCH", `/api/endpoints/${ep.id}`, "mute", { muted: true }, [403, 200, 200]],
        ["PATCH", `/api/endpoints/${ep.id}`, "point the destination elsewhere", { destination_url: "http://10.0.0.1/steal" }, [403, 403, 200]],
        ["POST", "/api/hubs", "create a hub", { name: "x" }, [403, 403, 201]],
      ];
      for (const [method, path, what, body, want] of table) {
        const got = [await rest(e, read, method, path, body), await rest(e, operate, method, path, body), await rest(e, admin, method, path, body)];
        expect(got, what).toEqual(want);
      }
      const as = (token: string) => adminClient(e.url, token);
      expect(await connectCode(as(read).listWebhooks({}))).toBe("ok");
      expect(await connectCode(as(read).replayWebhook({ id }))).toBe("PermissionDenied");
      expect(await connectCode(as(operate).updateEndpoint({ id: ep.id, muted: false }))).toBe("ok");
      expect(await connectCode(as(operate).updateEndpoint({ id: ep.id, destinationUrl: "http://10.0.0.1/steal" }))).toBe("PermissionDenied");
      expect(await connectCode(as(operate).deleteEndpoint({ id: ep.id }))).toBe("PermissionDenied");
    });

    it("MCP tools honour the token's scope", async () => {
      const e = await scope.edge({ extensions: [authExtension(), mcpExtension()] });
      const ep = await createEndpoint(e.url, "http://127.0.0.1:9/x");
      const read = await tokenOf(e, "read");
      const client = new Client({ name: "scope-test", version: "0.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${e.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${read}` } } }));
      scope.cleanups.push(() => client.close());
      const listed = await client.callTool({ name: "hookly_list_endpoints", arguments: {} });
      expect(listed.isError).toBeFalsy();
      const changed = await client.callTool({ name: "hookly_update_endpoint", arguments: { endpoint_id: ep.id, destination_url: "http://10.0.0.1/steal" } });
      expect(changed.isError).toBe(true);
      expect(JSON.stringify(changed.content)).toMatch(/needs the admin scope/);
      expect((await adminClient(e.url).getEndpoint({ id: ep.id })).endpoint?.destinationUrl).toBe("http://127.0.0.1:9/x");
    });

    it("no token makes a wider one, and revoking a token revokes every token it made", async () => {
      const e = await scope.edge({ extensions: [authExtension()] });
      const operate = await tokenOf(e, "operate");
      // Tokens are admin business: an operator cannot make one at all, so none wider either.
      expect(await connectCode(adminClient(e.url, operate).createApiToken({ name: "escalate", scope: "admin" }))).toBe("PermissionDenied");
      const parent = await adminClient(e.url).createApiToken({ name: "parent", scope: "admin" });
      const child = await adminClient(e.url, parent.secret).createApiToken({ name: "child", scope: "read" });
      const grandchild = await adminClient(e.url, parent.secret).createApiToken({ name: "grandchild-maker", scope: "admin" });
      const deep = await adminClient(e.url, grandchild.secret).createApiToken({ name: "deep", scope: "operate" });
      expect(child.token?.scope).toBe("read");
      await adminClient(e.url).revokeApiToken({ id: parent.token!.id });
      for (const t of [parent, child, grandchild, deep]) expect(await rest(e, t.secret, "GET", "/api/endpoints"), t.token!.name).toBe(401);
    });
  });

  it("with RESPONSE_EXCERPTS=false keeps no part of what a destination answered, so API access cannot read it back", async () => {
    for (const [excerpts, want] of [
      ["true", "internal answer: db=10.0.0.5"],
      ["false", undefined],
    ] as const) {
      const e = await scope.edge({ env: { RESPONSE_EXCERPTS: excerpts } });
      const t = await scope.receiver();
      t.respondWith(() => ({ status: 400, body: "internal answer: db=10.0.0.5" }));
      const ep = await createEndpoint(e.url, t.url);
      const id = await postWebhook(ep.ingestUrl, "{}");
      await scope.hub(e.url);
      await waitUntil(async () => (await e.api("GET", `/api/webhooks/${id}`)).body.webhook.status === "failed", 10_000, "the attempt recorded");
      const attempts = (await e.api("GET", `/api/webhooks/${id}`)).body.attempts as { response_excerpt: string | null }[];
      expect(attempts[0]?.response_excerpt ?? undefined, `RESPONSE_EXCERPTS=${excerpts}`).toBe(want);
    }
  });

  it("shows which hubs forward anywhere (no HUB_ALLOWED_DESTINATIONS) on the Hubs API and status", async () => {
    const e = await scope.edge();
    const open = await scope.hub(e.url);
    await waitUntil(() => open.state().connected, 10_000, "the hub without an allowlist connected");
    const hubs = async () => (await e.api("GET", "/api/hubs")).body.hubs as { id: string; allowlist: string | null; connected: boolean }[];
    expect((await hubs()).find((h) => h.connected)?.allowlist).toBe("none");
    expect((await adminClient(e.url).getStatus({})).hubs.find((h) => h.connected)?.allowlist).toBe("none");
    await open.stop();
    // The same hub with an allowlist says so at its next connection.
    const fenced = await scope.hub(e.url, { HUB_ALLOWED_DESTINATIONS: "127.0.0.1" });
    await waitUntil(() => fenced.state().connected, 10_000, "the hub with an allowlist connected");
    await waitUntil(async () => (await hubs()).some((h) => h.connected && h.allowlist === "set"), 10_000, "allowlist: set");
  });

  it("opt-in deduplication stores a provider's repeat within the window as a duplicate and does not deliver it", async () => {
    const clock = new TestClock();
    const e = await scope.edge({ clock });
    const t = await scope.receiver();
    const created = await e.api("POST", "/api/endpoints", {
      body: { name: "stripe", provider_type: "stripe", destination_url: t.url, dedup_window_ms: 600_000 },
    });
    expect(created.status).toBe(201);
    expect(created.body.endpoint.dedup_window_ms).toBe(600_000);
    const ingestUrl = `${e.url}/h/${created.body.endpoint.id as string}`;
    const event = JSON.stringify({ id: "evt_1Dup", type: "invoice.paid" });
    const first = await postWebhook(ingestUrl, event);
    const again = await postWebhook(ingestUrl, event);
    // Two at once (one group commit) are caught too.
    const [x, y] = await Promise.all([postWebhook(ingestUrl, JSON.stringify({ id: "evt_2Dup" })), postWebhook(ingestUrl, JSON.stringify({ id: "evt_2Dup" }))]);
    await scope.hub(e.url);
    await t.waitFor(2);
    const detail = async (id: string) => (await e.api("GET", `/api/webhooks/${id}`)).body.webhook as { status: string; duplicate_of: string | null };
    expect(await detail(again)).toMatchObject({ status: "filtered", duplicate_of: first });
    expect([await detail(x), await detail(y)].map((w) => w.duplicate_of).filter(Boolean)).toHaveLength(1);
    // After the window, the same id is a new webhook again.
    clock.advance(600_001);
    const later = await postWebhook(ingestUrl, event);
    await t.waitFor(3);
    expect((await detail(later)).duplicate_of).toBeNull();
    expect(t.requests.map((r) => r.headers["x-hookly-webhook-id"]).filter((id) => id === again)).toEqual([]);

    // Off (the default): every webhook is delivered.
    const plain = await createEndpoint(e.url, t.url, { providerType: ProviderType.STRIPE });
    await postWebhook(plain.ingestUrl, event);
    await postWebhook(plain.ingestUrl, event);
    await t.waitFor(5);
    // Bad windows are refused with the reason.
    const bad = await e.api("PATCH", `/api/endpoints/${plain.id}`, { body: { dedup_window_ms: 1500 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/dedup_window_ms must be whole seconds/);
  });

  /** An in-process edge on an existing database path, closed after the test. */
  async function startEdgeAt(databasePath: string): Promise<TestEdge> {
    return scope.edge({ databasePath });
  }
});

describe("the hub against a compromised edge", () => {
  it("ends the stream when the edge sends a message larger than any it sends (4 MiB), without reading it into memory", async () => {
    const errors: string[] = [];
    const sessions: FakeEdgeSession[] = [];
    const server = http2.createServer(
      connectNodeAdapter({
        routes: (router) =>
          router.service(
            StreamService,
            fakeEdgeService(TEST_SECRETS.HOME_HUB_SECRET, (s) => sessions.push(s)),
          ),
      }),
    );
    const { url, sockets } = await listenLocal(server);
    const h = await startHub(url);
    scope.cleanups.push(async () => {
      await h.stop({ graceMs: 1000 });
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => server.close(r));
    });
    h.onChange((s) => s.lastError && errors.push(s.lastError));
    await waitUntil(() => sessions.length === 1 && h.state().connected, 10_000, "the hub connected to the fake edge");
    // One start frame carrying 5 MiB of body: a real edge sends at most a 256 KiB part plus a webhook's headers.
    sessions[0]!.start({
      deliveryId: "dl_1",
      webhookId: "wh_1",
      endpointId: "ep_1",
      epoch: 1n,
      attempt: 1,
      method: "POST",
      url: "http://127.0.0.1:9/",
      bodySize: BigInt(5 * MiB),
      body: new Uint8Array(5 * MiB),
    });
    await waitUntil(() => errors.length > 0, 10_000, "the hub dropped the stream");
    expect(errors[0]).toMatch(/larger than configured readMaxBytes 4194304/);
    // It dials again, and a frame of honest size is taken.
    await waitUntil(() => sessions.length === 2 && h.state().connected, 10_000, "the hub dialled again");
  });
});
