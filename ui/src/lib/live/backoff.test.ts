import { describe, expect, it } from "vitest";
import { RECONNECT_BACKOFF, backoff } from "./backoff";

describe("reconnect backoff", () => {
  it("doubles from the initial delay and stays within the upper half of each step", () => {
    expect(backoff(1, () => 0)).toBe(RECONNECT_BACKOFF.initialMs / 2);
    expect(backoff(1, () => 1)).toBe(RECONNECT_BACKOFF.initialMs);
    expect(backoff(3, () => 1)).toBe(RECONNECT_BACKOFF.initialMs * 4);
  });

  it("never waits longer than the maximum", () => {
    expect(backoff(50, () => 1)).toBe(RECONNECT_BACKOFF.maxMs);
  });
});
