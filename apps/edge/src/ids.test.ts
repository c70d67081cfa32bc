import { describe, expect, it } from "vitest";
import { isId, newId, sortableTime } from "./ids.js";

describe("ids", () => {
  it("time-ordered ids sort by creation time and stay valid", () => {
    const a = newId("webhook", 1_700_000_000_000);
    const b = newId("webhook", 1_700_000_000_001);
    const c = newId("webhook", 2_000_000_000_000);
    expect([c, b, a].sort()).toEqual([a, b, c]);
    for (const id of [a, b, c, newId("attempt"), newId("endpoint")]) expect(id.length).toBeGreaterThan(20);
    expect(isId("webhook", a)).toBe(true);
    expect(isId("endpoint", a)).toBe(false);
  });

  it("sortableTime is fixed-width and monotonic", () => {
    const samples = [0, 1, 61, 62, 1_700_000_000_000, 1_700_000_000_999, 3_000_000_000_000];
    const encoded = samples.map(sortableTime);
    expect(new Set(encoded.map((e) => e.length))).toEqual(new Set([8]));
    expect([...encoded].sort()).toEqual(encoded);
  });
});
