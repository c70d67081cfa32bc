/**
 * /metrics against a real edge (port 0, temp database) and a real hub, with
 * recording LAN services: values after ingest, delivery, retry, failure and a
 * hub reconnect; every family's HELP and TYPE; histogram lines; the access
 * guard against the edge (its decision table is metrics.http.test.ts, a unit test).
 */
import { ProviderType } from "@hookly/proto/gen/admin_pb";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import { adminClient, createEndpoint, startHub, waitUntil, type TestEdge } from "../harness.js";
import type { Hub } from "../../apps/hub/src/hub.js";
import { BATCH_BUCKETS, COMMIT_BUCKETS, LATENCY_BUCKETS, endpointLabel, metricsExtension } from "../../apps/edge/src/metrics/metrics.extension.js";

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

/** A scrape: the raw lines, and `name{a="x",b="y"}` → value with labels sorted. */
interface Scrape {
  lines: string[];
  get(series: string): number | undefined;
}

/**
 * Reads the text prom-client wrote, without parsing it again: a sample
 * line is `<series> <value>`; labels are sorted by splitting on "," (label
 * values in these tests are ids, with no commas or quotes).
 */
function readExposition(text: string): Scrape {
  expect(text.endsWith("\n")).toBe(true);
  const lines = text.slice(0, -1).split("\n");
  const samples = new Map<string, number>();
  for (const line of lines) {
    if (line === "" || line.startsWith("# ")) continue;
    const space = line.lastIndexOf(" ");
    const series = line.slice(0, space);
    const value = Number(line.slice(space + 1));
    expect(Number.isNaN(value), `bad value in ${line}`).toBe(false);
    const brace = series.indexOf("{");
    const name = brace < 0 ? series : series.slice(0, brace);
    const labels =
      brace < 0
        ? []
        : series
            .slice(brace + 1, -1)
            .split(",")
            .sort();
    samples.set(`${name}{${labels.join(",")}}`, value);
  }
  return { lines, get: (series) => samples.get(series) };
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  expect(res.headers.get("cache-control")).toBe("no-store");
  return readExposition(await res.text());
}

/** A histogram's `_bucket` lines as [le, cumulative count], in output order. */
function buckets(m: Scrape, name: string, labels = ""): [string, number][] {
  const out: [string, number][] = [];
  for (const line of m.lines) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const series = line.slice(0, line.lastIndexOf(" "));
    const pairs = series.slice(series.indexOf("{") + 1, -1).split(",");
    const le = pairs.find((p) => p.startsWith("le="))!;
    if (pairs.filter((p) => !p.startsWith("le=")).join(",") !== labels) continue;
    out.push([le.slice(4, -1), Number(line.slice(line.lastIndexOf(" ") + 1))]);
  }
  return out;
}
const bounds = (upper: readonly number[]) => [...upper.map(String), "+Inf"];

