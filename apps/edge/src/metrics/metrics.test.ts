/**
 * /metrics against a real edge (port 0, temp database) and a real hub, with
 * recording LAN services: values after ingest, delivery, retry, failure and a
 * hub reconnect; the exposition format; the access guard.
 */
import { ProviderType } from "@hookly/proto/gen/admin_pb";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { useCleanups } from "../../../../test/cleanup.js";
import { createEndpoint, startHub, waitUntil, type TestEdge } from "../../../../test/harness.js";
import type { Hub } from "../../../hub/src/hub.js";
import { metricsExtension } from "./metrics.extension.js";
import { PROMETHEUS_CONTENT_TYPE } from "./metrics.registry.js";

const scope = useCleanups();
const { cleanups, receiver } = scope;

async function edge(env: Record<string, string> = {}): Promise<TestEdge> {
  return scope.edge({ env, extensions: [metricsExtension()] });
}
async function hub(url: string): Promise<Hub> {
  const h = await startHub(url);
  // note: the hub goes before the edge and the receivers (cleanups run last-in first-out).
  cleanups.push(() => h.stop());
  return h;
}

/**
 * Parses the text format strictly: every line is a HELP, a TYPE or a sample
 * of a family whose TYPE came before; returns `name{a="x",b="y"}` → value
 * with labels sorted.
 */
