import { describe, expect, it } from "vitest";
import { sparklineShape } from "./sparkline";

describe("sparkline", () => {
  it("draws nothing for no values", () => {
    expect(sparklineShape([], 100, 20)).toEqual({ line: "", area: "", max: 0, total: 0 });
  });

  it("spreads the values across the box, the largest at the top and 0 on the bottom", () => {
    const s = sparklineShape([0, 5, 10], 100, 20, 0);
    expect(s.line).toBe("M0,20L50,10L100,0");
    expect(s.area).toBe("M0,20L50,10L100,0L100,20L0,20Z");
    expect(s.max).toBe(10);
    expect(s.total).toBe(15);
  });

  it("keeps the stroke inside the box by the inset", () => {
    const s = sparklineShape([0, 4], 20, 10, 2);
    expect(s.line).toBe("M2,8L18,2");
  });

  it("draws all zeros as a flat line on the bottom, not in the middle", () => {
    expect(sparklineShape([0n, 0n, 0n], 10, 10, 0).line).toBe("M0,10L5,10L10,10");
  });

  it("draws one value across the whole box", () => {
    expect(sparklineShape([7n], 10, 10, 0).line).toBe("M0,0L10,0");
  });
});
