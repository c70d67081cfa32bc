import { describe, expect, it } from "vitest";
import { isEdgePage, safeNext } from "./next";

describe("safeNext", () => {
  it.each([
    ["/webhooks?status=failed", "/webhooks?status=failed"],
    [null, "/"],
    ["", "/"],
    ["https://evil.example/", "/"],
    ["//evil.example/", "/"],
    ["/\\evil.example", "/"],
    ["javascript:alert(1)", "/"],
  ])("%s → %s", (input, expected) => {
    expect(safeNext(input)).toBe(expected);
  });
});

describe("isEdgePage", () => {
  it("tells the edge's own pages from the app's routes", () => {
    expect(isEdgePage("/oauth/authorize?client_id=x")).toBe(true);
    expect(isEdgePage("/auth/github/login")).toBe(true);
    expect(isEdgePage("/webhooks/wh_1")).toBe(false);
    expect(isEdgePage("/")).toBe(false);
  });
});
