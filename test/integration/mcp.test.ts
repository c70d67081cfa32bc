/**
 * The MCP tools through the SDK's own client over both transports: Streamable
 * HTTP at /mcp on a real edge, and the stdio command spawned as a child
 * process calling that edge. A real hub (the bootstrap hub) delivers to a
 * recording receiver; the hub tests dial a second one with the credential
 * hookly_create_hub returned.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describe, expect, it } from "vitest";
import { distFile } from "../../scripts/bundle.js";
import { useCleanups } from "../cleanup.js";
import type { Receiver } from "../fakes/receiver.js";
import { ROOT, TEST_SECRETS, adminClient, createEndpoint, postWebhook, startHub, tempDir, waitUntil, type TestEdge } from "../harness.js";
import { authExtension } from "../../apps/edge/src/auth/auth.extension.js";
import { mcpExtension } from "../../apps/edge/src/mcp/mcp.extension.js";
import { PROMPT_NAMES, SHOWN_ONCE, TOOL_NAMES } from "../../apps/edge/src/mcp/mcp.tools.js";

const TOKEN = TEST_SECRETS.ADMIN_TOKEN;
/** The built stdio MCP command (scripts/bundle.ts). */
const STDIO = distFile("edge", "mcp-stdio");

const scope = useCleanups();
const { cleanups } = scope;

async function setup(): Promise<{ e: TestEdge; target: Receiver }> {
  const e = await scope.edge({ extensions: [mcpExtension()] });
  const target = await scope.receiver();
  await scope.hub(e.url);
  await waitUntil(() => e.app.relay.connected(), 10_000, "hub connected");
  return { e, target };
}

async function httpClient(e: TestEdge, token = TOKEN): Promise<Client> {
  const client = new Client({ name: "hookly-test", version: "0.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${e.url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

async function stdioClient(e: TestEdge, token = TOKEN): Promise<Client> {
  const client = new Client({ name: "hookly-test", version: "0.0.0" });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [STDIO],
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOOKLY_URL: e.url, HOOKLY_TOKEN: token, LOG_LEVEL: "warn" },
    stderr: "pipe",
  });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

/** Calls a tool; returns its structured result, or its error text. */
async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const r = await client.callTool({ name, arguments: args });
  const content = r.content as { type: string; text: string }[];
  const text = content.map((c) => c.text).join("\n");
  // note: hookly_get_webhook answers text alone (its payload is not sent twice); every other tool sends both, alike.
  if (!r.isError && name !== "hookly_get_webhook") expect(JSON.parse(text)).toEqual(r.structuredContent);
  if (name === "hookly_get_webhook") expect(r.structuredContent).toBeUndefined();
  // biome-ignore lint/suspicious/noExplicitAny: a test reads the JSON it expects; every tool answers differently.
  return { isError: r.isError === true, text, data: (r.structuredContent ?? (r.isError ? undefined : JSON.parse(text))) as any };
}

/** One hub of hookly_list_hubs. */
async function hubOf(client: Client, id: string) {
  return (await call(client, "hookly_list_hubs")).data.hubs.find((h: { id: string }) => h.id === id);
}

const transports = [
  ["Streamable HTTP", httpClient],
  ["stdio", stdioClient],
] as const;

