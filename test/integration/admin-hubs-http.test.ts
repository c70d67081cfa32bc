/**
 * The REST routes for hubs and destinations: scenarios on a real edge (port
 * 0, temp database), asserted on status codes and JSON.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TEST_EPOCH, TestClock, startEdge, type TestEdge } from "../harness.js";

let edge: TestEdge<TestClock>;
beforeEach(async () => {
  edge = await startEdge({ clock: new TestClock(TEST_EPOCH), fastRetries: false, checkLeaks: true });
});
afterEach(async () => {
  await edge.close();
});

async function endpoint(body: Record<string, unknown> = {}) {
  const res = await edge.api("POST", "/api/endpoints", {
    body: { name: "gh", provider_type: "github", destination_url: "http://10.0.0.9/ci", ...body },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.endpoint as { id: string; destinations: { id: string; hub_id: string }[] };
}

async function newHub(name = "office") {
  const res = await edge.api("POST", "/api/hubs", { body: { name } });
  expect(res.status).toBe(201);
  return res.body as { hub: { id: string }; secret: string; env: string; compose: string };
}

describe("hubs", () => {
  it("creates a hub whose credential is in the answer only", async () => {
    const c = await newHub();
    expect(c.hub).toMatchObject({ id: expect.stringMatching(/^hub_/), name: "office", bootstrap: false, connected: false, revoked: false });
    expect(c.env).toContain(`HUB_ID=${c.hub.id}`);
    expect(c.env).toContain(`HUB_SECRET=${c.secret}`);
    const list = await edge.api("GET", "/api/hubs");
    expect(list.body.hubs.map((h: { id: string }) => h.id)).toEqual(["hub_bootstrap", c.hub.id]);
    expect(JSON.stringify(list.body)).not.toContain(c.secret);
    expect(JSON.stringify((await edge.api("GET", `/api/hubs/${c.hub.id}`)).body)).not.toContain(c.secret);
  });

  it("renames, rotates, retires and revokes", async () => {
    const c = await newHub();
    expect((await edge.api("PATCH", `/api/hubs/${c.hub.id}`, { body: { name: "site 2" } })).body.hub.name).toBe("site 2");
    const r = await edge.api("POST", `/api/hubs/${c.hub.id}/rotate`);
    expect(r.status).toBe(200);
    expect(r.body.secret).not.toBe(c.secret);
    expect(r.body.hub.previous_credential_valid).toBe(true);
    expect((await edge.api("POST", `/api/hubs/${c.hub.id}/retire`)).body.hub.previous_credential_valid).toBe(false);
    const v = await edge.api("POST", `/api/hubs/${c.hub.id}/revoke`);
    expect(v.body.hub).toMatchObject({ revoked: true, has_credential: false, revoked_at: expect.any(String) });
    expect((await edge.api("POST", `/api/hubs/${c.hub.id}/revoke`)).status).toBe(409);
  });

  it.each([
    ["no name", "POST", "/api/hubs", { name: "" }, 400, /name is required/],
    ["an unknown field", "POST", "/api/hubs", { name: "x", secret: "mine" }, 400, /unknown field "secret"/],
    ["an unknown hub", "PATCH", "/api/hubs/hub_nope_nope_nope", { name: "x" }, 404, /not found/],
    ["rotating the bootstrap hub", "POST", "/api/hubs/hub_bootstrap/rotate", undefined, 409, /HOME_HUB_SECRET/],
    ["retiring without a rotation", "POST", "/api/hubs/hub_bootstrap/retire", undefined, 409, /no previous credential/],
  ])("%s is refused", async (_name, method, path, body, status, message) => {
    const res = await edge.api(method, path, body === undefined ? {} : { body });
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
  });
});

describe("destinations", () => {
  it("adds, lists, changes and removes destinations; an endpoint keeps one", async () => {
    const ep = await endpoint();
    const hub = await newHub();
    const add = await edge.api("POST", `/api/endpoints/${ep.id}/destinations`, {
      body: { hub_id: hub.hub.id, url: "http://10.0.0.5/notify", name: "notifier", filter: { event_types: ["push", "issues"] } },
    });
    expect(add.status).toBe(201);
    expect(add.body.destination).toMatchObject({
      id: expect.stringMatching(/^dst_/),
      endpoint_id: ep.id,
      hub_id: hub.hub.id,
      url: "http://10.0.0.5/notify",
      name: "notifier",
      enabled: true,
      muted: false,
      filter: { event_types: ["push", "issues"] },
      position: 1,
      held: null,
    });
    const id = add.body.destination.id as string;
    const list = await edge.api("GET", `/api/endpoints/${ep.id}/destinations`);
    expect(list.body.destinations.map((d: { id: string }) => d.id)).toEqual([ep.destinations[0]!.id, id]);
    const patched = await edge.api("PATCH", `/api/destinations/${id}`, {
      body: { muted: true, filter: { json_path: "$.repository.private", equals: false } },
    });
    expect(patched.body.destination).toMatchObject({ muted: true, filter: { json_path: "$.repository.private", equals: false } });
    expect((await edge.api("PATCH", `/api/destinations/${id}`, { body: { filter: null } })).body.destination.filter).toBeNull();
    expect((await edge.api("DELETE", `/api/destinations/${id}`)).status).toBe(204);
    const last = await edge.api("DELETE", `/api/destinations/${ep.destinations[0]!.id}`);
    expect(last.status).toBe(409);
    expect(last.body.error.message).toMatch(/keeps at least one destination/);
  });

  it("creates an endpoint with several destinations at once, or refuses all of it", async () => {
    const hub = await newHub();
    const ep = await endpoint({
      destination_url: undefined,
      destinations: [{ url: "http://10.0.0.9/ci" }, { hub_id: hub.hub.id, url: "http://10.0.0.5/n", filter: { event_types: ["push"] } }],
    });
    expect(ep.destinations.map((d) => d.hub_id)).toEqual(["hub_bootstrap", hub.hub.id]);
    const bad = await edge.api("POST", "/api/endpoints", {
      body: { name: "x", provider_type: "generic", destinations: [{ url: "http://ok/" }, { url: "ftp://nope/" }] },
    });
    expect(bad.status).toBe(400);
    expect((await edge.api("GET", "/api/endpoints")).body.endpoints).toHaveLength(1);
  });

  it("deleting a destination settles webhooks that waited only for it", async () => {
    const ep = await endpoint();
    const add = await edge.api("POST", `/api/endpoints/${ep.id}/destinations`, { body: { url: "http://10.0.0.5/second" } });
    const wh = await edge.ingest(ep.id, "{}");
    // The first destination delivered it; the second never will: it is removed.
    edge.app.db.prepare(`UPDATE delivery SET status = 'delivered', delivered_at = 5, settled_at = 5 WHERE destination_id = ?`).run(ep.destinations[0]!.id);
    expect((await edge.api("GET", `/api/webhooks/${wh}`)).body.webhook.status).toBe("pending");
    await edge.api("DELETE", `/api/destinations/${add.body.destination.id}`);
    const got = await edge.api("GET", `/api/webhooks/${wh}`);
    expect(got.body.webhook.status).toBe("delivered");
    expect(got.body.webhook.deliveries.map((d: { destination_id: string }) => d.destination_id)).toEqual([ep.destinations[0]!.id]);
  });

  it.each([
    ["a bad URL", { url: "not a url" }, 400, /not an absolute URL/],
    ["an unknown hub", { url: "http://x/", hub_id: "hub_nope_nope_nope" }, 404, /hub "hub_nope_nope_nope" not found/],
    ["a bad JSON path", { url: "http://x/", filter: { json_path: "$..x" } }, 400, /json_path/],
    ["equals without a path", { url: "http://x/", filter: { equals: "a" } }, 400, /equals needs a json_path/],
    ["event types that are not strings", { url: "http://x/", filter: { event_types: [1] } }, 400, /event_types/],
    ["an unknown field", { url: "http://x/", headers: {} }, 400, /unknown field "headers"/],
  ])("adding a destination with %s is refused", async (_name, body, status, message) => {
    const ep = await endpoint();
    const res = await edge.api("POST", `/api/endpoints/${ep.id}/destinations`, { body });
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
  });

  it("refuses a destination on a revoked hub", async () => {
    const ep = await endpoint();
    const hub = await newHub();
    await edge.api("POST", `/api/hubs/${hub.hub.id}/revoke`);
    const res = await edge.api("POST", `/api/endpoints/${ep.id}/destinations`, { body: { url: "http://x/", hub_id: hub.hub.id } });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/revoked/);
  });
});