/** Every family: name → [type, help]. */
const FAMILIES: Record<string, [string, string]> = {
  hookly_webhooks_received_total: ["counter", "Webhooks accepted on ingest URLs (2xx sent), by signature verdict."],
  hookly_deliveries_total: ["counter", "Delivery attempts settled by the hub's answer (delivered, failed for good, retry later) and webhooks dead-lettered."],
  hookly_delivery_latency_seconds: ["histogram", "Time from a webhook's arrival at the edge to its delivery to the LAN service, retries included."],
  hookly_destination_queue_depth: ["gauge", "Pending deliveries per destination, with its hub."],
  hookly_queue_depth: ["gauge", "Pending webhooks per endpoint."],
  hookly_endpoint_info: ["gauge", "1 per endpoint: the endpoint's name for its endpoint label (a hash of its id)."],
  hookly_queue_oldest_pending_seconds: ["gauge", "Age of the oldest pending webhook (head of the queue) per endpoint; 0 when none."],
  hookly_deliveries_in_flight: ["gauge", "Deliveries sent to a hub and not yet answered, per hub."],
  hookly_hub_connected: ["gauge", "1 while the hub's stream is connected, else 0, per hub."],
  hookly_hub_reconnects_total: ["counter", "Hub stream connections after a hub's first one since the edge started."],
  hookly_ingest_batch_size: ["histogram", "Webhooks committed together in one ingest transaction."],
  hookly_ingest_commit_seconds: ["histogram", "Duration of one ingest group commit, fsync included."],
  hookly_build_info: ["gauge", "The running edge's version."],
  hookly_storage_healthy: ["gauge", "1 while the database takes every write and free space is above MIN_FREE_DISK_MB, else 0."],
  hookly_storage_free_bytes: ["gauge", "Free space of the database's filesystem, in bytes."],
  hookly_storage_min_free_bytes: ["gauge", "MIN_FREE_DISK_MB in bytes: below it, ingest answers 503."],
  hookly_storage_fault: ["gauge", "1 per write path (area) the database refuses now, with the SQLite code."],
  hookly_storage_outages_total: ["counter", "Storage outages (degraded periods) started since the edge started."],
};

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
    const ok = await createEndpoint(e.url, `${okTarget.url}/ok`, { name: "ok", providerType: ProviderType.GENERIC, signatureSecret: SW_SECRET });
    const flaky = await createEndpoint(e.url, `${flakyTarget.url}/flaky`, { name: "flaky" });
    const gone = await createEndpoint(e.url, `${goneTarget.url}/gone`, { name: "gone" });

    const before = await scrape(e.url);
    expect(before.get(`hookly_queue_depth{endpoint="${endpointLabel(ok.id)}"}`)).toBe(0);
    expect(before.get(`hookly_queue_oldest_pending_seconds{endpoint="${endpointLabel(ok.id)}"}`)).toBe(0);
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
    expect(queued.get(`hookly_webhooks_received_total{endpoint="${endpointLabel(ok.id)}",verified="true"}`)).toBe(3);
    expect(queued.get(`hookly_webhooks_received_total{endpoint="${endpointLabel(ok.id)}",verified="false"}`)).toBe(1);
    expect(queued.get(`hookly_webhooks_received_total{endpoint="${endpointLabel(flaky.id)}",verified="false"}`)).toBe(2);
    expect(queued.get(`hookly_queue_depth{endpoint="${endpointLabel(ok.id)}"}`)).toBe(4);
    expect(queued.get(`hookly_queue_depth{endpoint="${endpointLabel(flaky.id)}"}`)).toBe(2);
    expect(queued.get(`hookly_queue_oldest_pending_seconds{endpoint="${endpointLabel(ok.id)}"}`)).toBeGreaterThan(0.02);
    expect(queued.get("hookly_ingest_batch_size_sum{}")).toBe(7);
    expect(queued.get("hookly_ingest_batch_size_count{}")).toBeGreaterThanOrEqual(1);
    expect(queued.get("hookly_ingest_commit_seconds_count{}")).toBe(queued.get("hookly_ingest_batch_size_count{}"));

    const h = await hub(e.url);
    await waitUntil(
      async () => {
        const m = await scrape(e.url);
        return [ok, flaky, gone].every((ep) => m.get(`hookly_queue_depth{endpoint="${endpointLabel(ep.id)}"}`) === 0);
      },
      15_000,
      "every queue drained",
    );

    const after = await scrape(e.url);
    expect(after.get(`hookly_hub_connected{hub="hub_bootstrap"}`)).toBe(1);
    expect(after.get(`hookly_deliveries_in_flight{hub="hub_bootstrap"}`)).toBe(0);
    expect(after.get(`hookly_deliveries_total{endpoint="${endpointLabel(ok.id)}",hub="hub_bootstrap",outcome="delivered"}`)).toBe(4);
    expect(after.get(`hookly_deliveries_total{endpoint="${endpointLabel(flaky.id)}",hub="hub_bootstrap",outcome="retry"}`)).toBe(1);
    expect(after.get(`hookly_deliveries_total{endpoint="${endpointLabel(flaky.id)}",hub="hub_bootstrap",outcome="delivered"}`)).toBe(2);
    expect(after.get(`hookly_deliveries_total{endpoint="${endpointLabel(gone.id)}",hub="hub_bootstrap",outcome="failed"}`)).toBe(1);
    expect(after.get(`hookly_deliveries_total{endpoint="${endpointLabel(gone.id)}",hub="hub_bootstrap",outcome="delivered"}`)).toBeUndefined();
    expect(after.get(`hookly_delivery_latency_seconds_count{endpoint="${endpointLabel(ok.id)}"}`)).toBe(4);
    expect(after.get(`hookly_delivery_latency_seconds_bucket{endpoint="${endpointLabel(ok.id)}",le="+Inf"}`)).toBe(4);
    expect(after.get(`hookly_delivery_latency_seconds_sum{endpoint="${endpointLabel(ok.id)}"}`)).toBeGreaterThan(0);
    const okLatency = buckets(after, "hookly_delivery_latency_seconds", `endpoint="${endpointLabel(ok.id)}"`);
    expect(okLatency.map(([le]) => le)).toEqual(bounds(LATENCY_BUCKETS));
    expect(okLatency.every(([, n], i) => i === 0 || n >= okLatency[i - 1]![1])).toBe(true);
    expect(after.get(`hookly_delivery_latency_seconds_count{endpoint="${endpointLabel(flaky.id)}"}`)).toBe(2);
    expect(after.get(`hookly_queue_oldest_pending_seconds{endpoint="${endpointLabel(ok.id)}"}`)).toBe(0);
    expect(after.get(`hookly_hub_reconnects_total{hub="hub_bootstrap"}`)).toBe(0);
    expect(okTarget.requests).toHaveLength(4);

    await h.stop();
    await waitUntil(async () => (await scrape(e.url)).get(`hookly_hub_connected{hub="hub_bootstrap"}`) === 0, 5_000, "hub gone");
    await hub(e.url);
    await waitUntil(async () => (await scrape(e.url)).get(`hookly_hub_connected{hub="hub_bootstrap"}`) === 1, 10_000, "hub back");
    expect((await scrape(e.url)).get(`hookly_hub_reconnects_total{hub="hub_bootstrap"}`)).toBe(1);

    // Endpoint ids (the secret part of ingest URLs) appear nowhere; each label is named by hookly_endpoint_info.
    const text = (await scrape(e.url)).lines.join("\n");
    for (const ep of [ok, flaky, gone]) expect(text).not.toContain(ep.id);
    expect(text).not.toContain("ep_");
    for (const [ep, name] of [
      [ok, "ok"],
      [flaky, "flaky"],
      [gone, "gone"],
    ] as const) {
      expect(after.get(`hookly_endpoint_info{endpoint="${endpointLabel(ep.id)}",name="${name}"}`)).toBe(1);
    }
  });

  it("names every family with its TYPE and HELP, and writes each sample after its family's TYPE", async () => {
    const m = await scrape((await edge()).url);
    const families: Record<string, [string, string]> = {};
    let current: { name: string; type: string } | undefined;
    for (const line of m.lines) {
      if (line === "") continue;
      const [marker, kind, name, ...rest] = line.split(" ");
      if (marker === "#") {
        const f = families[name!] ?? ["", ""];
        families[name!] = f;
        if (kind === "TYPE") {
          f[0] = rest.join(" ");
          current = { name: name!, type: f[0] };
        } else {
          expect(kind).toBe("HELP");
          f[1] = rest.join(" ");
        }
        continue;
      }
      const sample = line.slice(0, Math.min(...["{", " "].map((c) => (line.includes(c) ? line.indexOf(c) : line.length))));
      const allowed = current?.type === "histogram" ? ["_bucket", "_sum", "_count"].map((x) => current!.name + x) : [current?.name];
      expect(allowed, `sample ${sample} outside its family`).toContain(sample);
    }
    expect(families).toEqual(FAMILIES);
  });

  it("label-less families read 0 before anything happens; labelled ones have no series yet", async () => {
    const m = await scrape((await edge({ MIN_FREE_DISK_MB: "3" })).url);
    expect(m.get("hookly_storage_outages_total{}")).toBe(0);
    expect(buckets(m, "hookly_ingest_batch_size")).toEqual(bounds(BATCH_BUCKETS).map((le) => [le, 0]));
    expect(m.get("hookly_ingest_batch_size_sum{}")).toBe(0);
    expect(m.get("hookly_ingest_batch_size_count{}")).toBe(0);
    expect(m.get("hookly_ingest_commit_seconds_count{}")).toBe(0);
    expect(m.get("hookly_storage_healthy{}")).toBe(1);
    expect(m.get("hookly_storage_min_free_bytes{}")).toBe(3 * 1_048_576);
    expect(m.get("hookly_storage_fault{}")).toBeUndefined();
    // note: a hub's reconnect series appears (at 0) on its first connection, not before.
    expect(m.get(`hookly_hub_reconnects_total{hub="hub_bootstrap"}`)).toBeUndefined();
    for (const family of ["hookly_webhooks_received_total", "hookly_deliveries_total", "hookly_delivery_latency_seconds", "hookly_storage_fault"]) {
      expect(
        m.lines.filter((l) => l.startsWith(family) && !l.startsWith("# ")),
        family,
      ).toEqual([]);
    }
  });

  it("writes a histogram as one cumulative bucket per bound, +Inf, then _sum and _count", async () => {
    const e = await edge();
    const target = await receiver();
    const ep = await createEndpoint(e.url, `${target.url}/x`);
    // note: each post waits for its 202, so every group commit holds exactly one webhook.
    for (let n = 0; n < 3; n++) await post(ep.ingestUrl, JSON.stringify({ n }));
    const m = await scrape(e.url);
    expect(m.lines.filter((l) => l.startsWith("hookly_ingest_batch_size_"))).toEqual([
      ...bounds(BATCH_BUCKETS).map((le) => `hookly_ingest_batch_size_bucket{le="${le}"} 3`),
      "hookly_ingest_batch_size_sum 3",
      "hookly_ingest_batch_size_count 3",
    ]);
    const commits = buckets(m, "hookly_ingest_commit_seconds");
    expect(commits.map(([le]) => le)).toEqual(bounds(COMMIT_BUCKETS));
    expect(commits.every(([, n], i) => i === 0 || n >= commits[i - 1]![1])).toBe(true);
    expect(commits.at(-1)).toEqual(["+Inf", 3]);
    expect(m.get("hookly_ingest_commit_seconds_count{}")).toBe(3);
    expect(m.get("hookly_ingest_commit_seconds_sum{}")).toBeGreaterThan(0);
  });

  it("drops a deleted endpoint's queue series at the next scrape", async () => {
    const e = await edge();
    const target = await receiver();
    const kept = await createEndpoint(e.url, `${target.url}/kept`);
    const gone = await createEndpoint(e.url, `${target.url}/gone`);
    await post(gone.ingestUrl, "{}");
    const destinations = (m: Scrape) => m.lines.filter((l) => l.startsWith("hookly_destination_queue_depth{"));
    const before = await scrape(e.url);
    expect(before.get(`hookly_queue_depth{endpoint="${endpointLabel(gone.id)}"}`)).toBe(1);
    expect(destinations(before)).toHaveLength(2);

    await adminClient(e.url).deleteEndpoint({ id: gone.id });
    const after = await scrape(e.url);
    expect(after.get(`hookly_queue_depth{endpoint="${endpointLabel(gone.id)}"}`)).toBeUndefined();
    expect(after.get(`hookly_queue_oldest_pending_seconds{endpoint="${endpointLabel(gone.id)}"}`)).toBeUndefined();
    expect(after.get(`hookly_queue_depth{endpoint="${endpointLabel(kept.id)}"}`)).toBe(0);
    expect(destinations(after)).toHaveLength(1);
    // note: counters keep the series: what was received stays received.
    expect(after.get(`hookly_webhooks_received_total{endpoint="${endpointLabel(gone.id)}",verified="false"}`)).toBe(1);
  });

  it("keeps one registry per edge: two edges in one process count apart", async () => {
    const a = await edge();
    const b = await edge();
    const target = await receiver();
    const ep = await createEndpoint(a.url, `${target.url}/a`);
    await post(ep.ingestUrl, "{}");
    expect((await scrape(a.url)).get(`hookly_webhooks_received_total{endpoint="${endpointLabel(ep.id)}",verified="false"}`)).toBe(1);
    const other = await scrape(b.url);
    expect(other.get(`hookly_webhooks_received_total{endpoint="${endpointLabel(ep.id)}",verified="false"}`)).toBeUndefined();
    expect(other.get("hookly_ingest_batch_size_count{}")).toBe(0);
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
