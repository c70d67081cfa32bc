/** Who may scrape /metrics: the access decision as a table, in process (the HTTP side is test/integration/metrics.test.ts). */
import { describe, expect, it } from "vitest";
import { checkMetricsAccess, isLoopback } from "./metrics.http.js";

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
