/** The delivery policy's rules: defaults, bounds, headers, and changes over an existing policy. */
import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, checkPolicy, withPolicyHeaders } from "./destination.policy.js";

describe("checkPolicy", () => {
  it("keeps today's behaviour by default, and a concurrent policy's limit defaults to 4", () => {
    expect(checkPolicy(undefined)).toEqual(DEFAULT_POLICY);
    expect(checkPolicy({ ordering: "concurrent" })).toMatchObject({ ordering: "concurrent", concurrency: 4 });
    expect(checkPolicy({ ordering: "strict" }, checkPolicy({ ordering: "concurrent", concurrency: 8 }))).toMatchObject({ concurrency: 1 });
  });

  it.each([
    [{ ordering: "parallel" }, /ordering must be one of strict, concurrent/],
    [{ ordering: "concurrent", concurrency: 1 }, /concurrency must be an integer from 2 to 64/],
    [{ ordering: "strict", concurrency: 3 }, /concurrency is 1 with strict ordering/],
    [{ timeoutMs: 50 }, /timeout_ms must be an integer from 100 to 600000/],
    [{ maxAttempts: 0 }, /max_attempts must be an integer from 1 to 1000/],
    [{ maxAgeMs: 1.5 }, /max_age_ms must be an integer/],
    [{ unverified: "ignore" }, /unverified must be one of deliver, hold, drop/],
    [{ headers: [["Bad Name", "x"]] }, /not a valid HTTP header name/],
    [{ headers: [["Content-Length", "1"]] }, /set by the hub/],
    [{ headers: [["X-Hookly-Attempt", "1"]] }, /set by the hub/],
    [{ headers: [["X-A", "1\r\nX-B: 2"]] }, /text on one line/],
    [
      {
        headers: [
          ["X-A", "1"],
          ["x-a", "2"],
        ],
      },
      /given twice/,
    ],
  ] as const)("refuses %j", (input, message) => {
    expect(() => checkPolicy(input as never)).toThrow(message);
  });

  it("changes only the fields given, and keeps a header value sent back redacted", () => {
    const base = checkPolicy({ timeoutMs: 5_000, headers: [["Authorization", "Bearer lan-secret"]] });
    const next = checkPolicy(
      {
        maxAttempts: 3,
        headers: [
          ["Authorization", "[redacted]"],
          ["X-Source", "hookly"],
        ],
      },
      base,
      "[redacted]",
    );
    expect(next).toMatchObject({ timeoutMs: 5_000, maxAttempts: 3 });
    expect(next.headers).toEqual([
      ["Authorization", "Bearer lan-secret"],
      ["X-Source", "hookly"],
    ]);
    expect(() => checkPolicy({ headers: [["X-New", "[redacted]"]] }, base, "[redacted]")).toThrow(/no value to keep/);
    expect(checkPolicy({ timeoutMs: null }, base).timeoutMs).toBeNull();
  });
});

describe("withPolicyHeaders", () => {
  it("replaces the webhook's headers of the same name and appends the rest, keeping the order", () => {
    expect(
      withPolicyHeaders(
        [
          ["Content-Type", "application/json"],
          ["authorization", "from provider"],
        ],
        [["Authorization", "Bearer lan"]],
      ),
    ).toEqual([
      ["Content-Type", "application/json"],
      ["Authorization", "Bearer lan"],
    ]);
  });
});
