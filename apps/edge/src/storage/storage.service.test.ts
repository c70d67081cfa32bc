/**
 * The storage service as a plain object: a fake store whose probe and free
 * space the test controls, a real event bus, a pino logger into an array.
 * check() is called directly (the timer is never started). The last block
 * runs the real store against a SQLite file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openDatabase, type Db } from "../db/db.js";
import { storageErrorCode } from "../errors.js";
import { EdgeEvents, type EdgeEventMap } from "../events.js";
import type { StorageArea } from "./storage.health.js";
import { createStorageService } from "./storage.service.js";
import { createStorageStore, PROBE_BUSY_TIMEOUT_MS, type StorageStore } from "./storage.store.js";

const MiB = 1_048_576;
const MIN_FREE = 100 * MiB;
const T0 = Date.UTC(2024, 5, 1, 12, 0, 0);

/** An error as better-sqlite3 throws it: what matters is its `code`. */
const sqliteError = (code: string) => Object.assign(new Error(`fake ${code}`), { code });

type LogLine = { level: number; msg: string; [k: string]: unknown };
const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

function harness() {
  /** What the fake store does; the test changes it between calls. */
  const control = {
    probes: 0,
    probeError: undefined as unknown,
    free: 5000 * MiB,
    spaceError: undefined as unknown,
  };
  const store: StorageStore = {
    probe(_now) {
      control.probes++;
      if (control.probeError !== undefined) throw control.probeError;
    },
    space() {
      if (control.spaceError !== undefined) throw control.spaceError;
      return { freeBytes: control.free, totalBytes: 10_000 * MiB };
    },
    schemaVersion: () => 7,
  };
  const events = new EdgeEvents();
  const changes: EdgeEventMap["storage.changed"][] = [];
  events.on("storage.changed", (e) => changes.push(e));
  const lines: LogLine[] = [];
  const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  const service = createStorageService({ store, events, log, policy: { minFreeBytes: MIN_FREE } });
  const at = (level: keyof typeof LEVEL) => lines.filter((l) => l.level === LEVEL[level]);
  return { store: control, service, changes, lines, at };
}

