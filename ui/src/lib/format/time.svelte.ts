import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";

/** The current time, ticking every 15 s so relative times ("3 min ago") stay true. */
export const clock = $state({ now: Date.now() });

if (typeof window !== "undefined") {
  setInterval(() => (clock.now = Date.now()), 15_000);
}

/** A protobuf Timestamp as a Date; unset (or the zero time) is `undefined`. */
export function toDate(ts: Timestamp | undefined): Date | undefined {
  if (!ts) return undefined;
  if (ts.seconds === 0n && ts.nanos === 0) return undefined;
  return timestampDate(ts);
}

const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" });
const absoluteFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ["year", 365 * 24 * 3600_000],
  ["month", 30 * 24 * 3600_000],
  ["week", 7 * 24 * 3600_000],
  ["day", 24 * 3600_000],
  ["hour", 3600_000],
  ["minute", 60_000],
  ["second", 1000],
];

/** "just now", "3 min ago", "in 2 hr" for `date` as seen at `now`. */
export function relativeTime(date: Date, now: number): string {
  const diff = date.getTime() - now;
  if (Math.abs(diff) < 10_000) return "just now";
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms || unit === "second") return relativeFormat.format(Math.trunc(diff / ms), unit);
  }
  return "just now";
}

/** Local date and time with seconds, e.g. "12 Mar 2025, 14:03:22". */
export function absoluteTime(date: Date): string {
  return absoluteFormat.format(date);
}

/** A span of time for a person: "850 ms", "42 s", "5 min", "3 h 20 min", "2 d 4 h". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}
