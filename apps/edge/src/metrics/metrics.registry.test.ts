import { describe, expect, it } from "vitest";
import { checkMetricsAccess, isLoopback } from "./metrics.http.js";
import { createRegistry, escapeLabelValue, formatNumber } from "./metrics.registry.js";

describe("registry text format", () => {
  it("renders HELP, TYPE and samples with escaped labels", () => {
    const r = createRegistry();
    const c = r.counter("test_things_total", "Things.\nSecond line with \\ backslash.", ["kind"]);
    c.inc({ kind: 'a"b\\c\nd' });
    c.inc({ kind: "plain" }, 2.5);
    r.gauge("test_level", "A level.", () => [{ value: 3 }, { labels: {}, value: Infinity }]);
    expect(r.render()).toBe(
      [
        "# HELP test_things_total Things.\\nSecond line with \\\\ backslash.",
        "# TYPE test_things_total counter",
        'test_things_total{kind="a\\"b\\\\c\\nd"} 1',
        'test_things_total{kind="plain"} 2.5',
        "# HELP test_level A level.",
        "# TYPE test_level gauge",
        "test_level 3",
        "test_level +Inf",
        "",
      ].join("\n"),
    );
    expect(c.get({ kind: "plain" })).toBe(2.5);
  });

  it("renders cumulative histogram buckets with +Inf, _sum and _count", () => {
    const r = createRegistry();
    const h = r.histogram("test_seconds", "Durations.", [0.1, 1, 10], ["ep"]);
    for (const v of [0.05, 0.1, 0.5, 3, 42]) h.observe(v, { ep: "x" });
    expect(r.render().split("\n").filter((l) => !l.startsWith("#") && l)).toEqual([
      'test_seconds_bucket{ep="x",le="0.1"} 2',
      'test_seconds_bucket{ep="x",le="1"} 3',
      'test_seconds_bucket{ep="x",le="10"} 4',
      'test_seconds_bucket{ep="x",le="+Inf"} 5',
      'test_seconds_sum{ep="x"} 45.65',
      'test_seconds_count{ep="x"} 5',
    ]);
  });

  it("refuses bad names, unknown labels, duplicate families and decreasing counters", () => {
    const r = createRegistry();
    expect(() => r.counter("bad-name", "x")).toThrow(/invalid metric name/);
    expect(() => r.histogram("h", "x", [1], ["le"])).toThrow(/invalid label name/);
    expect(() => r.histogram("h2", "x", [2, 1])).toThrow(/ascending/);
    const c = r.counter("ok_total", "x", ["a"]);
    expect(() => r.counter("ok_total", "x")).toThrow(/twice/);
    expect(() => c.inc({ b: "1" })).toThrow(/unknown label b/);
    expect(() => c.inc({ a: "1" }, -1)).toThrow(/cannot decrease/);
  });

  it("formats numbers and label values as Prometheus reads them", () => {
    expect([NaN, Infinity, -Infinity, 0, 1.5, 1e21].map(formatNumber)).toEqual(["NaN", "+Inf", "-Inf", "0", "1.5", "1e+21"]);
    expect(escapeLabelValue('\\"\n')).toBe('\\\\\\"\\n');
  });
});

describe("metrics access", () => {
  const req = (remoteAddress: string | undefined, headers: Record<string, string> = {}) => ({ remoteAddress, headers });
  it.each([
    // token set: the bearer token decides, wherever the request comes from
    [{ token: "t0ken-t0ken-t0ken", public: false }, req("203.0.113.9", { authorization: "Bearer t0ken-t0ken-t0ken" }), "ok"],
    [{ token: "t0ken-t0ken-t0ken", public: true }, req("127.0.0.1"), "unauthenticated"],
    [{ token: "t0ken-t0ken-t0ken", public: false }, req("127.0.0.1", { authorization: "Bearer t0ken-t0ken-t0ke" }), "unauthenticated"],
    [{ token: "t0ken-t0ken-t0ken", public: false }, req("127.0.0.1", { authorization: "Basic t0ken-t0ken-t0ken" }), "unauthenticated"],
    // no token, not public: direct loopback only
    [{ token: undefined, public: false }, req("127.0.0.1"), "ok"],
    [{ token: undefined, public: false }, req("::1"), "ok"],
    [{ token: undefined, public: false }, req("::ffff:127.0.0.1"), "ok"],
    [{ token: undefined, public: false }, req("10.0.0.7"), "forbidden"],
    [{ token: undefined, public: false }, req("::ffff:192.168.1.5"), "forbidden"],
    [{ token: undefined, public: false }, req(undefined), "forbidden"],
    [{ token: undefined, public: false }, req("127.0.0.1", { "x-forwarded-for": "203.0.113.9" }), "forbidden"],
    [{ token: undefined, public: false }, req("127.0.0.1", { forwarded: "for=203.0.113.9" }), "forbidden"],
    [{ token: undefined, public: false }, req("127.0.0.1", { via: "2.0 caddy" }), "forbidden"],
    // public
    [{ token: undefined, public: true }, req("203.0.113.9", { "x-forwarded-for": "203.0.113.9" }), "ok"],
  ] as const)("%j %j → %s", (access, r, want) => {
    expect(checkMetricsAccess(access, r)).toBe(want);
  });

  it("knows loopback addresses", () => {
    expect(["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"].every(isLoopback)).toBe(true);
    expect(["128.0.0.1", "::2", "fe80::1", "1270.0.0.1", ""].some(isLoopback)).toBe(false);
  });
});
