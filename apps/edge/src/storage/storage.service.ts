/**
 * The I/O shell of storage.health.ts: every write path reports its storage
 * errors (and its recoveries) here; a timer measures free space and, while a
 * write path is refused, probes the disk with a small real write. What it
 * decides is logged once per outage (one line when it starts, one when it
 * ends), published as "storage.changed" (alerts, the UI, the dispatcher),
 * and read by ingest admission, /readyz, status and metrics.
 *
 * note: real time (Date.now), not the injected clock: this is about the disk.
 */
import { storageErrorCode } from "../errors.js";
import type { EdgeEvents } from "../events.js";
import type { Logger } from "../logger.js";
import {
  STORAGE_AREAS,
  applyStorageEvent,
  deliveryPaused,
  describeStorage,
  ingestRefusal,
  initialStorageState,
  needsProbe,
  type StorageArea,
  type StorageEvent,
  type StoragePolicy,
} from "./storage.health.js";
import type { StorageStore } from "./storage.store.js";

/** How often free space is measured (and, while needed, the probe runs). */
export const STORAGE_CHECK_INTERVAL_MS = 1000;

/** What a write path needs: report a failure (true when it was a storage error), report a success. */
export interface StorageReporter {
  /** Records `err` against `area` if it is a storage error; returns whether it was. */
  failed(area: StorageArea, err: unknown): boolean;
  /** The area wrote successfully (cheap; call it on every success). */
  succeeded(area: StorageArea): void;
}

/** Storage health as status, /readyz, metrics and the UI show it. */
export interface StorageStatus {
  healthy: boolean;
  /** When the current outage started. */
  degradedSince: number | undefined;
  /** One line, e.g. "storage full: 0 MB free; ingest refused since …". */
  summary: string | undefined;
  /** Why ingest answers 503 now. */
  ingestRefused: string | undefined;
  deliveryPaused: boolean;
  freeBytes: number | undefined;
  totalBytes: number | undefined;
  minFreeBytes: number;
  faults: { area: StorageArea; code: string; since: number }[];
}

/** The storage service. */
export type StorageService = ReturnType<typeof createStorageService>;

/** Creates the storage service; start() begins measuring. */
export function createStorageService(deps: { store: StorageStore; events: EdgeEvents; log: Logger; policy: StoragePolicy; checkIntervalMs?: number }) {
  const { store, events, log, policy } = deps;
  const interval = deps.checkIntervalMs ?? STORAGE_CHECK_INTERVAL_MS;
  let state = initialStorageState();
  let timer: NodeJS.Timeout | undefined;
  let spaceError = false;
  let probeError = false;

  const apply = (e: StorageEvent): void => {
    const before = state;
    const { state: next, transition } = applyStorageEvent(state, e, policy);
    state = next;
    if (transition?.kind === "degraded") {
      log.error(
        { storage: describeStorage(state, policy), faults: faultList() },
        "storage degraded: refusing what cannot be stored safely (logged again when it recovers)",
      );
    } else if (transition?.kind === "recovered") {
      log.info({ outageMs: transition.at - transition.since }, "storage recovered: ingest, dispatch and alerts resume");
    } else if (e.type === "failed" && !before.faults.has(e.area)) {
      log.debug({ area: e.area, code: e.code }, "another write path refused during the storage outage");
    }
    if (transition) events.emit("storage.changed", { degraded: transition.kind === "degraded", writable: transition.kind === "recovered" });
  };

  const faultList = () =>
    STORAGE_AREAS.flatMap((area) => {
      const f = state.faults.get(area);
      return f ? [{ area, code: f.code, since: f.since }] : [];
    });

  /** Measures free space; probes while a write path waits on it. Never throws. */
  const check = (): void => {
    const now = Date.now();
    try {
      const space = store.space();
      if (space) apply({ type: "disk", ...space, at: now });
      spaceError = false;
    } catch (err) {
      if (!spaceError) log.warn({ err }, "cannot measure free space on the database's filesystem");
      spaceError = true;
    }
    if (!needsProbe(state)) return;
    try {
      store.probe(now);
    } catch (err) {
      const code = storageErrorCode(err);
      // note: logged once per run of such failures, not every second.
      if (!code && !probeError) log.error({ err }, "storage probe failed unexpectedly (logged again only after a probe succeeds)");
      probeError ||= !code;
      return;
    }
    probeError = false;
    apply({ type: "probed", at: Date.now() });
    // note: the disk takes writes again: whatever waits on it (dispatch) may try now. When the
    // probe ended the outage, apply() has already said so (recovered, writable): not twice.
    if (state.degradedSince !== undefined) events.emit("storage.changed", { degraded: true, writable: true });
  };

  return {
    failed(area: StorageArea, err: unknown): boolean {
      const code = storageErrorCode(err);
      if (!code) return false;
      apply({ type: "failed", area, code, at: Date.now() });
      return true;
    },
    succeeded(area: StorageArea): void {
      if (state.faults.has(area)) apply({ type: "succeeded", area, at: Date.now() });
    },
    /** Why ingest is refused now (503), or undefined. */
    ingestRefusal(): string | undefined {
      return ingestRefusal(state, policy);
    },
    /** Whether dispatch waits for the database to record results. */
    deliveryPaused(): boolean {
      return deliveryPaused(state);
    },
    /** The view status, /readyz and metrics show. */
    status(): StorageStatus {
      return {
        healthy: state.degradedSince === undefined,
        degradedSince: state.degradedSince,
        summary: describeStorage(state, policy),
        ingestRefused: ingestRefusal(state, policy),
        deliveryPaused: deliveryPaused(state),
        freeBytes: state.disk?.freeBytes,
        totalBytes: state.disk?.totalBytes,
        minFreeBytes: policy.minFreeBytes,
        faults: faultList(),
      };
    },
    /** The schema version, read from the database: throws when it cannot be read (readiness). */
    schemaVersion(): number {
      return store.schemaVersion();
    },
    /** Measures now (and probes if needed); the timer does this every second. */
    check,
    /** Starts measuring (the first measurement runs at once). */
    start(): void {
      if (timer) return;
      check();
      timer = setInterval(check, interval);
      timer.unref();
    },
    stop(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
