import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../../../test/random.js";
import { declaredLength } from "../server/http.js";
import { BodyBudget, DRAIN_LIMIT_BYTES, unreadBodyAction } from "./ingest.admission.js";

describe("BodyBudget", () => {
  it("grants leases up to the cap, refuses past it without taking anything, and takes bytes back on release", () => {
    const budget = new BodyBudget(100);
    const a = budget.lease();
    const b = budget.lease();
    expect(a.grow(60)).toBe(true);
    expect(b.grow(50)).toBe(false);
    expect(b.held).toBe(0);
    expect(budget.inUse).toBe(60);
    expect(b.grow(40)).toBe(true);
    expect(budget.inUse).toBe(100);
    expect(a.grow(61)).toBe(false);
    expect(a.held).toBe(60);
    a.release();
    a.release();
    expect(budget.inUse).toBe(40);
    expect(b.grow(100)).toBe(true);
    b.release();
    expect(budget.inUse).toBe(0);
  });

  it("grows by the difference only, and never shrinks a lease", () => {
    const budget = new BodyBudget(10);
    const a = budget.lease();
    expect(a.grow(4)).toBe(true);
    expect(a.grow(2)).toBe(true);
    expect(a.held).toBe(4);
    expect(a.grow(10)).toBe(true);
    expect(budget.inUse).toBe(10);
  });

  it("refuses a cap that is not positive, and growing a released lease", () => {
    expect(() => new BodyBudget(0)).toThrow(RangeError);
    const lease = new BodyBudget(5).lease();
    lease.release();
    expect(() => lease.grow(1)).toThrow(/released/);
  });

  it("randomized: the bytes in use are the sum of live leases, never above the cap, zero once all are released", () => {
    const random = mulberry32(0x11);
    for (let run = 0; run < 200; run++) {
      const cap = 1 + Math.floor(random() * 1000);
      const budget = new BodyBudget(cap);
      const live = new Set<ReturnType<BodyBudget["lease"]>>();
      for (let step = 0; step < 100; step++) {
        const r = random();
        if (r < 0.3 || live.size === 0) live.add(budget.lease());
        else if (r < 0.8) {
          const lease = [...live][Math.floor(random() * live.size)]!;
          const before = lease.held;
          const ok = lease.grow(Math.floor(random() * cap * 1.2));
          if (!ok) expect(lease.held).toBe(before);
        } else {
          const lease = [...live][Math.floor(random() * live.size)]!;
          lease.release();
          live.delete(lease);
        }
        const sum = [...live].reduce((n, l) => n + l.held, 0);
        expect(budget.inUse).toBe(sum);
        expect(budget.inUse).toBeLessThanOrEqual(cap);
      }
      for (const lease of live) lease.release();
      expect(budget.inUse).toBe(0);
    }
  });
});

describe("unread bodies", () => {
  it.each([
    [0, false, "drain"],
    [DRAIN_LIMIT_BYTES, false, "drain"],
    [DRAIN_LIMIT_BYTES + 1, false, "close"],
    [undefined, false, "close"],
    [10, true, "close"],
  ] as const)("declared %s bytes, h2 %s → %s", (length, h2, want) => {
    expect(unreadBodyAction(length, h2)).toBe(want);
  });

  it.each([
    ["123", 123],
    [" 7 ", 7],
    ["0", 0],
    [undefined, undefined],
    ["", undefined],
    ["-1", undefined],
    ["1e3", undefined],
    ["12abc", undefined],
    [["1", "2"], undefined],
  ] as const)("reads Content-Length %j as %s", (header, want) => {
    expect(declaredLength(header as string | string[] | undefined)).toBe(want);
  });
});
