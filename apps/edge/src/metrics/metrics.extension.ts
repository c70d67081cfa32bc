/**
 * The metrics feature: counts what the edge does (from its events) and serves
 * GET /metrics in the Prometheus text format, through prom-client. Plug it in
 * with `extensions: [metricsExtension()]` (see extensions.ts).
 *
 * | metric | type | labels |
 * |---|---|---|
 * | hookly_webhooks_received_total | counter | endpoint, verified |
 * | hookly_deliveries_total | counter | endpoint, outcome = delivered, failed, retry, dead_letter; hub |
 * | hookly_delivery_latency_seconds | histogram | endpoint (arrival → delivered, all attempts included) |
 * | hookly_destination_queue_depth | gauge | destination, hub |
 * | hookly_queue_depth | gauge | endpoint |
 * | hookly_queue_oldest_pending_seconds | gauge | endpoint (age of the head of the queue; 0 when empty) |
 * | hookly_deliveries_in_flight | gauge | hub (webhooks sent to the hub, not yet answered) |
 * | hookly_hub_connected | gauge | hub (1 while its stream is open) |
 * | hookly_hub_reconnects_total | counter | hub (connections after its first since start) |
 * | hookly_ingest_batch_size | histogram | (webhooks per group commit) |
 * | hookly_ingest_commit_seconds | histogram | (duration of a group commit, fsync included) |
 * | hookly_endpoint_info | gauge | endpoint, name (1 per endpoint: the name behind each endpoint label) |
 * | hookly_build_info | gauge | version |
 * | hookly_storage_healthy | gauge | (1 while the database takes every write and free space is above MIN_FREE_DISK_MB) |
 * | hookly_storage_free_bytes | gauge | (free space of the database's filesystem; no sample until measured) |
 * | hookly_storage_min_free_bytes | gauge | (MIN_FREE_DISK_MB in bytes: below it ingest answers 503) |
 * | hookly_storage_fault | gauge | area, code (1 per write path the database refuses now) |
 * | hookly_storage_outages_total | counter | (storage outages started since the edge started) |
 *
 * Counters and histograms live in memory and restart from zero with the edge
 * (Prometheus' rate() and increase() handle that); gauges are read from SQLite
 * and the relay at each scrape. Label sets stay bounded: endpoints, destination
 * and hub ids, never webhook ids.
 *
 * The `endpoint` label is {@link endpointLabel}, a hash of the endpoint's id,
 * never the id: the id is the secret part of the endpoint's ingest URL, and
 * metrics travel to places (a Prometheus server, dashboards, screenshots)
 * that should not be able to post webhooks. `hookly_endpoint_info` names each.
 */
import { createHash } from "node:crypto";
import { Counter, Gauge, Histogram, Registry, type LabelValues } from "prom-client";
import type { ExtensionFactory } from "../core.js";
import { EDGE_VERSION } from "../version.js";
import { metricsRoutes } from "./metrics.http.js";
import { createMetricsStore, type QueueGauge } from "./metrics.store.js";

/** Upper bounds of hookly_delivery_latency_seconds: milliseconds (LAN) up to a day (hub offline). */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400];
/** Upper bounds of hookly_ingest_batch_size. */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
/** Upper bounds of hookly_ingest_commit_seconds. */
export const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * An endpoint's `endpoint` label: the first 16 hex digits of SHA-256 of its
 * id. Stable for the endpoint's life (a rename keeps its series), and the id
 * (about 126 random bits) cannot be recovered from it.
 */
export function endpointLabel(endpointId: string): string {
  return createHash("sha256").update(endpointId).digest("hex").slice(0, 16);
}

/** One gauge reading. */
interface Sample<L extends string> {
  labels: LabelValues<L>;
  value: number;
}

/**
 * A gauge family whose series are exactly the samples `read` returns at each
 * scrape: a deleted endpoint's series disappears, and a label-less gauge with
 * no reading shows no sample rather than 0.
 */
function scrapedGauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], read: () => Sample<L>[]): Gauge<L> {
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      // note: reset() leaves a label-less gauge at 0; remove that series so only `read`'s samples remain.
      if (labelNames.length === 0) this.remove({});
      for (const s of read()) this.set(s.labels, s.value);
    },
  });
}