function parseExposition(text: string): Map<string, number> {
  expect(text.endsWith("\n")).toBe(true);
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.slice(0, -1).split("\n")) {
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      if (comment[1] === "TYPE") {
        expect(["counter", "gauge", "histogram"]).toContain(comment[3]);
        types.set(comment[2]!, comment[3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(m, `malformed line: ${line}`).not.toBeNull();
    const [, name, rawLabels, rawValue] = m!;
    const family = [...types.keys()].find((f) => name === f || (types.get(f) === "histogram" && /^(.*)_(bucket|sum|count)$/.exec(name!)?.[1] === f));
    expect(family, `sample ${name} before its TYPE line`).toBeDefined();
    const labels: string[] = [];
    if (rawLabels) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let pos = 0;
      for (let lm = re.exec(rawLabels); lm; lm = re.exec(rawLabels)) {
        labels.push(`${lm[1]}="${lm[2]}"`);
        pos = re.lastIndex;
      }
      expect(pos, `bad labels in ${line}`).toBe(rawLabels.length);
    }
    const value = rawValue === "+Inf" ? Infinity : rawValue === "-Inf" ? -Infinity : Number(rawValue);
    expect(Number.isNaN(value) && rawValue !== "NaN", `bad value in ${line}`).toBe(false);
    samples.set(`${name}{${labels.sort().join(",")}}`, value);
  }
  return samples;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe(PROMETHEUS_CONTENT_TYPE);
  return parseExposition(await res.text());
}

async function post(ingestUrl: string, body: string, headers: Record<string, string> = {}): Promise<{ verified: boolean }> {
  const res = await fetch(ingestUrl, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
  expect(res.status).toBe(202);
  return (await res.json()) as { verified: boolean };
}

const SW_SECRET = `whsec_${Buffer.from("metrics-test-secret-0123456789ab").toString("base64")}`;
function signed(body: string, id: string): Record<string, string> {
  const now = new Date();
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": new Webhook(SW_SECRET).sign(id, now, body),
  };
}

describe("GET /metrics", () => {
  it("counts ingest, deliveries, a retry, a failure and a hub reconnect; queue gauges follow the database", async () => {
    const e = await edge();
    const okTarget = await receiver();
    const flakyTarget = await receiver();
    const goneTarget = await receiver();
    let flakyCalls = 0;
    flakyTarget.respondWith(() => (++flakyCalls === 1 ? 503 : 200));
    goneTarget.respondWith(410);
    const ok = await createEndpoint(e.url, `${okTarget.url}/ok`, { providerType: ProviderType.GENERIC, signatureSecret: SW_SECRET });
    const flaky = await createEndpoint(e.url, `${flakyTarget.url}/flaky`);
    const gone = await createEndpoint(e.url, `${goneTarget.url}/gone`);

    const before = await scrape(e.url);
    expect(before.get(`hookly_queue_depth{endpoint="${ok.id}"}`)).toBe(0);
    expect(before.get(`hookly_queue_oldest_pending_seconds{endpoint="${ok.id}"}`)).toBe(0);
    expect(before.get(`hookly_hub_connected{hub="hub_bootstrap"}`)).toBe(0);
    expect(before.get('hookly_build_info{version="0.2.0"}')).toBe(1);

    for (let n = 0; n < 3; n++) {
      const body = JSON.stringify({ n });
      expect((await post(ok.ingestUrl, body, signed(body, `msg_${n}`))).verified).toBe(true);
    }
    expect((await post(ok.ingestUrl, "{}")).verified).toBe(false);
    await post(flaky.ingestUrl, JSON.stringify({ n: 0 }));
    await post(flaky.ingestUrl, JSON.stringify({ n: 1 }));
    await post(gone.ingestUrl, "{}");
    await new Promise((r) => setTimeout(r, 30));

    const queued = await scrape(e.url);
    expect(queued.get(`hookly_webhooks_received_total{endpoint="${ok.id}",verified="true"}`)).toBe(3);
    expect(queued.get(`hookly_webhooks_received_total{endpoint="${ok.id}",verified="false"}`)).toBe(1);
    expect(queued.get(`hookly_webhooks_received_total{endpoint="${flaky.id}",verified="false"}`)).toBe(2);
    expect(queued.get(`hookly_queue_depth{endpoint="${ok.id}"}`)).toBe(4);
    expect(queued.get(`hookly_queue_depth{endpoint="${flaky.id}"}`)).toBe(2);
    expect(queued.get(`hookly_queue_oldest_pending_seconds{endpoint="${ok.id}"}`)).toBeGreaterThan(0.02);
    expect(queued.get("hookly_ingest_batch_size_sum{}")).toBe(7);
    expect(queued.get("hookly_ingest_batch_size_count{}")).toBeGreaterThanOrEqual(1);
    expect(queued.get("hookly_ingest_commit_seconds_count{}")).toBe(queued.get("hookly_ingest_batch_size_count{}"));

    const h = await hub(e.url);
    await waitUntil(async () => {
      const m = await scrape(e.url);
      return [ok, flaky, gone].every((ep) => m.get(`hookly_queue_depth{endpoint="${ep.id}"}`) === 0);
    }, 15_000, "every queue drained");

    const after = await scrape(e.url);
    expect(after.get(`hookly_hub_connected{hub="hub_bootstrap"}`)).toBe(1);
    expect(after.get(`hookly_deliveries_in_flight{hub="hub_bootstrap"}`)).toBe(0);
    expect(after.get(`hookly_deliveries_total{endpoint="${ok.id}",hub="hub_bootstrap",outcome="delivered"}`)).toBe(4);
    expect(after.get(`hookly_deliveries_total{endpoint="${flaky.id}",hub="hub_bootstrap",outcome="retry"}`)).toBe(1);
    expect(after.get(`hookly_deliveries_total{endpoint="${flaky.id}",hub="hub_bootstrap",outcome="delivered"}`)).toBe(2);
    expect(after.get(`hookly_deliveries_total{endpoint="${gone.id}",hub="hub_bootstrap",outcome="failed"}`)).toBe(1);
    expect(after.get(`hookly_deliveries_total{endpoint="${gone.id}",hub="hub_bootstrap",outcome="delivered"}`)).toBeUndefined();
    expect(after.get(`hookly_delivery_latency_seconds_count{endpoint="${ok.id}"}`)).toBe(4);
    expect(after.get(`hookly_delivery_latency_seconds_bucket{endpoint="${ok.id}",le="+Inf"}`)).toBe(4);
    expect(after.get(`hookly_delivery_latency_seconds_sum{endpoint="${ok.id}"}`)).toBeGreaterThan(0);
    expect(after.get(`hookly_delivery_latency_seconds_count{endpoint="${flaky.id}"}`)).toBe(2);
    expect(after.get(`hookly_queue_oldest_pending_seconds{endpoint="${ok.id}"}`)).toBe(0);
    expect(after.get(`hookly_hub_reconnects_total{hub="hub_bootstrap"}`)).toBe(0);
    expect(okTarget.requests).toHaveLength(4);

    await h.stop();
    await waitUntil(async () => (await scrape(e.url)).get(`hookly_hub_connected{hub="hub_bootstrap"}`) === 0, 5_000, "hub gone");
    await hub(e.url);
    await waitUntil(async () => (await scrape(e.url)).get(`hookly_hub_connected{hub="hub_bootstrap"}`) === 1, 10_000, "hub back");
    expect((await scrape(e.url)).get(`hookly_hub_reconnects_total{hub="hub_bootstrap"}`)).toBe(1);
  });

  it("with METRICS_TOKEN: 401 without or with a wrong bearer token, 200 with it", async () => {
    const token = "metrics-token-0123456789";
    const e = await edge({ METRICS_TOKEN: token });
    const attempts: Record<string, string>[] = [{}, { authorization: "Bearer wrong-token-0123456789" }, { authorization: token }];
    for (const headers of attempts) {
      const res = await fetch(`${e.url}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthenticated");
    }
    await scrape(e.url, { authorization: `Bearer ${token}` });
  });

  it("without a token: direct loopback requests only, unless METRICS_PUBLIC", async () => {
    const e = await edge();
    await scrape(e.url);
    const relayed = await fetch(`${e.url}/metrics`, { headers: { "x-forwarded-for": "203.0.113.9" } });
    expect(relayed.status).toBe(403);
    expect(((await relayed.json()) as { error: { code: string } }).error.code).toBe("permission_denied");
    expect((await fetch(`${e.url}/metrics`, { method: "POST" })).status).toBe(405);

    const open = await edge({ METRICS_PUBLIC: "true" });
    await scrape(open.url, { "x-forwarded-for": "203.0.113.9" });
  });
});