describe.each(transports)("MCP over %s", (_name, connect) => {
  it("manages endpoints and inspects, replays and reports webhooks", async () => {
    const { e, target } = await setup();
    const client = await connect(e);

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...TOOL_NAMES].sort());
    for (const t of tools) expect(t.description?.length ?? 0, t.name).toBeGreaterThan(40);
    const listTool = tools.find((t) => t.name === "hookly_list_webhooks")!;
    expect(Object.keys(listTool.inputSchema.properties ?? {}).sort()).toEqual(
      ["endpoint_id", "event_type", "include_superseded", "limit", "page_token", "since", "status", "until", "verified"].sort(),
    );
    const replayTool = tools.find((t) => t.name === "hookly_replay_webhook")!;
    expect(Object.keys(replayTool.inputSchema.properties ?? {}).sort()).toEqual(["allow_pending", "destination_id", "resign", "webhook_id"]);

    const created = await call(client, "hookly_create_endpoint", {
      name: "Home Assistant",
      provider_type: "github",
      destination_url: `${target.url}/hook`,
      signature_secret: "s3cret",
    });
    expect(created.isError).toBe(false);
    const ep = created.data.endpoint;
    expect(ep).toMatchObject({ name: "Home Assistant", provider_type: "github", muted: false, has_signature_secret: true });
    expect(ep.id).toMatch(/^ep_/);
    expect(ep.destinations).toEqual([
      expect.objectContaining({ hub_id: "hub_bootstrap", url: `${target.url}/hook`, enabled: true, muted: false, queue_depth: 0 }),
    ]);
    // Null fields are left out of every answer (an assistant's context is scarce): no filter, no "filter": null.
    expect(ep.destinations[0]).not.toHaveProperty("filter");
    const destinationId = ep.destinations[0].id;
    expect(destinationId).toMatch(/^dst_/);

    const listed = await call(client, "hookly_list_endpoints");
    expect(listed.data.endpoints.map((x: { id: string }) => x.id)).toEqual([ep.id]);
    expect(listed.data.endpoints[0].destinations.map((d: { id: string }) => d.id)).toEqual([destinationId]);

    const body = JSON.stringify({ action: "opened", n: 1 });
    const id = await postWebhook(`${e.url}/h/${ep.id}`, body, { "content-type": "application/json", "x-custom": "yes", "x-github-event": "issues" });
    await target.waitFor(1);
    await waitUntil(async () => (await call(client, "hookly_get_webhook", { webhook_id: id })).data.webhook.status === "delivered", 5_000, "delivered");

    const page = await call(client, "hookly_list_webhooks", { endpoint_id: ep.id, status: "delivered", since: "2000-01-01T00:00:00Z" });
    expect(page.data.webhooks).toHaveLength(1);
    expect(page.data.webhooks[0]).toMatchObject({
      id,
      endpoint_id: ep.id,
      status: "delivered",
      signature_valid: false,
      attempts: 1,
      event_type: "issues.opened",
    });
    expect(page.data.next_page_token).toBeUndefined();
    expect((await call(client, "hookly_list_webhooks", { verified: true })).data.webhooks).toHaveLength(0);

    const got = await call(client, "hookly_get_webhook", { webhook_id: id });
    expect(got.data.webhook).toMatchObject({ id, payload_encoding: "utf8", payload: body, method: "POST" });
    expect(got.data.webhook.headers).toContainEqual({ name: "x-custom", value: "yes" });
    expect(got.data.webhook.event_type).toBe("issues.opened");
    expect(got.data.webhook.deliveries).toEqual([
      expect.objectContaining({ destination_id: destinationId, hub_id: "hub_bootstrap", status: "delivered", attempts: 1 }),
    ]);
    expect(got.data.attempts).toHaveLength(1);
    expect(got.data.attempts[0]).toMatchObject({ number: 1, status_code: 200, outcome: "response", destination_id: destinationId });

    expect(got.data.webhook).toMatchObject({ payload_truncated: false, payload_shown_bytes: Buffer.byteLength(body) });
    expect(got.data.webhook.payload_note).toBeUndefined();
    // The payload appears once in the whole answer.
    expect(got.text.split(JSON.stringify(body).slice(1, -1)).length - 1).toBe(1);

    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    const binId = await postWebhook(`${e.url}/h/${ep.id}`, binary, { "content-type": "application/octet-stream" });
    const bin = await call(client, "hookly_get_webhook", { webhook_id: binId });
    expect(bin.data.webhook).toMatchObject({ payload_encoding: "base64", payload: binary.toString("base64") });
    expect(bin.data.webhook).not.toHaveProperty("event_type");
    expect((await call(client, "hookly_list_webhooks", { event_type: "issues.opened" })).data.webhooks.map((w: { id: string }) => w.id)).toEqual([id]);
    expect((await call(client, "hookly_list_webhooks", { event_type: "push" })).data.webhooks).toEqual([]);

    const replayed = await call(client, "hookly_replay_webhook", { webhook_id: id });
    expect(replayed.data.webhook).toMatchObject({ replay_of: id, endpoint_id: ep.id });
    expect(replayed.data.webhook.id).not.toBe(id);
    const [copy] = await target.waitFor(1, { filter: (r) => r.headers["x-hookly-webhook-id"] === replayed.data.webhook.id });
    expect(copy!.body.toString()).toBe(body);

    const muted = await call(client, "hookly_mute_endpoint", { endpoint_id: ep.id });
    expect(muted.data.endpoint.muted).toBe(true);
    await postWebhook(`${e.url}/h/${ep.id}`, "{}");
    const status = await call(client, "hookly_get_status");
    expect(status.data.hub.connected).toBe(true);
    expect(status.data.hubs).toEqual([
      expect.objectContaining({ id: "hub_bootstrap", bootstrap: true, connected: true, revoked: false, queue_depth: 1, destinations: 1 }),
    ]);
    expect(status.data.queues).toContainEqual(expect.objectContaining({ endpoint_id: ep.id, muted: true, depth: 1 }));
    expect(status.data.last_24h.received).toBe(4);
    expect((await call(client, "hookly_unmute_endpoint", { endpoint_id: ep.id })).data.endpoint.muted).toBe(false);
    await target.waitFor(4);

    const updated = await call(client, "hookly_update_endpoint", { endpoint_id: ep.id, name: "Renamed", signature_secret: "" });
    expect(updated.data.endpoint).toMatchObject({ name: "Renamed", has_signature_secret: false, provider_type: "github" });

    expect((await call(client, "hookly_delete_endpoint", { endpoint_id: ep.id })).data).toEqual({ deleted: ep.id });
    expect((await call(client, "hookly_list_endpoints")).data.endpoints).toEqual([]);
  });

  it("shows at most max_bytes of a payload, cut on a character boundary, and says so", async () => {
    const { e, target } = await setup();
    const client = await connect(e);
    const ep = await createEndpoint(e.url, `${target.url}/hook`);
    const big = JSON.stringify({ note: "é".repeat(30_000) });
    const bigId = await postWebhook(ep.ingestUrl, big);
    const cut = await call(client, "hookly_get_webhook", { webhook_id: bigId, max_bytes: 1002 });
    expect(cut.data.webhook).toMatchObject({ payload_encoding: "utf8", payload_truncated: true, payload_size: Buffer.byteLength(big) });
    expect(cut.data.webhook.payload_shown_bytes).toBe(1001); // 1002 would split an é
    expect(cut.data.webhook.payload).toBe(Buffer.from(big).subarray(0, 1001).toString("utf8"));
    expect(cut.data.webhook.payload_note).toMatch(new RegExp(`first 1001 of ${Buffer.byteLength(big)} bytes.*max_bytes`));
    expect(cut.text.length).toBeLessThan(5_000);
    const byDefault = await call(client, "hookly_get_webhook", { webhook_id: bigId });
    expect(byDefault.data.webhook.payload_shown_bytes).toBeLessThanOrEqual(16 * 1024);
    expect(byDefault.data.webhook.payload_truncated).toBe(true);
    const whole = await call(client, "hookly_get_webhook", { webhook_id: bigId, max_bytes: 1024 * 1024 });
    expect(whole.data.webhook).toMatchObject({ payload: big, payload_truncated: false });
    expect((await call(client, "hookly_get_webhook", { webhook_id: bigId, max_bytes: 0 })).isError).toBe(true);
  });

  it("answers mistakes with tool errors an assistant can act on", async () => {
    const { e, target } = await setup();
    const client = await connect(e);

    const unknown = await call(client, "hookly_get_endpoint", { endpoint_id: "ep_doesNotExist12345" });
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toContain('endpoint "ep_doesNotExist12345" not found');
    expect(unknown.text).toContain("hookly_list_endpoints");

    const unknownWebhook = await call(client, "hookly_replay_webhook", { webhook_id: "wh_nope" });
    expect(unknownWebhook.isError).toBe(true);
    expect(unknownWebhook.text).toContain('webhook "wh_nope" not found');
    expect(unknownWebhook.text).toContain("hookly_list_webhooks");

    const badUrl = await call(client, "hookly_create_endpoint", { name: "x", destination_url: "ftp://nas.lan/drop" });
    expect(badUrl.isError).toBe(true);
    expect(badUrl.text).toContain("destination_url must use http or https");

    const badInput = await call(client, "hookly_list_webhooks", { status: "lost", since: "yesterday" });
    expect(badInput.isError).toBe(true);
    expect(badInput.text).toMatch(/status/);
    expect(badInput.text).toMatch(/ISO-8601/);

    const badToken = await call(client, "hookly_list_webhooks", { page_token: "not-a-token" });
    expect(badToken.isError).toBe(true);
    expect(badToken.text).toContain("page_token is not valid");

    const unknownHub = await call(client, "hookly_revoke_hub", { hub_id: "hub_nope" });
    expect(unknownHub.isError).toBe(true);
    expect(unknownHub.text).toContain('hub "hub_nope" not found');
    expect(unknownHub.text).toContain("hookly_list_hubs");

    const bootstrap = await call(client, "hookly_rotate_hub_credential", { hub_id: "hub_bootstrap" });
    expect(bootstrap.isError).toBe(true);
    expect(bootstrap.text).toContain("HOME_HUB_SECRET");

    const unknownDestination = await call(client, "hookly_update_destination", { destination_id: "dst_nope", muted: true });
    expect(unknownDestination.isError).toBe(true);
    expect(unknownDestination.text).toContain('destination "dst_nope" not found');
    expect(unknownDestination.text).toContain("hookly_get_endpoint");

    const ep = (await call(client, "hookly_create_endpoint", { name: "one", destination_url: `${target.url}/a` })).data.endpoint;
    const lastOne = await call(client, "hookly_remove_destination", { destination_id: ep.destinations[0].id });
    expect(lastOne.isError).toBe(true);
    expect(lastOne.text).toContain("an endpoint keeps at least one destination");

    const badFilter = await call(client, "hookly_add_destination", { endpoint_id: ep.id, url: `${target.url}/b`, filter: { equals: "paid" } });
    expect(badFilter.isError).toBe(true);
    expect(badFilter.text).toContain("filter equals needs a json_path");

    const errors = [unknown, unknownWebhook, badUrl, badInput, badToken, unknownHub, bootstrap, unknownDestination, lastOne, badFilter];
    for (const r of errors) expect(r.text).not.toMatch(/\n\s+at /);
    expect(target.requests).toHaveLength(0);
  });

  it("adds, filters, replays to, updates and removes destinations", async () => {
    const { e, target } = await setup();
    const client = await connect(e);
    const ep = (await call(client, "hookly_create_endpoint", { name: "Stripe", destination_url: `${target.url}/all` })).data.endpoint;
    const all = ep.destinations[0].id;

    const added = await call(client, "hookly_add_destination", {
      endpoint_id: ep.id,
      url: `${target.url}/paid`,
      hub_id: "hub_bootstrap",
      name: "paid only",
      filter: { event_types: ["invoice.paid"], json_path: "$.data.live", equals: true },
    });
    expect(added.isError).toBe(false);
    const paid = added.data.destination;
    expect(paid).toMatchObject({
      hub_id: "hub_bootstrap",
      url: `${target.url}/paid`,
      name: "paid only",
      enabled: true,
      muted: false,
      held: false,
      filter: { event_types: ["invoice.paid"], json_path: "$.data.live", equals: true },
    });
    expect((await call(client, "hookly_get_endpoint", { endpoint_id: ep.id })).data.endpoint.destinations.map((d: { id: string }) => d.id)).toEqual([
      all,
      paid.id,
    ]);

    const created = await postWebhook(`${e.url}/h/${ep.id}`, JSON.stringify({ type: "invoice.created", data: { live: true } }));
    const settled = await waitUntil(
      async () => {
        const w = (await call(client, "hookly_get_webhook", { webhook_id: created })).data.webhook;
        return w.status === "delivered" && w;
      },
      5_000,
      "first webhook delivered",
    );
    expect(settled.event_type).toBe("invoice.created");
    const byDestination = new Map(settled.deliveries.map((d: { destination_id: string }) => [d.destination_id, d]));
    expect(byDestination.get(all)).toMatchObject({ status: "delivered", attempts: 1 });
    expect(byDestination.get(all)).not.toHaveProperty("error_message");
    expect(byDestination.get(paid.id)).toMatchObject({ status: "filtered", attempts: 0, destination_name: "paid only" });
    expect((byDestination.get(paid.id) as { error_message: string }).error_message).toBeTruthy();

    const paidBody = JSON.stringify({ type: "invoice.paid", data: { live: true } });
    const paidId = await postWebhook(`${e.url}/h/${ep.id}`, paidBody);
    await target.waitFor(1, { filter: (r) => r.url === "/paid" });
    const listed = await call(client, "hookly_list_webhooks", { event_type: "invoice.paid" });
    expect(listed.data.webhooks.map((w: { id: string; event_type: string }) => [w.id, w.event_type])).toEqual([[paidId, "invoice.paid"]]);

    // Only to the filtered destination, whatever its filter says.
    const replayed = await call(client, "hookly_replay_webhook", { webhook_id: created, destination_id: paid.id });
    expect(replayed.data.webhook).toMatchObject({ replay_of: created });
    const toPaid = await target.waitFor(2, { filter: (r) => r.url === "/paid" });
    expect(JSON.parse(toPaid[1]!.body.toString())).toMatchObject({ type: "invoice.created" });
    const copy = (await call(client, "hookly_get_webhook", { webhook_id: replayed.data.webhook.id })).data.webhook;
    expect(copy.deliveries.map((d: { destination_id: string }) => d.destination_id)).toEqual([paid.id]);

    const updated = await call(client, "hookly_update_destination", { destination_id: paid.id, muted: true, filter: null, name: "everything, held" });
    expect(updated.data.destination).toMatchObject({ id: paid.id, muted: true, name: "everything, held", url: `${target.url}/paid` });
    expect(updated.data.destination).not.toHaveProperty("filter");
    const refiltered = await call(client, "hookly_update_destination", { destination_id: paid.id, filter: { event_types: ["customer.*"] } });
    expect(refiltered.data.destination).toMatchObject({ muted: true, filter: { event_types: ["customer.*"] } });

    expect((await call(client, "hookly_remove_destination", { destination_id: paid.id })).data).toEqual({ removed: paid.id });
    expect((await call(client, "hookly_get_endpoint", { endpoint_id: ep.id })).data.endpoint.destinations.map((d: { id: string }) => d.id)).toEqual([all]);
  });

  it("unsticks a queue: retry now and skip its failing head, bulk replay, pending replays only when allowed, the audit trail", async () => {
    const { e, target } = await setup();
    const client = await connect(e);
    target.respondWith((r) => (JSON.parse(r.body.toString()).n === 0 ? 500 : 200));
    const ep = await call(client, "hookly_create_endpoint", { name: "stuck", provider_type: "generic", destination_url: target.url });
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push(await postWebhook(`${e.url}/h/${ep.data.endpoint.id}`, JSON.stringify({ n })));
    await target.waitFor(1);
    const pending = await call(client, "hookly_replay_webhook", { webhook_id: ids[1] });
    expect(pending.isError).toBe(true);
    expect(pending.text).toMatch(/still pending.*allow_pending/);
    const cancelHead = await call(client, "hookly_act_on_delivery", { webhook_id: ids[0], action: "cancel" });
    expect(cancelHead.isError).toBe(true);
    expect(cancelHead.text).toMatch(/at the head of its queue: skip it instead/);
    const skipped = await call(client, "hookly_act_on_delivery", { webhook_id: ids[0], action: "skip" });
    expect(skipped.data).toMatchObject({ webhook_id: ids[0], status: "failed", in_flight: expect.any(Boolean) });
    await target.waitFor(3);
    await waitUntil(
      async () => (await call(client, "hookly_get_webhook", { webhook_id: ids[2] })).data.webhook.status === "delivered",
      5_000,
      "the rest delivered",
    );

    target.respondWith(200);
    const bulk = await call(client, "hookly_bulk_act", { action: "replay", filter: { endpoint_id: ep.data.endpoint.id, status: "failed" } });
    expect(bulk.data).toMatchObject({ matched: 1, acted: 1, ignored: 0 });
    await waitUntil(
      async () => (await call(client, "hookly_list_webhooks", { endpoint_id: ep.data.endpoint.id, status: "failed" })).data.webhooks.length === 0,
      5_000,
      "the superseded original left out of the failed list",
    );
    const all = await call(client, "hookly_list_webhooks", { endpoint_id: ep.data.endpoint.id, status: "failed", include_superseded: true });
    expect(all.data.webhooks.map((w: { id: string; superseded_by: string }) => [w.id, w.superseded_by])).toEqual([[ids[0], bulk.data.replay_ids[0]]]);
    const audit = await call(client, "hookly_list_audit", { webhook_id: ids[0] });
    expect(audit.data.entries.map((a: { action: string }) => a.action)).toEqual(["replay", "skip"]);
    expect(audit.data.entries[0]).toMatchObject({ endpoint_name: "stuck" });
    // Lists name each webhook's endpoint; a well-formed id that names nothing is "not found", a malformed one says so.
    expect(all.data.webhooks[0]).toMatchObject({ endpoint_id: ep.data.endpoint.id, endpoint_name: "stuck" });
    const missing = await call(client, "hookly_list_webhooks", { endpoint_id: "ep_nope" });
    expect(missing.isError).toBe(true);
    expect(missing.text).toMatch(/endpoint "ep_nope" not found/);
    const found = await waitUntil(
      async () => {
        const r = await call(client, "hookly_search_webhooks", { query: '"n":2', endpoint_id: ep.data.endpoint.id });
        return r.data.webhooks?.length === 1 ? r : undefined;
      },
      5_000,
      "the search index to take the webhooks",
    );
    expect(found.data).toMatchObject({ total: 1, webhooks: [{ id: ids[2], endpoint_name: "stuck" }] });
    const malformed = await call(client, "hookly_list_webhooks", { endpoint_id: "orders" });
    expect(malformed.text).toMatch(/endpoint_id "orders" is not an endpoint id \(ep_…\)/);
  });

  it("offers prompts for triage and a stuck queue, and the status and a webhook as resources", async () => {
    const { e } = await setup();
    const client = await connect(e);
    const prompts = await client.listPrompts();
    expect(prompts.prompts.map((p) => p.name).sort()).toEqual([...PROMPT_NAMES].sort());
    const triage = await client.getPrompt({ name: "triage_failed_webhooks", arguments: { endpoint_id: "ep_abc" } });
    const text = (triage.messages[0]!.content as { text: string }).text;
    expect(text).toContain("endpoint ep_abc");
    expect(text).toContain("hookly_bulk_act");
    const resources = await client.listResources();
    expect(resources.resources.map((r) => r.uri)).toContain("hookly://status");
    const status = await client.readResource({ uri: "hookly://status" });
    expect(JSON.parse((status.contents[0] as { text: string }).text)).toMatchObject({ hub: { connected: true } });
    const ep = await call(client, "hookly_create_endpoint", { name: "res", provider_type: "generic", destination_url: "http://127.0.0.1:9/" });
    const id = await postWebhook(`${e.url}/h/${ep.data.endpoint.id}`, '{"hello":"resource"}');
    const one = await client.readResource({ uri: `hookly://webhooks/${id}` });
    expect(JSON.parse((one.contents[0] as { text: string }).text).webhook).toMatchObject({ id, payload: '{"hello":"resource"}' });
  });

  it("sets a destination's delivery policy, shows header values redacted, and resets it", async () => {
    const { e, target } = await setup();
    const client = await connect(e);
    const ep = await call(client, "hookly_create_endpoint", { name: "policy", provider_type: "generic", destination_url: target.url });
    const added = await call(client, "hookly_add_destination", {
      endpoint_id: ep.data.endpoint.id,
      url: `${target.url}/b`,
      policy: { ordering: "concurrent", concurrency: 8, max_attempts: 5, headers: [{ name: "X-Api-Key", value: "k-secret" }], unverified: "hold" },
    });
    expect(added.data.destination.policy).toEqual({
      ordering: "concurrent",
      concurrency: 8,
      timeout_ms: 0,
      max_attempts: 5,
      max_age_ms: 0,
      headers: [{ name: "X-Api-Key", value: "[redacted]" }],
      unverified: "hold",
    });
    expect(added.text).not.toContain("k-secret");
    const changed = await call(client, "hookly_update_destination", { destination_id: added.data.destination.id, policy: { ordering: "strict" } });
    expect(changed.data.destination.policy).toMatchObject({ ordering: "strict", concurrency: 1, max_attempts: 5, unverified: "hold" });
    // A limit given as null goes back to its default; the rest stays.
    const unlimited = await call(client, "hookly_update_destination", { destination_id: added.data.destination.id, policy: { max_attempts: null } });
    expect(unlimited.data.destination.policy).toMatchObject({ max_attempts: 0, unverified: "hold", headers: [{ name: "X-Api-Key", value: "[redacted]" }] });
    const reset = await call(client, "hookly_update_destination", { destination_id: added.data.destination.id, policy: null });
    expect(reset.data.destination.policy).toMatchObject({ ordering: "strict", max_attempts: 0, headers: [], unverified: "deliver" });
    const bad = await call(client, "hookly_update_destination", {
      destination_id: added.data.destination.id,
      policy: { ordering: "concurrent", concurrency: 1 },
    });
    expect(bad.isError).toBe(true);
    expect(bad.text).toMatch(/policy: concurrency must be an integer from 2 to 64/);
  });

  it("creates a hub whose credential a hub dials with, then renames, rotates, retires and revokes it", async () => {
    const { e } = await setup();
    const client = await connect(e);

    const created = await call(client, "hookly_create_hub", { name: "garage pi" });
    expect(created.isError).toBe(false);
    const { hub, secret, env, compose, note } = created.data;
    expect(hub).toMatchObject({
      name: "garage pi",
      bootstrap: false,
      revoked: false,
      connected: false,
      has_credential: true,
      previous_credential_valid: false,
    });
    expect(hub.id).toMatch(/^hub_/);
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(env).toContain(`HUB_ID=${hub.id}\nHUB_SECRET=${secret}`);
    expect(compose).toContain(`HUB_SECRET: ${secret}`);
    expect(note).toBe(SHOWN_ONCE);
    const listed = (await call(client, "hookly_list_hubs")).data.hubs;
    expect(listed.map((h: { id: string }) => h.id)).toEqual(["hub_bootstrap", hub.id]);
    expect(listed[0]).toMatchObject({ bootstrap: true, connected: true, revoked: false });
    expect(JSON.stringify(listed)).not.toContain(secret);

    // The credential works: a hub dials with it.
    const first = await startHub(e.url, { HUB_ID: hub.id, HUB_SECRET: secret, HOME_HUB_SECRET: "" });
    let firstStopped = false;
    cleanups.unshift(() => (firstStopped ? Promise.resolve() : first.stop()));
    await waitUntil(async () => (await hubOf(client, hub.id))?.connected, 10_000, "the new hub connected");

    const renamed = await call(client, "hookly_rename_hub", { hub_id: hub.id, name: "shed pi" });
    expect(renamed.data.hub).toMatchObject({ id: hub.id, name: "shed pi", connected: true });

    const rotated = await call(client, "hookly_rotate_hub_credential", { hub_id: hub.id });
    expect(rotated.isError).toBe(false);
    expect(rotated.data.secret).not.toBe(secret);
    expect(rotated.data.env).toContain(`HUB_SECRET=${rotated.data.secret}`);
    expect(rotated.data.note).toBe(SHOWN_ONCE);
    expect(rotated.data.hub).toMatchObject({ id: hub.id, previous_credential_valid: true, connected: true });
    const again = await call(client, "hookly_rotate_hub_credential", { hub_id: hub.id });
    expect(again.isError).toBe(true);
    expect(again.text).toContain("retire the previous credential first");

    // The new credential works too: the hub switches over.
    await first.stop();
    firstStopped = true;
    await waitUntil(async () => (await hubOf(client, hub.id))?.connected === false, 10_000, "the first hub gone");
    await scope.hub(e.url, { HUB_ID: hub.id, HUB_SECRET: rotated.data.secret, HOME_HUB_SECRET: "" });
    await waitUntil(async () => (await hubOf(client, hub.id))?.connected, 10_000, "the hub connected with the new credential");

    const retired = await call(client, "hookly_retire_hub_credential", { hub_id: hub.id });
    expect(retired.data.hub).toMatchObject({ previous_credential_valid: false, connected: true });
    const nothingToRetire = await call(client, "hookly_retire_hub_credential", { hub_id: hub.id });
    expect(nothingToRetire.isError).toBe(true);
    expect(nothingToRetire.text).toContain("no previous credential to retire");

    const revoked = await call(client, "hookly_revoke_hub", { hub_id: hub.id });
    expect(revoked.data.hub).toMatchObject({ id: hub.id, revoked: true, has_credential: false });
    await waitUntil(async () => (await hubOf(client, hub.id))?.connected === false, 10_000, "the revoked hub's stream closed");
    expect(await hubOf(client, hub.id)).toMatchObject({ revoked: true, connected: false });
    const status = await call(client, "hookly_get_status");
    expect(status.data.hubs).toContainEqual(expect.objectContaining({ id: hub.id, revoked: true, connected: false }));
    const afterRevoke = await call(client, "hookly_rotate_hub_credential", { hub_id: hub.id });
    expect(afterRevoke.isError).toBe(true);
    expect(afterRevoke.text).toContain("is revoked");
  });
});

