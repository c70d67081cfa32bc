/**
 * Storage health as people read it: the banner line every page shows while the edge's storage is
 * degraded, and the free space and faults on the Status page. Pure functions of a
 * `StorageHealth`-like object and the time, so tests pass plain objects and a fixed clock.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { StorageHealth } from "@hookly/proto/gen/admin_pb";
import { formatBytes } from "$lib/format/bytes";
import { formatDuration, toDate } from "$lib/format/time.svelte";

/** The fields of `StorageHealth` these functions read, so tests can pass plain objects. */
export type StorageHealthLike = Pick<
  StorageHealth,
  "healthy" | "summary" | "ingestRefused" | "deliveryPaused" | "freeBytes" | "totalBytes" | "minFreeBytes"
> & {
  degradedSince?: Timestamp | Date;
  faults: readonly { area: string; code: string; since?: Timestamp | Date }[];
};

/** Where and how to show local times; the defaults are the person's own. Tests fix both. */
export interface TimeStyle {
  locale?: string;
  timeZone?: string;
}

/**
 * A piece of the banner line: plain text, or a moment shown as a local time with its age beside
 * it ("07:10" and "3 min"). The age is kept apart so the page can hide it from screen readers:
 * it changes every minute, and a live region would read the whole line out again each time.
 */
export type BannerPart = { kind: "text"; text: string } | { kind: "time"; iso: string; time: string; age: string };

/** An ISO-8601 UTC instant as the edge writes them in the summary ("2026-12-02T07:10:00.000Z"). */
const ISO_INSTANT = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/g;

/**
 * The banner line in parts, or undefined while storage is healthy (or not known yet). It is the
 * edge's own summary, capitalised, with each instant in it as a local time and how long ago:
 * "Storage full: 0 MB free; ingest refused since 07:10 (3 min)".
 * note: an edge that sends no summary still gets a banner, from `degradedSince`.
 */
export function storageBannerParts(h: StorageHealthLike | undefined, now: number, style: TimeStyle = {}): BannerPart[] | undefined {
  if (!h || h.healthy) return undefined;
  const summary = readableMegabytes(h.summary.trim());
  if (!summary) {
    const since = h.degradedSince instanceof Date ? h.degradedSince : toDate(h.degradedSince);
    return since ? [{ kind: "text", text: "Storage degraded since " }, timePart(since, now, style)] : [{ kind: "text", text: "Storage degraded" }];
  }
  const parts: BannerPart[] = [];
  let at = 0;
  for (const match of summary.matchAll(ISO_INSTANT)) {
    if (match.index > at) parts.push({ kind: "text", text: summary.slice(at, match.index) });
    const date = new Date(match[0]);
    parts.push(Number.isNaN(date.getTime()) ? { kind: "text", text: match[0] } : timePart(date, now, style));
    at = match.index + match[0].length;
  }
  if (at < summary.length) parts.push({ kind: "text", text: summary.slice(at) });
  const first = parts[0];
  if (first?.kind === "text") parts[0] = { kind: "text", text: first.text.charAt(0).toUpperCase() + first.text.slice(1) };
  return parts;
}

/** Whole megabytes as the edge writes them ("80585 MB") in a size a person reads ("79 GB"); smaller ones stay as they are. */
export function readableMegabytes(text: string): string {
  return text.replace(/\b(\d+) MB\b/g, (all, n: string) => (Number(n) >= 1024 ? formatBytes(Number(n) * 1_048_576) : all));
}

/** The banner line as one string ("… since 07:10 (3 min)"), or undefined while healthy. */
export function storageBanner(h: StorageHealthLike | undefined, now: number, style: TimeStyle = {}): string | undefined {
  return storageBannerParts(h, now, style)
    ?.map((p) => (p.kind === "text" ? p.text : `${p.time} (${p.age})`))
    .join("");
}

/**
 * What degraded storage means for the person, after the summary line: whether providers are
 * turned away and whether deliveries wait. Empty when neither (e.g. only sign-ins fail).
 */
export function storageConsequences(h: StorageHealthLike): string[] {
  const lines: string[] = [];
  if (h.ingestRefused) lines.push("New webhooks are refused with 503; providers retry them later.");
  if (h.deliveryPaused) lines.push("Deliveries wait until their results can be recorded.");
  return lines;
}

/** A moment for the banner and the Status page: "07:10" (the person's locale), or "2 Dec, 07:10" when not today, and its age ("3 min"). */
export function sinceText(date: Date, now: number, style: TimeStyle = {}): { time: string; age: string } {
  const sameDay = dayKey(date, style) === dayKey(new Date(now), style);
  const clockTime = new Intl.DateTimeFormat(style.locale, { timeZone: style.timeZone, timeStyle: "short" }).format(date);
  const time = sameDay
    ? clockTime
    : `${new Intl.DateTimeFormat(style.locale, { timeZone: style.timeZone, day: "numeric", month: "short" }).format(date)}, ${clockTime}`;
  // note: minutes at most, as the page's clock ticks every 15 s; a fresh outage reads "< 1 min".
  const ms = now - date.getTime();
  return { time, age: ms < 60_000 ? "< 1 min" : formatDuration(ms - (ms % 60_000)) };
}

/** Free space of the database's filesystem for the Status page. */
export interface StorageSpace {
  /** "12 GB free of 50 GB", "12 GB free" without a total, or "unknown" (e.g. an in-memory database). */
  text: string;
  /** "ingest refused below 64 MB", or undefined when the floor is off (MIN_FREE_DISK_MB=0). */
  floor: string | undefined;
  /** Share of the filesystem in use, 0 to 1, when both sizes are known. */
  usedFraction: number | undefined;
  /** Whether free space is under the floor (ingest is refused for it). */
  low: boolean;
}

/** Free space, the floor and how full the filesystem is, from `StorageHealth`. */
export function storageSpace(h: Pick<StorageHealthLike, "freeBytes" | "totalBytes" | "minFreeBytes">): StorageSpace {
  const floor = h.minFreeBytes > 0n ? `ingest refused below ${formatBytes(h.minFreeBytes)}` : undefined;
  if (h.freeBytes === undefined) return { text: "unknown", floor, usedFraction: undefined, low: false };
  const low = h.freeBytes < h.minFreeBytes;
  if (h.totalBytes === undefined || h.totalBytes === 0n) return { text: `${formatBytes(h.freeBytes)} free`, floor, usedFraction: undefined, low };
  // biome-ignore lint/complexity/useMathMinMax: Math.min does not take bigint.
  const used = Number(h.totalBytes - (h.freeBytes > h.totalBytes ? h.totalBytes : h.freeBytes)) / Number(h.totalBytes);
  return { text: `${formatBytes(h.freeBytes)} free of ${formatBytes(h.totalBytes)}`, floor, usedFraction: used, low };
}

const AREA_LABELS: Record<string, string> = {
  ingest: "Ingest (new webhooks)",
  delivery: "Delivery results",
  admin: "Admin changes",
  alerts: "Alerts",
  hubs: "Hub registry",
  sessions: "Sign-in sessions",
  checkpoint: "WAL checkpoint",
};

/** A write path's name for people ("delivery" → "Delivery results"); an area this UI does not know is shown as sent. */
export function storageAreaLabel(area: string): string {
  return AREA_LABELS[area] ?? area;
}

function timePart(date: Date, now: number, style: TimeStyle): BannerPart {
  return { kind: "time", iso: date.toISOString(), ...sinceText(date, now, style) };
}

function dayKey(date: Date, style: TimeStyle): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: style.timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
}
