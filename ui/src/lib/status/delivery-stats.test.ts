import { describe, expect, it } from "vitest";
import {
  bucketWords,
  countsChartLabel,
  endpointActivity,
  formatLatency,
  formatRate,
  latencyChartLabel,
  rangeFromUrl,
  rangeHref,
  totalsView,
} from "./delivery-stats";

describe("chart range in the URL", () => {
  it("reads 1h, 24h and 7d, and the default for anything else", () => {
    expect(rangeFromUrl(new URL("http://x/status?range=1h"))).toBe("1h");
    expect(rangeFromUrl(new URL("http://x/status?range=7d"))).toBe("7d");
    expect(rangeFromUrl(new URL("http://x/status"))).toBe("24h");
    expect(rangeFromUrl(new URL("http://x/status?range=30d"))).toBe("24h");
    expect(rangeFromUrl(new URL("http://x/status?range="))).toBe("24h");
  });

  it("links to a range keeping the other parameters and the hash, without ?range= for the default", () => {
    const url = new URL("http://x/status?range=1h&endpoint=ep_1#storage");
    expect(rangeHref(url, "7d")).toBe("/status?range=7d&endpoint=ep_1#storage");
    expect(rangeHref(url, "24h")).toBe("/status?endpoint=ep_1#storage");
    expect(rangeHref(new URL("http://x/status"), "24h")).toBe("/status");
    expect(rangeHref(new URL("http://x/status"), "1h")).toBe("/status?range=1h");
  });
});

describe("chart words", () => {
  it("names the edge's bucket sizes", () => {
    expect(bucketWords(60_000)).toBe("minute");
    expect(bucketWords(900_000)).toBe("15 minutes");
    expect(bucketWords(3_600_000)).toBe("hour");
    expect(bucketWords(6 * 3_600_000)).toBe("6 hours");
  });

  it("shows 100% only when nothing failed, rounds down otherwise, and a dash when nothing settled", () => {
    expect(formatRate(1)).toBe("100%");
    expect(formatRate(0.9996)).toBe("99.9%");
    expect(formatRate(0.75)).toBe("75%");
    expect(formatRate(2 / 3)).toBe("66.6%");
    expect(formatRate(0.0004)).toBe("0%");
    expect(formatRate(0)).toBe("0%");
    expect(formatRate(undefined)).toBe("—");
  });

  it("writes latencies in ms under a second, tenths of seconds under ten, then as a duration", () => {
    expect(formatLatency(undefined)).toBe("—");
    expect(formatLatency(0n)).toBe("0 ms");
    expect(formatLatency(850n)).toBe("850 ms");
    expect(formatLatency(1_250)).toBe("1.2 s");
    expect(formatLatency(9_999)).toBe("9.9 s");
    expect(formatLatency(42_000)).toBe("42 s");
    expect(formatLatency(5 * 60_000)).toBe("5 min");
  });

  it("shows the totals, the success rate of what settled and the latencies", () => {
    const v = totalsView({ received: 1200n, delivered: 1100n, failed: 3n, successRate: 1100 / 1103, p50Ms: 180n, p95Ms: 2_400n });
    expect(v).toEqual({
      received: (1200).toLocaleString(),
      delivered: (1100).toLocaleString(),
      failed: "3",
      successRate: "99.7%",
      successDetail: `of ${(1103).toLocaleString()} settled`,
      p50: "180 ms",
      p95: "2.4 s",
    });
  });

  it("shows zeros and dashes before anything happened", () => {
    expect(totalsView(undefined)).toEqual({
      received: "0",
      delivered: "0",
      failed: "0",
      successRate: "—",
      successDetail: "nothing settled yet",
      p50: "—",
      p95: "—",
    });
  });

  it("tells a screen reader what each chart shows", () => {
    const totals = { received: 12n, delivered: 10n, failed: 2n, successRate: 10 / 12, p50Ms: 850n, p95Ms: 2_100n };
    expect(countsChartLabel("24h", 900_000, totals, 5)).toBe(
      "Webhooks per 15 minutes, last 24 hours: 12 received, 10 delivered, 2 failed; busiest 15 minutes: 5 received.",
    );
    expect(countsChartLabel("1h", 60_000, undefined, 0)).toBe("Webhooks per minute, last hour: 0 received, 0 delivered, 0 failed.");
    expect(latencyChartLabel("7d", 3_600_000, totals)).toBe("End-to-end latency per hour, last 7 days: p50 850 ms, p95 2.1 s.");
    expect(latencyChartLabel("1h", 60_000, { received: 1n, delivered: 0n, failed: 1n })).toBe("End-to-end latency per minute, last hour: nothing delivered.");
  });
});

describe("endpoint activity on the endpoints list", () => {
  it("gives each endpoint its sparkline and success rate, and a flat line to one the edge sent nothing for", () => {
    const stats = [
      { endpointId: "ep_a", totals: { received: 5n, delivered: 4n, failed: 1n, successRate: 0.8 }, spark: [1n, 0n, 4n] },
      { endpointId: "ep_b", totals: { received: 2n, delivered: 2n, failed: 0n, successRate: 1 }, spark: [0n, 2n, 0n] },
      { endpointId: "ep_gone", totals: { received: 1n, delivered: 0n, failed: 0n }, spark: [1n, 0n, 0n] },
    ];
    const a = endpointActivity(stats, ["ep_a", "ep_b", "ep_quiet"], 3);
    expect([...a.keys()]).toEqual(["ep_a", "ep_b", "ep_quiet"]);
    expect(a.get("ep_a")).toEqual({ spark: [1, 0, 4], received: "5", successRate: "80%", failing: true, label: "5 received in 24 h, 80% delivered" });
    expect(a.get("ep_b")).toMatchObject({ successRate: "100%", failing: false, label: "2 received in 24 h, 100% delivered" });
    expect(a.get("ep_quiet")).toEqual({ spark: [0, 0, 0], received: "0", successRate: "—", failing: false, label: "0 received in 24 h, nothing settled" });
  });
});
