import { describe, expect, it } from "vitest";
import { nextTotal, webhookCount } from "./total";

describe("the count in words", () => {
  it.each([
    [0n, "No webhooks"],
    [1n, "1 webhook"],
    [2n, "2 webhooks"],
    [1234n, "1,234 webhooks"],
    [1_234_567n, "1,234,567 webhooks"],
    [1, "1 webhook"],
    [0, "No webhooks"],
  ])("%s is %s", (n, words) => {
    expect(webhookCount(n)).toBe(words);
  });
});

describe("the total kept across pages", () => {
  it("takes what the first page sent", () => {
    expect(nextTotal(undefined, "?status=failed", 3n)).toEqual({ filterKey: "?status=failed", total: 3n });
    expect(nextTotal({ filterKey: "?status=failed", total: 3n }, "?status=failed", 4n)).toEqual({ filterKey: "?status=failed", total: 4n });
  });

  it("keeps it on an older page of the same filters", () => {
    const known = { filterKey: "?q=x", total: 120n };
    expect(nextTotal(known, "?q=x", undefined)).toBe(known);
  });

  it("forgets it when the filters changed and no new total came", () => {
    expect(nextTotal({ filterKey: "?q=x", total: 120n }, "?q=y", undefined)).toBeUndefined();
    expect(nextTotal(undefined, "", undefined)).toBeUndefined();
  });
});

describe("nextTotal with the rows shown", () => {
  it("counts a first page that holds the whole filter exactly, and never shows fewer than the rows on it", () => {
    expect(nextTotal(undefined, "k", 1n, { rows: 2, complete: true })).toEqual({ filterKey: "k", total: 2n });
    expect(nextTotal(undefined, "k", undefined, { rows: 3, complete: true })).toEqual({ filterKey: "k", total: 3n });
    expect(nextTotal(undefined, "k", 10n, { rows: 50, complete: false })).toEqual({ filterKey: "k", total: 50n });
    expect(nextTotal(undefined, "k", 900n, { rows: 50, complete: false })).toEqual({ filterKey: "k", total: 900n });
  });
});
