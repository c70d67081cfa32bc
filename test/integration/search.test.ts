/**
 * Finding webhooks over REST (issue #14): full-text search, the total count
 * of a filter, the destination filter, and the NDJSON export of a filtered
 * set, against a real edge on port 0.
 */
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import { TEST_SECRETS, createEndpoint, waitUntil } from "../harness.js";

const { edge } = useCleanups();

describe("search and export", () => {
  it("searches payload text over REST once indexed, counts the filter, and refuses a bad query plainly", async () => {
    const e = await edge();
    const ep = await createEndpoint(e.url, "http://127.0.0.1:9/x");
    const a = await e.ingest(ep.id, JSON.stringify({ order: "A-1001", note: "gift wrap" }));
    await e.ingest(ep.id, JSON.stringify({ order: "A-1002" }));
    const hit = await waitUntil(
      async () => {
        const r = await e.api("GET", "/api/webhooks?search=gift%20wrap&with_total=true");
        return r.body.webhooks?.length === 1 ? r.body : undefined;
      },
      5_000,
      "the background index to take the webhook",
    );
    expect(hit.webhooks[0].id).toBe(a);
    expect(hit.total).toBe(1);
    expect((await e.api("GET", `/api/webhooks?endpoint_id=${ep.id}&with_total=true&limit=1`)).body.total).toBe(2);
    expect((await e.api("GET", "/api/webhooks")).body).not.toHaveProperty("total");
    const bad = await e.api("GET", `/api/webhooks?search=${encodeURIComponent("x".repeat(600))}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/search is longer than 500 characters/);
  });

  it("exports the filtered set as NDJSON across pages, with payloads when asked", async () => {
    const e = await edge();
    const ep = await createEndpoint(e.url, "http://127.0.0.1:9/x");
    const other = await createEndpoint(e.url, "http://127.0.0.1:9/y");
    // note: more than one page of the export's reads (500).
    const N = 620;
    for (let n = 0; n < N; n++) await e.ingest(ep.id, JSON.stringify({ n }));
    await e.ingest(other.id, "{}");
    const res = await fetch(`${e.url}/api/webhooks/export?endpoint_id=${ep.id}`, { headers: { authorization: `Bearer ${TEST_SECRETS.ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="hookly-webhooks-.*\.ndjson"$/);
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(N);
    expect(new Set(lines.map((w) => w.endpoint_id))).toEqual(new Set([ep.id]));
    expect(lines[0]).not.toHaveProperty("payload");

    const withPayload = await e.api("GET", `/api/webhooks/export?endpoint_id=${other.id}&payload=true`);
    expect(withPayload.status).toBe(200);
    expect(withPayload.body).toMatchObject({ endpoint_id: other.id, payload_text: "{}", headers: expect.any(Array) });
    const bad = await e.api("GET", "/api/webhooks/export?status=bogus");
    expect(bad.status).toBe(400);
  });
});