beforeEach(() => {
  // note: only Date is faked (the service stamps events with Date.now()), so since/outageMs are exact.
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("failed()", () => {
  it.each([
    { name: "a plain Error", err: new Error("boom") },
    { name: "a constraint violation", err: sqliteError("SQLITE_CONSTRAINT_UNIQUE") },
    { name: "a numeric code", err: Object.assign(new Error("x"), { code: 13 }) },
    { name: "null", err: null },
    { name: "a string", err: "SQLITE_FULL" },
  ])("returns false and records nothing for $name", ({ err }) => {
    const h = harness();
    expect(h.service.failed("ingest", err)).toBe(false);
    expect(h.service.status()).toMatchObject({ healthy: true, faults: [], ingestRefused: undefined });
    expect(h.lines).toEqual([]);
    expect(h.changes).toEqual([]);
  });

  it.each(["SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_READONLY", "SQLITE_BUSY"])("returns true and faults the area for %s", (code) => {
    const h = harness();
    expect(h.service.failed("admin", sqliteError(code))).toBe(true);
    const status = h.service.status();
    expect(status.healthy).toBe(false);
    expect(status.degradedSince).toBe(T0);
    expect(status.faults).toEqual([{ area: "admin", code, since: T0 }]);
    expect(status.summary).toContain(code === "SQLITE_FULL" ? "storage full" : code);
  });

  it("an ingest fault refuses ingest; a delivery fault pauses dispatch but admits ingest", () => {
    const h = harness();
    h.service.failed("delivery", sqliteError("SQLITE_IOERR_WRITE"));
    expect(h.service.deliveryPaused()).toBe(true);
    expect(h.service.ingestRefusal()).toBeUndefined();
    h.service.failed("ingest", sqliteError("SQLITE_FULL"));
    expect(h.service.ingestRefusal()).toContain("SQLITE_FULL");
  });
});

describe("logging: one line when an outage starts, one when it ends", () => {
  it("500 failures across areas log one error line, and the recovery one info line", () => {
    const h = harness();
    const areas: StorageArea[] = ["ingest", "admin", "hubs", "delivery", "alerts"];
    const codes = ["SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_BUSY"];
    h.store.probeError = sqliteError("SQLITE_FULL");
    for (let i = 0; i < 500; i++) {
      vi.setSystemTime(T0 + i * 10);
      expect(h.service.failed(areas[i % areas.length]!, sqliteError(codes[i % codes.length]!))).toBe(true);
      if (i % 50 === 0) h.service.check();
    }
    expect(h.at("error")).toHaveLength(1);
    expect(h.at("error")[0]!.msg).toContain("storage degraded");
    expect(h.at("info")).toEqual([]);

    vi.setSystemTime(T0 + 60_000);
    h.store.probeError = undefined;
    h.service.check();
    h.service.succeeded("delivery");
    expect(h.service.status().healthy).toBe(true);
    expect(h.at("error")).toHaveLength(1);
    expect(h.at("warn")).toEqual([]);
    const info = h.at("info");
    expect(info).toHaveLength(1);
    expect(info[0]).toMatchObject({ msg: expect.stringContaining("storage recovered"), outageMs: 60_000 });
    expect(h.lines.indexOf(info[0]!)).toBeGreaterThan(h.lines.indexOf(h.at("error")[0]!));
  });

  it("the error line carries the summary and the faults", () => {
    const h = harness();
    h.service.failed("hubs", sqliteError("SQLITE_READONLY"));
    expect(h.at("error")[0]).toMatchObject({
      storage: expect.stringContaining("SQLITE_READONLY"),
      faults: [{ area: "hubs", code: "SQLITE_READONLY", since: T0 }],
    });
  });

  it("each further area refusing during the outage is a debug line, not an error", () => {
    const h = harness();
    h.service.failed("ingest", sqliteError("SQLITE_FULL"));
    h.service.failed("ingest", sqliteError("SQLITE_FULL"));
    h.service.failed("admin", sqliteError("SQLITE_FULL"));
    h.service.failed("admin", sqliteError("SQLITE_FULL"));
    expect(h.at("error")).toHaveLength(1);
    expect(h.at("debug")).toEqual([expect.objectContaining({ area: "admin", code: "SQLITE_FULL" })]);
  });

  it("two outages log two error lines and two info lines", () => {
    const h = harness();
    for (let outage = 0; outage < 2; outage++) {
      for (let i = 0; i < 10; i++) h.service.failed("alerts", sqliteError("SQLITE_IOERR"));
      h.service.succeeded("alerts");
    }
    expect(h.at("error")).toHaveLength(2);
    expect(h.at("info")).toHaveLength(2);
  });

  it("succeeded() while healthy logs and emits nothing", () => {
    const h = harness();
    for (let i = 0; i < 100; i++) h.service.succeeded("ingest");
    expect(h.lines).toEqual([]);
    expect(h.changes).toEqual([]);
  });
});

describe('"storage.changed"', () => {
  it("degraded once at the start, writable after the probe, recovered when delivery succeeds", () => {
    const h = harness();
    h.service.failed("ingest", sqliteError("SQLITE_FULL"));
    h.service.failed("delivery", sqliteError("SQLITE_FULL"));
    h.service.failed("ingest", sqliteError("SQLITE_FULL"));
    expect(h.changes).toEqual([{ degraded: true, writable: false }]);
    h.service.check();
    expect(h.changes).toEqual([
      { degraded: true, writable: false },
      { degraded: true, writable: true },
    ]);
    h.service.succeeded("delivery");
    expect(h.changes).toEqual([
      { degraded: true, writable: false },
      { degraded: true, writable: true },
      { degraded: false, writable: true },
    ]);
  });

  it("a recovery by the area's own success reports degraded then recovered, nothing between", () => {
    const h = harness();
    for (let i = 0; i < 20; i++) h.service.failed("checkpoint", sqliteError("SQLITE_BUSY"));
    h.service.check();
    h.service.succeeded("checkpoint");
    expect(h.changes).toEqual([
      { degraded: true, writable: false },
      { degraded: false, writable: true },
    ]);
  });

  it("a probe that ends the outage reports the recovery once", () => {
    const h = harness();
    h.service.failed("ingest", sqliteError("SQLITE_FULL"));
    h.service.check();
    expect(h.changes).toEqual([
      { degraded: true, writable: false },
      { degraded: false, writable: true },
    ]);
  });

  it("a failing probe reports nothing", () => {
    const h = harness();
    h.service.failed("ingest", sqliteError("SQLITE_FULL"));
    h.store.probeError = sqliteError("SQLITE_FULL");
    h.service.check();
    h.service.check();
    expect(h.changes).toEqual([{ degraded: true, writable: false }]);
  });
});

describe("check(): the probe", () => {
  it("does not probe while healthy", () => {
    const h = harness();
    h.service.check();
    h.service.check();
    expect(h.store.probes).toBe(0);
  });

  it.each<StorageArea[]>([["delivery"], ["checkpoint"], ["delivery", "checkpoint"]])(
    "does not probe while only self-retrying areas are faulted: %s",
    (...areas) => {
      const h = harness();
      for (const a of areas) h.service.failed(a, sqliteError("SQLITE_IOERR_WRITE"));
      h.service.check();
      expect(h.store.probes).toBe(0);
      expect(h.service.status().healthy).toBe(false);
    },
  );

  it.each<StorageArea>(["ingest", "admin", "alerts", "hubs", "sessions"])("probes while %s is faulted, then stops once it is cleared", (area) => {
    const h = harness();
    h.service.failed(area, sqliteError("SQLITE_FULL"));
    h.service.check();
    expect(h.store.probes).toBe(1);
    expect(h.service.status().faults).toEqual([]);
    h.service.check();
    expect(h.store.probes).toBe(1);
  });

  it("a failing probe keeps the fault and is tried again at every check", () => {
    const h = harness();
    h.service.failed("ingest", sqliteError("SQLITE_FULL"));
    h.store.probeError = sqliteError("SQLITE_FULL");
    for (let i = 0; i < 3; i++) h.service.check();
    expect(h.store.probes).toBe(3);
    expect(h.service.ingestRefusal()).toContain("SQLITE_FULL");
    expect(h.service.status().faults).toEqual([{ area: "ingest", code: "SQLITE_FULL", since: T0 }]);
    expect(h.lines.filter((l) => l.level >= LEVEL.warn)).toHaveLength(1);
  });

  it("a probe failing with a non-storage error keeps the fault, is logged, and does not throw", () => {
    const h = harness();
    h.service.failed("admin", sqliteError("SQLITE_FULL"));
    h.store.probeError = new TypeError("not a storage error");
    expect(() => h.service.check()).not.toThrow();
    expect(h.service.status().faults.map((f) => f.area)).toEqual(["admin"]);
    expect(h.at("error").at(-1)).toMatchObject({ msg: expect.stringContaining("probe failed unexpectedly") });
  });

  it("a succeeding probe clears ingest, admin and hubs but not delivery", () => {
    const h = harness();
    for (const a of ["hubs", "delivery", "admin", "ingest"] as const) h.service.failed(a, sqliteError("SQLITE_FULL"));
    h.service.check();
    const status = h.service.status();
    expect(status.faults).toEqual([{ area: "delivery", code: "SQLITE_FULL", since: T0 }]);
    expect(status.healthy).toBe(false);
    expect(status.ingestRefused).toBeUndefined();
    expect(status.deliveryPaused).toBe(true);
    expect(h.at("info")).toEqual([]);
  });
});

describe("check(): free space", () => {
  it("below MIN_FREE_DISK_MB refuses ingest and status shows the numbers", () => {
    const h = harness();
    h.store.free = 10 * MiB;
    h.service.check();
    expect(h.service.ingestRefusal()).toMatch(/10 MB free.*100 MB.*MIN_FREE_DISK_MB/);
    expect(h.service.status()).toMatchObject({
      healthy: false,
      degradedSince: T0,
      freeBytes: 10 * MiB,
      totalBytes: 10_000 * MiB,
      minFreeBytes: MIN_FREE,
      faults: [],
      summary: expect.stringContaining("storage low: 10 MB free"),
    });
    expect(h.store.probes).toBe(0);
    expect(h.at("error")).toHaveLength(1);
  });

  it("room again admits ingest and ends the outage", () => {
    const h = harness();
    h.store.free = 10 * MiB;
    h.service.check();
    h.service.check();
    vi.setSystemTime(T0 + 3000);
    h.store.free = MIN_FREE;
    h.service.check();
    expect(h.service.ingestRefusal()).toBeUndefined();
    expect(h.service.status()).toMatchObject({ healthy: true, freeBytes: MIN_FREE, summary: undefined });
    expect(h.at("error")).toHaveLength(1);
    expect(h.at("info")).toEqual([expect.objectContaining({ outageMs: 3000 })]);
  });

  it("a space() that throws is logged once as a warning and does not throw out of check()", () => {
    const h = harness();
    h.store.spaceError = Object.assign(new Error("ENOENT: no such file or directory, statfs"), { code: "ENOENT" });
    for (let i = 0; i < 5; i++) expect(() => h.service.check()).not.toThrow();
    expect(h.at("warn")).toHaveLength(1);
    expect(h.at("warn")[0]!.msg).toContain("free space");
    expect(h.service.status()).toMatchObject({ healthy: true, freeBytes: undefined });
  });

  it("the probe still runs while space() throws", () => {
    const h = harness();
    h.store.spaceError = new Error("statfs failed");
    h.service.failed("ingest", sqliteError("SQLITE_IOERR_WRITE"));
    h.service.check();
    expect(h.store.probes).toBe(1);
    expect(h.service.ingestRefusal()).toBeUndefined();
  });

  it("a space() failing again after working in between is logged again", () => {
    const h = harness();
    h.store.spaceError = new Error("statfs failed");
    h.service.check();
    h.store.spaceError = undefined;
    h.service.check();
    h.store.spaceError = new Error("statfs failed");
    h.service.check();
    h.service.check();
    expect(h.at("warn")).toHaveLength(2);
  });
});

describe("status()", () => {
  it("lists faults in STORAGE_AREAS order, whatever order they failed in", () => {
    const h = harness();
    const order: StorageArea[] = ["checkpoint", "hubs", "sessions", "ingest", "alerts", "delivery", "admin"];
    order.forEach((a, i) => {
      vi.setSystemTime(T0 + i);
      h.service.failed(a, sqliteError("SQLITE_IOERR"));
    });
    expect(h.service.status().faults.map((f) => f.area)).toEqual(["ingest", "delivery", "admin", "alerts", "hubs", "sessions", "checkpoint"]);
    expect(h.service.status().faults.find((f) => f.area === "ingest")?.since).toBe(T0 + 3);
  });

  it("a fault's since is its first failure, not its latest", () => {
    const h = harness();
    h.service.failed("sessions", sqliteError("SQLITE_BUSY"));
    vi.setSystemTime(T0 + 5000);
    h.service.failed("sessions", sqliteError("SQLITE_IOERR_WRITE"));
    expect(h.service.status().faults).toEqual([{ area: "sessions", code: "SQLITE_IOERR_WRITE", since: T0 }]);
    expect(h.service.status().degradedSince).toBe(T0);
  });

  it("is healthy with no reading at first", () => {
    const h = harness();
    expect(h.service.status()).toEqual({
      healthy: true,
      degradedSince: undefined,
      summary: undefined,
      ingestRefused: undefined,
      deliveryPaused: false,
      freeBytes: undefined,
      totalBytes: undefined,
      minFreeBytes: MIN_FREE,
      faults: [],
    });
  });
});

describe("the real store on a SQLite file", () => {
  let dir: string | undefined;
  let db: Db | undefined;
  const open = (opts: { busyTimeoutMs?: number } = {}) => {
    dir = mkdtempSync(join(tmpdir(), "hookly-storage-"));
    db = openDatabase(join(dir, "t.db"), opts);
    return { db, store: createStorageStore(db) };
  };
  /** What the store threw, or undefined. */
  const thrown = (fn: () => void): unknown => {
    try {
      fn();
    } catch (err) {
      return err;
    }
    return undefined;
  };
  afterEach(() => {
    db?.close();
    db = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("probe() succeeds and leaves storage_probe empty", () => {
    const { db, store } = open();
    store.probe(T0);
    store.probe(T0 + 1);
    expect(db.prepare("SELECT count(*) AS n FROM storage_probe").get()).toEqual({ n: 0 });
  });

  it("probe() throws SQLITE_FULL at the page limit, and succeeds once the limit is raised", () => {
    const { db, store } = open();
    const pages = db.pragma("page_count", { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    const err = thrown(() => store.probe(T0));
    expect((err as { code?: unknown }).code).toBe("SQLITE_FULL");
    expect(storageErrorCode(err)).toBe("SQLITE_FULL");
    db.pragma(`max_page_count = ${pages + 1000}`);
    expect(() => store.probe(T0 + 1)).not.toThrow();
    expect(db.prepare("SELECT count(*) AS n FROM storage_probe").get()).toEqual({ n: 0 });
  });

  it("probe() throws SQLITE_READONLY when the connection is query-only", () => {
    const { db, store } = open();
    db.pragma("query_only = ON");
    const err = thrown(() => store.probe(T0));
    expect((err as { code?: unknown }).code).toBe("SQLITE_READONLY");
    expect(storageErrorCode(err)).toBe("SQLITE_READONLY");
  });

  it("probe() restores the connection's busy_timeout, after success and after failure", () => {
    const { db, store } = open({ busyTimeoutMs: 1234 });
    expect(PROBE_BUSY_TIMEOUT_MS).not.toBe(1234);
    store.probe(T0);
    expect(db.pragma("busy_timeout", { simple: true })).toBe(1234);
    db.pragma("query_only = ON");
    expect(thrown(() => store.probe(T0))).toBeDefined();
    expect(db.pragma("busy_timeout", { simple: true })).toBe(1234);
  });

  it("space() measures the filesystem holding the database", () => {
    const { store } = open();
    const space = store.space();
    expect(space).toBeDefined();
    expect(space!.freeBytes).toBeGreaterThan(0);
    expect(space!.totalBytes).toBeGreaterThanOrEqual(space!.freeBytes);
  });

  it("space() is undefined for an in-memory database", () => {
    db = openDatabase(":memory:");
    expect(createStorageStore(db).space()).toBeUndefined();
  });

  it("the service with the real store: a full database keeps ingest refused until the limit is raised", () => {
    const { db, store } = open();
    const service = createStorageService({ store, events: new EdgeEvents(), log: pino({ level: "silent" }), policy: { minFreeBytes: 0 } });
    const pages = db.pragma("page_count", { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    expect(
      service.failed(
        "ingest",
        thrown(() => store.probe(T0)),
      ),
    ).toBe(true);
    service.check();
    expect(service.ingestRefusal()).toContain("SQLITE_FULL");
    expect(service.status().summary).toContain("page limit");
    db.pragma(`max_page_count = ${pages + 1000}`);
    service.check();
    expect(service.ingestRefusal()).toBeUndefined();
    expect(service.status().healthy).toBe(true);
  });
});