describe("the stdio server as one file", () => {
  it("downloads from the edge and runs from a folder with nothing else in it (no checkout, no node_modules)", async () => {
    const { e } = await setup();
    const res = await fetch(`${e.url}/downloads/hookly-mcp.mjs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="hookly-mcp.mjs"');
    const dir = tempDir();
    cleanups.push(async () => dir.remove());
    const file = join(dir.dir, "hookly-mcp.mjs");
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const client = new Client({ name: "hookly-test", version: "0.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [file],
        cwd: dir.dir,
        env: { PATH: process.env.PATH ?? "", HOOKLY_URL: e.url, HOOKLY_TOKEN: TOKEN },
        stderr: "pipe",
      }),
    );
    cleanups.push(() => client.close());
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual([...TOOL_NAMES].sort());
    const status = await call(client, "hookly_get_status");
    expect(status.data.hub.connected).toBe(true);
  });
});

describe("MCP authentication", () => {
  it("answers 401 without a valid bearer token, on every method", async () => {
    const { e } = await setup();
    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "0" } },
    };
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    for (const [method, auth] of [
      ["POST", undefined],
      ["POST", "Bearer wrong-token-wrong-token-wrong"],
      ["POST", `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}`],
      ["GET", undefined],
      ["DELETE", undefined],
    ] as const) {
      const res = await fetch(`${e.url}/mcp`, {
        method,
        headers: auth ? { ...headers, authorization: auth } : headers,
        body: method === "POST" ? JSON.stringify(init) : undefined,
      });
      expect(res.status, `${method} ${auth ?? "(none)"}`).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      expect(await res.json()).toEqual({ error: { code: "unauthenticated", message: expect.stringContaining("Bearer") } });
    }
    await expect(httpClient(e, "wrong-token-wrong-token-wrong")).rejects.toMatchObject({ code: 401, message: expect.stringContaining("unauthenticated") });

    // With the token: GET/DELETE are not part of a stateless server; a bad body is a JSON-RPC parse error.
    const authed = { ...headers, authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${e.url}/mcp`, { method: "GET", headers: authed })).status).toBe(405);
    const parse = await fetch(`${e.url}/mcp`, { method: "POST", headers: authed, body: "{not json" });
    expect(parse.status).toBe(400);
    expect(await parse.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32700 } });
  });

  it("accepts the API tokens of the auth extension, and stops accepting one once revoked", async () => {
    const e = await scope.edge({ extensions: [authExtension(), mcpExtension()] });
    const { token, secret } = await adminClient(e.url).createApiToken({ name: "assistant" });
    const client = await httpClient(e, secret);
    expect((await call(client, "hookly_list_endpoints")).data).toEqual({ endpoints: [] });
    await adminClient(e.url).revokeApiToken({ id: token!.id });
    await expect(client.callTool({ name: "hookly_list_endpoints", arguments: {} })).rejects.toMatchObject({ code: 401 });
  });

  it("the stdio command reports a wrong token as a tool error, and missing settings at start", async () => {
    const { e } = await setup();
    const client = await stdioClient(e, "wrong-token-wrong-token-wrong");
    const r = await call(client, "hookly_list_endpoints");
    expect(r.isError).toBe(true);
    expect(r.text).toContain("HOOKLY_TOKEN");

    const { spawnSync } = await import("node:child_process");
    const run = spawnSync(process.execPath, [STDIO], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOOKLY_URL: "ftp://edge" },
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("HOOKLY_URL: must be the edge's http(s) URL");
    expect(run.stderr).toContain("HOOKLY_TOKEN: is required");
  });
});
