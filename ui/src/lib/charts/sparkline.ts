/**
 * A sparkline as SVG path data: the shape of a few dozen counts in a small box, no axes. Pure,
 * so the geometry is tested without a browser.
 */

/** The path of a sparkline, and what it drew. */
export interface SparklineShape {
  /** The line through the values (`d` of a stroked path); "" when there are none. */
  line: string;
  /** The line closed down to the baseline (`d` of a filled path). */
  area: string;
  /** The largest value, drawn at the top. */
  max: number;
  /** The sum of the values. */
  total: number;
}

/**
 * Scales `values` into a `width` × `height` box, oldest on the left, 0 on the bottom edge and the
 * largest value `inset` px below the top (so the stroke is not cut off). All zeros is a flat line
 * on the bottom. One value is drawn as a flat line across the box.
 */
export function sparklineShape(values: readonly (number | bigint)[], width: number, height: number, inset = 1.5): SparklineShape {
  const nums = values.map(Number);
  const max = nums.reduce((m, v) => Math.max(m, v), 0);
  const total = nums.reduce((s, v) => s + v, 0);
  if (nums.length === 0) return { line: "", area: "", max, total };
  const bottom = height - inset;
  const y = (v: number) => (max === 0 ? bottom : bottom - (v / max) * (bottom - inset));
  const series = nums.length === 1 ? [nums[0]!, nums[0]!] : nums;
  const step = (width - 2 * inset) / (series.length - 1);
  const coords = series.map((v, i) => `${round(inset + i * step)},${round(y(v))}`);
  const line = `M${coords.join("L")}`;
  const area = `${line}L${round(width - inset)},${round(bottom)}L${round(inset)},${round(bottom)}Z`;
  return { line, area, max, total };
}

const round = (n: number): number => Math.round(n * 100) / 100;
