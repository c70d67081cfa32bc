import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { COUNT_INCREMENTS, countRange, countSeries, hasValues, latencyRange, latencySeries, type PointLike } from "./series";

const T0 = Date.parse("2026-12-02T07:00:00.000Z");
const point = (i: number, p: Partial<PointLike> = {}): PointLike => ({
  start: timestampFromMs(T0 + i * 60_000),
  received: 0n,
  delivered: 0n,
  failed: 0n,
  ...p,
});

describe("chart series", () => {
  it("puts each bucket's start in seconds on x and the counts in received, delivered, failed order", () => {
    const data = countSeries([point(0, { received: 3n, delivered: 2n, failed: 1n }), point(1, { received: 1n })]);
    expect(data).toEqual([
      [T0 / 1000, T0 / 1000 + 60],
      [3, 1],
      [2, 0],
      [1, 0],
    ]);
  });

  it("leaves a gap (null) in the latency series where nothing was delivered, never a made-up 0", () => {
    const data = latencySeries([point(0, { p50Ms: 120n, p95Ms: 900n }), point(1), point(2, { p50Ms: 0n, p95Ms: 4n })]);
    expect(data).toEqual([
      [T0 / 1000, T0 / 1000 + 60, T0 / 1000 + 120],
      [120, null, 0],
      [900, null, 4],
    ]);
  });

  it("repeats the last counts at the end of the range, so the current bucket has a width", () => {
    const data = countSeries([point(0, { received: 1n }), point(1, { received: 2n, failed: 1n })], timestampFromMs(T0 + 120_000));
    expect(data).toEqual([
      [T0 / 1000, T0 / 1000 + 60, T0 / 1000 + 120],
      [1, 2, 2],
      [0, 0, 0],
      [0, 1, 1],
    ]);
    expect(countSeries([], timestampFromMs(T0))).toEqual([[], [], [], []]);
  });

  it("reaches the end of the range on the latency chart with no value there", () => {
    expect(latencySeries([point(0, { p50Ms: 5n, p95Ms: 9n })], timestampFromMs(T0 + 60_000))).toEqual([
      [T0 / 1000, T0 / 1000 + 60],
      [5, null],
      [9, null],
    ]);
  });

  it("has nothing to draw for no buckets, all zeros or all gaps", () => {
    expect(hasValues(countSeries([]))).toBe(false);
    expect(hasValues(countSeries([point(0), point(1)]))).toBe(false);
    expect(hasValues(latencySeries([point(0), point(1)]))).toBe(false);
    expect(hasValues(countSeries([point(0), point(1, { failed: 1n })]))).toBe(true);
  });

  it("ranges counts from 0 to the largest, at least the floor", () => {
    expect(countRange(null)).toEqual([0, 4]);
    expect(countRange(1)).toEqual([0, 4]);
    expect(countRange(37)).toEqual([0, 37]);
    expect(countRange(2.2, 1)).toEqual([0, 3]);
  });

  it("ranges latency from 0 with room above the largest point", () => {
    expect(latencyRange(null)).toEqual([0, 10]);
    expect(latencyRange(100)).toEqual([0, 115]);
  });

  it("ticks counts in whole numbers only, ascending", () => {
    expect(COUNT_INCREMENTS.every(Number.isInteger)).toBe(true);
    expect(COUNT_INCREMENTS.slice(0, 6)).toEqual([1, 2, 5, 10, 20, 50]);
    expect([...COUNT_INCREMENTS].sort((a, b) => a - b)).toEqual(COUNT_INCREMENTS);
  });
});