/** Builds the metrics extension. */
export function metricsExtension(): ExtensionFactory {
  return (core) => {
    const { events, relay, clock } = core;
    const store = createMetricsStore(core.db);
    // note: one registry per edge, never prom-client's global one: tests run several edges in one process.
    const registry = new Registry();
    const registers = [registry];

    const received = new Counter({
      name: "hookly_webhooks_received_total",
      help: "Webhooks accepted on ingest URLs (2xx sent), by signature verdict.",
      labelNames: ["endpoint", "verified"],
      registers,
    });
    const deliveries = new Counter({
      name: "hookly_deliveries_total",
      help: "Delivery attempts settled by the hub's answer (delivered, failed for good, retry later) and webhooks dead-lettered.",
      labelNames: ["endpoint", "outcome", "hub"],
      registers,
    });
    const latency = new Histogram({
      name: "hookly_delivery_latency_seconds",
      help: "Time from a webhook's arrival at the edge to its delivery to the LAN service, retries included.",
      buckets: LATENCY_BUCKETS,
      labelNames: ["endpoint"],
      registers,
    });
    // note: both queue gauges read one snapshot, taken once per scrape (see routes below).
    let queues: QueueGauge[] = [];
    let destinationQueues: ReturnType<typeof store.destinationQueues> = [];
    scrapedGauge(registry, "hookly_destination_queue_depth", "Pending deliveries per destination, with its hub.", ["destination", "hub"], () =>
      destinationQueues.map((q) => ({ labels: { destination: q.destinationId, hub: q.hubId }, value: q.depth })),
    );
    scrapedGauge(registry, "hookly_queue_depth", "Pending webhooks per endpoint.", ["endpoint"], () =>
      queues.map((q) => ({ labels: { endpoint: endpointLabel(q.endpointId) }, value: q.depth })),
    );
    scrapedGauge(registry, "hookly_endpoint_info", "1 per endpoint: the endpoint's name for its endpoint label (a hash of its id).", ["endpoint", "name"], () =>
      queues.map((q) => ({ labels: { endpoint: endpointLabel(q.endpointId), name: q.name }, value: 1 })),
    );
    scrapedGauge(
      registry,
      "hookly_queue_oldest_pending_seconds",
      "Age of the oldest pending webhook (head of the queue) per endpoint; 0 when none.",
      ["endpoint"],
      () => {
        const now = clock.now();
        return queues.map((q) => ({
          labels: { endpoint: endpointLabel(q.endpointId) },
          value: q.headReceivedAt === null ? 0 : Math.max(0, (now - q.headReceivedAt) / 1000),
        }));
      },
    );
    const hubIds = () =>
      core.hubs
        .list()
        .filter((h) => !h.revoked)
        .map((h) => h.id);
    scrapedGauge(registry, "hookly_deliveries_in_flight", "Deliveries sent to a hub and not yet answered, per hub.", ["hub"], () =>
      hubIds().map((hub) => ({ labels: { hub }, value: relay.hubLive(hub).inFlight })),
    );
    scrapedGauge(registry, "hookly_hub_connected", "1 while the hub's stream is connected, else 0, per hub.", ["hub"], () =>
      hubIds().map((hub) => ({ labels: { hub }, value: relay.isConnected(hub) ? 1 : 0 })),
    );
    const reconnects = new Counter({
      name: "hookly_hub_reconnects_total",
      help: "Hub stream connections after a hub's first one since the edge started.",
      labelNames: ["hub"],
      registers,
    });
    const batchSize = new Histogram({
      name: "hookly_ingest_batch_size",
      help: "Webhooks committed together in one ingest transaction.",
      buckets: BATCH_BUCKETS,
      registers,
    });
    const commitSeconds = new Histogram({
      name: "hookly_ingest_commit_seconds",
      help: "Duration of one ingest group commit, fsync included.",
      buckets: COMMIT_BUCKETS,
      registers,
    });
    new Gauge({ name: "hookly_build_info", help: "The running edge's version.", labelNames: ["version"], registers }).set({ version: EDGE_VERSION }, 1);
    scrapedGauge(registry, "hookly_storage_healthy", "1 while the database takes every write and free space is above MIN_FREE_DISK_MB, else 0.", [], () => [
      { labels: {}, value: core.storage.status().healthy ? 1 : 0 },
    ]);
    scrapedGauge(registry, "hookly_storage_free_bytes", "Free space of the database's filesystem, in bytes.", [], () => {
      const free = core.storage.status().freeBytes;
      return free === undefined ? [] : [{ labels: {}, value: free }];
    });
    scrapedGauge(registry, "hookly_storage_min_free_bytes", "MIN_FREE_DISK_MB in bytes: below it, ingest answers 503.", [], () => [
      { labels: {}, value: core.storage.status().minFreeBytes },
    ]);
    scrapedGauge(registry, "hookly_storage_fault", "1 per write path (area) the database refuses now, with the SQLite code.", ["area", "code"], () =>
      core.storage.status().faults.map((f) => ({ labels: { area: f.area, code: f.code }, value: 1 })),
    );
    // note: a family without labels reads 0 from the start, not "no data" (prom-client's default).
    const outages = new Counter({
      name: "hookly_storage_outages_total",
      help: "Storage outages (degraded periods) started since the edge started.",
      registers,
    });

    const connectedBefore = new Set<string>();
    const unsubscribe = [
      events.on("storage.changed", (e) => {
        if (e.degraded && !e.writable) outages.inc();
      }),
      events.on("webhook.received", (e) => {
        // note: replays carry no verdict; they were counted when they first arrived.
        if (e.signatureValid === undefined) return;
        received.inc({ endpoint: endpointLabel(e.endpointId), verified: String(e.signatureValid) });
      }),
      events.on("webhook.updated", (e) => {
        if (!e.delivery) return;
        deliveries.inc({ endpoint: endpointLabel(e.endpointId), outcome: e.delivery.outcome, hub: e.hubId ?? "" });
        if (e.delivery.outcome === "delivered" && e.delivery.receivedAt !== undefined) {
          latency.observe({ endpoint: endpointLabel(e.endpointId) }, Math.max(0, (clock.now() - e.delivery.receivedAt) / 1000));
        }
      }),
      events.on("hub.changed", (e) => {
        if (!e.connected) return;
        // note: a hub's series starts at 0 on its first connection, so "no reconnects" reads 0, not "no data".
        reconnects.inc({ hub: e.hubId }, connectedBefore.has(e.hubId) ? 1 : 0);
        connectedBefore.add(e.hubId);
      }),
      events.on("ingest.batch", (e) => {
        batchSize.observe(e.size);
        commitSeconds.observe(e.ms / 1000);
      }),
    ];

    return {
      routes: metricsRoutes(core.config.metrics, {
        contentType: registry.contentType,
        metrics() {
          queues = store.queues();
          destinationQueues = store.destinationQueues();
          return registry.metrics();
        },
      }),
      close() {
        for (const u of unsubscribe) u();
      },
    };
  };
}
