/**
 * Webhook search: what is indexed (payload text, header values but never the
 * sealed secret ones, the event type), how a query is read (words as
 * phrases, all required, never a syntax error), the index kept up by the
 * background pass and emptied with the webhooks it covers, and the list's
 * total and destination filter.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderType } from "@hookly/proto/gen/admin_pb";
import { buildEdge, type BuiltEdge } from "../../../../test/harness.js";
import { searchExpression, searchText } from "./webhook.search.js";

describe("searchExpression", () => {
  it.each([
    ["invoice.paid", '"invoice.paid"'],
    ["  alice@example.com   failed ", '"alice@example.com" "failed"'],
    ['"card declined" 402', '"card declined" "402"'],
    ['say "hi', '"say" """hi"'],
    ["a OR b NOT c*", '"a" "OR" "b" "NOT" "c*"'],
    ['quote"inside', '"quote""inside"'],
  ])("reads %j as %s", (q, want) => {
    expect(searchExpression(q)).toBe(want);
  });

  it.each(["", "   ", '""', "x".repeat(501), Array.from({ length: 17 }, (_, i) => `w${i}`).join(" ")])("refuses %j", (q) => {
    expect(() => searchExpression(q)).toThrow(/search/);
  });
});

describe("searchText", () => {
  it("takes the event type, header values but not sealed ones, and a text body; not a binary one", () => {
    const text = searchText({
      eventType: "push",
      headers: [
        ["X-GitHub-Delivery", "d-123"],
        ["Authorization", "\u0000hookly-sealed:v1:abc"],
      ],
      bodyHead: Buffer.from('{"user":"alice@example.com"}'),
      truncated: false,
    });
    expect(text).toContain("push");
    expect(text).toContain("d-123");
    expect(text).toContain("alice@example.com");
    expect(text).not.toContain("sealed");
    expect(searchText({ eventType: null, headers: [], bodyHead: Buffer.from([0xff, 0xfe, 0x00]), truncated: false })).toBe("");
  });
});

describe("search over stored webhooks", () => {
  let edge: BuiltEdge;
  const ids: Record<string, string> = {};
  let endpointId = "";

  beforeAll(async () => {
    edge = await buildEdge({ env: { SECRET_HEADERS: "x-api-key" } });
    const { endpoint } = await edge.client.createEndpoint({ name: "shop", providerType: ProviderType.GENERIC, destinationUrl: "http://127.0.0.1:9/a" });
    endpointId = endpoint!.id;
    ids.alice = await edge.ingest(endpointId, JSON.stringify({ type: "invoice.paid", customer: "alice@example.com" }), { "x-request-id": "req-77" });
    ids.bob = await edge.ingest(endpointId, JSON.stringify({ type: "invoice.failed", customer: "bob@example.com", reason: "card declined" }), {
      "x-api-key": "sk_live_topsecret",
    });
    ids.big = await edge.ingest(endpointId, JSON.stringify({ type: "bulk", filler: "x ".repeat(40_000), tail: "needle-after-64k" }));
    edge.app.searchIndex.catchUp();
  });
  afterAll(() => edge?.close());

  const found = async (search: string, extra: Record<string, unknown> = {}) => (await edge.client.listWebhooks({ search, ...extra })).webhooks.map((w) => w.id);

  it("finds payload words, header values and event types, all words required", async () => {
    expect(await found("alice@example.com")).toEqual([ids.alice]);
    expect(await found("req-77")).toEqual([ids.alice]);
    expect(await found("invoice")).toEqual([ids.bob, ids.alice]);
    expect(await found("invoice.failed")).toEqual([ids.bob]);
    expect(await found('"card declined"')).toEqual([ids.bob]);
    expect(await found("declined alice")).toEqual([]);
  });

  it("never finds a secret header's value, nor what lies past the first 64 KiB", async () => {
    expect(await found("sk_live_topsecret")).toEqual([]);
    expect(await found("needle-after-64k")).toEqual([]);
    expect(await found("bulk")).toEqual([ids.big]);
  });

  it("combines with the other filters and counts the whole match when asked", async () => {
    const page = await edge.client.listWebhooks({ search: "example.com", limit: 1, withTotal: true });
    expect(page.webhooks).toHaveLength(1);
    expect(page.total).toBe(2n);
    expect((await edge.client.listWebhooks({ endpointId, withTotal: true })).total).toBe(3n);
    const { endpoint } = await edge.client.getEndpoint({ id: endpointId });
    expect(await found("invoice", { destinationId: endpoint!.destinations[0]!.id })).toEqual([ids.bob, ids.alice]);
    await expect(edge.client.listWebhooks({ destinationId: "dst_nope" })).rejects.toThrow(/not found/);
    await expect(edge.client.listWebhooks({ destinationId: "nope" })).rejects.toThrow(/is not a destination id/);
  });

  it("forgets a webhook that is deleted (retention), by the trigger", async () => {
    edge.app.db.prepare("DELETE FROM webhook WHERE id = ?").run(ids.alice);
    expect(await found("req-77")).toEqual([]);
    const left = edge.app.db.prepare("SELECT count(*) AS n FROM webhook_text WHERE webhook_text MATCH '\"alice\"'").get() as { n: number };
    expect(left.n).toBe(0);
  });
});
