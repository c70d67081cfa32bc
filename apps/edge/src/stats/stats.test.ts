/**
 * Delivery charts: the latency histogram's buckets and percentiles, and the
 * rollups as the events of ingest and delivery fill them (a moved clock, a
 * real database), read back per range, per bucket and per endpoint.
 */
import { describe, expect, it } from "vitest";
import { ProviderType } from "@hookly/proto/gen/admin_pb";
import { TEST_EPOCH, TestClock, buildEdge } from "../../../../test/harness.js";
import { BUCKETS, bucketOf, emptyHistogram, quantile } from "./stats.histogram.js";

describe("latency histogram", () => {
  it("buckets by upper bound and estimates percentiles inside the bucket", () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(25)).toBe(0);
    expect(bucketOf(26)).toBe(1);
    expect(bucketOf(10 ** 9)).toBe(BUCKETS - 1);
    const h = emptyHistogram();
    expect(quantile(h, 0.5)).toBeNull();
    h[bucketOf(80)]! += 10; // 50–100 ms
    h[bucketOf(4_000)]! += 10; // 2.5–5 s
    expect(quantile(h, 0.5)).toBe(100);
    expect(quantile(h, 0.25)).toBe(75);
    expect(quantile(h, 0.95)).toBe(4_750);
    const open = emptyHistogram();
    open[BUCKETS - 1] = 1;
    expect(quantile(open, 0.5)).toBe(21_600_000);
  });
});

describe("stats rollups", () => {
  it("count what is received, delivered (with its latency) and failed, by bucket and endpoint, for each range", async () => {
    const clock = new TestClock(TEST_EPOCH);
    const edge = await buildEdge({ clock });
    try {
      const { app } = edge;
      app.stats.start();
      const { endpoint: a } = await edge.client.createEndpoint({ name: "a", providerType: ProviderType.GENERIC, destinationUrl: "http://127.0.0.1:9/a" });
      const { endpoint: b } = await edge.client.createEndpoint({ name: "b", providerType: ProviderType.GENERIC, destinationUrl: "http://127.0.0.1:9/b" });
      const t0 = clock.now();
      // a: three received, two delivered 200 ms and 3 s after arrival; b: one received, failed.
      for (let i = 0; i < 3; i++) app.events.emit("webhook.received", { endpointId: a!.id, webhookId: `wh_${i}`, seq: i, destinationIds: [] });
      app.events.emit("webhook.received", { endpointId: b!.id, webhookId: "wh_b", seq: 9, destinationIds: [] });
      clock.advance(200);
      app.events.emit("webhook.updated", { endpointId: a!.id, webhookId: "wh_0", status: "delivered", delivery: { outcome: "delivered", receivedAt: t0 } });
      clock.advance(2_800);
      app.events.emit("webhook.updated", { endpointId: a!.id, webhookId: "wh_1", status: "delivered", delivery: { outcome: "delivered", receivedAt: t0 } });
      app.events.emit("webhook.updated", { endpointId: b!.id, webhookId: "wh_b", status: "failed", delivery: { outcome: "failed", receivedAt: t0 } });
      // A retry is not a settlement.
      app.events.emit("webhook.updated", { endpointId: a!.id, webhookId: "wh_2", status: "pending", delivery: { outcome: "retry", receivedAt: t0 } });

      const hour = app.stats.view("1h");
      expect(hour.points).toHaveLength(60);
      expect(hour.totals).toMatchObject({ received: 4, delivered: 2, failed: 1, successRate: 2 / 3 });
      expect(hour.totals.p50Ms).toBeGreaterThan(100);
      expect(hour.totals.p95Ms).toBeGreaterThan(2_500);
      const last = hour.points.at(-1)!;
      expect(last).toMatchObject({ received: 4, delivered: 2, failed: 1 });
      const byEndpoint = new Map(hour.endpoints.map((e) => [e.endpointId, e]));
      expect(byEndpoint.get(a!.id)).toMatchObject({ received: 3, delivered: 2, failed: 0, successRate: 1 });
      expect(byEndpoint.get(b!.id)).toMatchObject({ received: 1, failed: 1, successRate: 0 });
      expect(byEndpoint.get(a!.id)!.spark.at(-1)).toBe(3);

      // An hour later, what happened is in the day and the week, not in the last hour.
      clock.advance(3_600_000);
      expect(app.stats.view("1h").totals.received).toBe(0);
      expect(app.stats.view("24h").points).toHaveLength(96);
      expect(app.stats.view("24h").totals.received).toBe(4);
      expect(app.stats.view("7d").points).toHaveLength(168);
      expect(app.stats.view("7d", a!.id).totals).toMatchObject({ received: 3, delivered: 2 });
      expect(() => app.stats.view("1y")).toThrow(/range must be one of 1h, 24h, 7d/);
      app.stats.stop();
    } finally {
      await edge.close();
    }
  });
});
