/**
 * A minimal Prometheus registry: counters and histograms kept in memory,
 * gauges read at scrape time, rendered in the text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Counters reset when the edge restarts; Prometheus' rate() and increase()
 * handle that. Label sets must stay bounded: use ids of things that exist in
 * bounded numbers (endpoints), never webhook ids.
 */

/** The Content-Type of the rendered text. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Label names to values. */
export type Labels = Record<string, string>;

/** One gauge reading. */
export interface GaugeSample {
  labels?: Labels;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A monotonically increasing count, per label set. */
export interface Counter {
  inc(labels?: Labels, by?: number): void;
  /** The current value (tests, status pages). */
  get(labels?: Labels): number;
}

/** Observations counted into cumulative buckets, per label set. */
export interface Histogram {
  observe(value: number, labels?: Labels): void;
}

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  render(out: string[]): void;
}

/** Creates an empty registry. */
export function createRegistry() {
  const families: Family[] = [];

  const register = (f: Family): void => {
    if (!NAME.test(f.name)) throw new Error(`invalid metric name ${f.name}`);
    if (families.some((g) => g.name === f.name)) throw new Error(`metric ${f.name} registered twice`);
    families.push(f);
  };

  const keyOf = (labelNames: readonly string[], labels: Labels = {}): string => {
    for (const k of Object.keys(labels)) {
      if (!labelNames.includes(k)) throw new Error(`unknown label ${k}`);
    }
    return JSON.stringify(labelNames.map((n) => labels[n] ?? ""));
  };
  const labelsOf = (labelNames: readonly string[], key: string): Labels => {
    const values = JSON.parse(key) as string[];
    return Object.fromEntries(labelNames.map((n, i) => [n, values[i]!]));
  };
  const checkLabelNames = (names: readonly string[]) => {
    for (const n of names) if (!LABEL.test(n) || n.startsWith("__") || n === "le") throw new Error(`invalid label name ${n}`);
  };

  return {
    /** A counter; its name should end in `_total`. */
    counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
      checkLabelNames(labelNames);
      const values = new Map<string, number>();
      // note: a family without labels reads 0 from the start, not "no data".
      if (labelNames.length === 0) values.set(keyOf(labelNames), 0);
      register({
        name,
        help,
        type: "counter",
        render(out) {
          for (const [key, v] of values) out.push(sample(name, labelsOf(labelNames, key), v));
        },
      });
      return {
        inc(labels, by = 1) {
          if (!(by >= 0)) throw new Error(`counter ${name} cannot decrease`);
          const key = keyOf(labelNames, labels);
          values.set(key, (values.get(key) ?? 0) + by);
        },
        get(labels) {
          return values.get(keyOf(labelNames, labels)) ?? 0;
        },
      };
    },

    /** A histogram with the given upper bounds (ascending; +Inf is added). */
    histogram(name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []): Histogram {
      checkLabelNames(labelNames);
      if (buckets.length === 0 || buckets.some((b, i) => i > 0 && b <= buckets[i - 1]!)) {
        throw new Error(`histogram ${name} needs ascending buckets`);
      }
      const series = new Map<string, { counts: number[]; sum: number; count: number }>();
      if (labelNames.length === 0) series.set(keyOf(labelNames), { counts: buckets.map(() => 0), sum: 0, count: 0 });
      register({
        name,
        help,
        type: "histogram",
        render(out) {
          for (const [key, s] of series) {
            const labels = labelsOf(labelNames, key);
            let cumulative = 0;
            buckets.forEach((b, i) => {
              cumulative += s.counts[i]!;
              out.push(sample(`${name}_bucket`, { ...labels, le: formatNumber(b) }, cumulative));
            });
            out.push(sample(`${name}_bucket`, { ...labels, le: "+Inf" }, s.count));
            out.push(sample(`${name}_sum`, labels, s.sum));
            out.push(sample(`${name}_count`, labels, s.count));
          }
        },
      });
      return {
        observe(value, labels) {
          const key = keyOf(labelNames, labels);
          let s = series.get(key);
          if (!s) {
            s = { counts: buckets.map(() => 0), sum: 0, count: 0 };
            series.set(key, s);
          }
          const i = buckets.findIndex((b) => value <= b);
          if (i >= 0) s.counts[i]! += 1;
          s.sum += value;
          s.count += 1;
        },
      };
    },

    /** A gauge whose samples `read` returns at each scrape. */
    gauge(name: string, help: string, read: () => GaugeSample[]): void {
      register({
        name,
        help,
        type: "gauge",
        render(out) {
          for (const s of read()) out.push(sample(name, s.labels ?? {}, s.value));
        },
      });
    },

    /** Every family in the text format, in registration order. */
    render(): string {
      const out: string[] = [];
      for (const f of families) {
        out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
        out.push(`# TYPE ${f.name} ${f.type}`);
        f.render(out);
      }
      return `${out.join("\n")}\n`;
    },
  };
}

/** A registry. */
export type Registry = ReturnType<typeof createRegistry>;

function sample(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return `${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${formatNumber(value)}`;
}

/** Go-style float text: +Inf, -Inf, NaN, otherwise the shortest round-trip form. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Label values escape backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}
