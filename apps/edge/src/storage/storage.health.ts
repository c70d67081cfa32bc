/**
 * Storage health as a pure state machine: what the database refuses, how
 * much room its filesystem has, and what follows — whether ingest is
 * admitted, whether the edge is degraded, when an outage starts and ends.
 * No I/O, no clock: storage.service.ts feeds it events (a write failed, a
 * write worked, the probe worked, free space measured) with their time and
 * applies the decisions (one log line and one alert per outage, /readyz,
 * the banner, metrics).
 *
 * Rules:
 * - A write path ("area") that fails with a storage error is *faulted* until
 *   it succeeds again. Areas that retry by themselves (dispatch, the
 *   checkpointer) clear only by their own success; the others (ingest,
 *   admin writes, alerts, the hub registry, sessions) are cleared by a
 *   successful probe write, which the service runs while any of them is
 *   faulted — so ingest, which refuses without trying while faulted, comes
 *   back without waiting for a provider to try.
 * - Free space below the floor is *low*: ingest is refused so the room left
 *   goes to the bookkeeping of what is already queued (results, attempts,
 *   dead letters, retention), which keeps running.
 * - *Degraded* = any area faulted, or low. One outage is one run of
 *   degraded; its start and end are the only transitions reported.
 */
import { isFullCode } from "../errors.js";

/** A write path of the edge. */
export type StorageArea = "ingest" | "delivery" | "admin" | "alerts" | "hubs" | "sessions" | "checkpoint";

/** Every area, in the order status lists them. */
export const STORAGE_AREAS: readonly StorageArea[] = ["ingest", "delivery", "admin", "alerts", "hubs", "sessions", "checkpoint"];

/** Areas that retry on their own and so clear only by their own success, never by the probe. */
export const SELF_RETRYING_AREAS: ReadonlySet<StorageArea> = new Set<StorageArea>(["delivery", "checkpoint"]);

/** What the database refuses in one area. */
export interface AreaFault {
  /** SQLite result code, e.g. SQLITE_FULL. */
  code: string;
  /** When this area first failed in the current run. */
  since: number;
  /** Its latest failure. */
  lastAt: number;
}

/** Free space on the database's filesystem at one moment. */
export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
  at: number;
}

/** The whole state; treat as immutable (every event returns a new one). */
export interface StorageState {
  faults: ReadonlyMap<StorageArea, AreaFault>;
  disk: DiskSpace | undefined;
  /** Set while free space is under the floor. */
  lowSince: number | undefined;
  /** Set while degraded: when the current outage started. */
  degradedSince: number | undefined;
}

/** What happened. */
export type StorageEvent =
  | { type: "failed"; area: StorageArea; code: string; at: number }
  | { type: "succeeded"; area: StorageArea; at: number }
  | { type: "probed"; at: number }
  | { type: "disk"; freeBytes: number; totalBytes: number; at: number };

/** An outage started or ended with this event. */
export type StorageTransition = { kind: "degraded"; since: number } | { kind: "recovered"; since: number; at: number } | undefined;

/** The floor below which ingest is refused. */
export interface StoragePolicy {
  minFreeBytes: number;
}

/** A healthy start. */
export function initialStorageState(): StorageState {
  return { faults: new Map(), disk: undefined, lowSince: undefined, degradedSince: undefined };
}

/** Applies one event; returns the new state and the outage transition it caused, if any. */
export function applyStorageEvent(s: StorageState, e: StorageEvent, policy: StoragePolicy): { state: StorageState; transition: StorageTransition } {
  let faults = s.faults;
  let disk = s.disk;
  let lowSince = s.lowSince;
  switch (e.type) {
    case "failed": {
      const prev = faults.get(e.area);
      const next = new Map(faults);
      next.set(e.area, { code: e.code, since: prev?.since ?? e.at, lastAt: e.at });
      faults = next;
      break;
    }
    case "succeeded":
      if (faults.has(e.area)) {
        const next = new Map(faults);
        next.delete(e.area);
        faults = next;
      }
      break;
    case "probed": {
      const next = new Map([...faults].filter(([area]) => SELF_RETRYING_AREAS.has(area)));
      if (next.size !== faults.size) faults = next;
      break;
    }
    case "disk":
      disk = { freeBytes: e.freeBytes, totalBytes: e.totalBytes, at: e.at };
      lowSince = e.freeBytes < policy.minFreeBytes ? (lowSince ?? e.at) : undefined;
      break;
  }
  const degraded = faults.size > 0 || lowSince !== undefined;
  let transition: StorageTransition;
  let degradedSince = s.degradedSince;
  if (degraded && degradedSince === undefined) {
    degradedSince = e.at;
    transition = { kind: "degraded", since: e.at };
  } else if (!degraded && degradedSince !== undefined) {
    transition = { kind: "recovered", since: degradedSince, at: e.at };
    degradedSince = undefined;
  }
  return { state: { faults, disk, lowSince, degradedSince }, transition };
}

/** Whether any area the probe can clear is faulted (the service probes only then). */
export function needsProbe(s: StorageState): boolean {
  for (const area of s.faults.keys()) if (!SELF_RETRYING_AREAS.has(area)) return true;
  return false;
}

/** Why ingest is refused now, or undefined when it is admitted. */
export function ingestRefusal(s: StorageState, policy: StoragePolicy): string | undefined {
  const fault = s.faults.get("ingest");
  if (fault) return `storage refuses new webhooks (${fault.code})`;
  if (s.lowSince !== undefined && s.disk) {
    return `storage low: ${mb(s.disk.freeBytes)} free, below the ${mb(policy.minFreeBytes)} floor (MIN_FREE_DISK_MB)`;
  }
  return undefined;
}

/** Whether dispatch is paused because results cannot be recorded. */
export function deliveryPaused(s: StorageState): boolean {
  return s.faults.has("delivery");
}

/** One line for the banner, /readyz and alerts, e.g. "storage full: 0 MB free, ingest refused since …". */
export function describeStorage(s: StorageState, policy: StoragePolicy): string | undefined {
  if (s.degradedSince === undefined) return undefined;
  const parts: string[] = [];
  const full = [...s.faults.values()].some((f) => isFullCode(f.code));
  const codes = [...new Set([...s.faults.values()].map((f) => f.code))];
  const head = full || s.lowSince !== undefined ? (full ? "storage full" : "storage low") : `storage refuses writes (${codes.join(", ")})`;
  parts.push(s.disk ? `${head}: ${mb(s.disk.freeBytes)} free` : head);
  const refusal = s.faults.get("ingest")?.since ?? s.lowSince;
  if (refusal !== undefined) parts.push(`ingest refused since ${new Date(refusal).toISOString()}`);
  if (s.faults.has("delivery")) parts.push("dispatch paused until results can be recorded");
  const others = STORAGE_AREAS.filter((a) => a !== "ingest" && a !== "delivery" && s.faults.has(a));
  if (others.length > 0) parts.push(`failing: ${others.join(", ")}`);
  if (full && s.lowSince === undefined && s.disk && s.disk.freeBytes >= policy.minFreeBytes) {
    // note: SQLITE_FULL with room on the disk is the database's own page limit (max_page_count).
    parts.push("the database reached its page limit");
  }
  return parts.join("; ");
}

/** Bytes for people: whole megabytes (MiB) under a gigabyte, else gigabytes (GiB) with one decimal. */
export function mb(bytes: number): string {
  const mib = Math.floor(bytes / 1_048_576);
  return mib < 1024 ? `${mib} MB` : `${(bytes / 1_073_741_824).toFixed(1)} GB`;
}
