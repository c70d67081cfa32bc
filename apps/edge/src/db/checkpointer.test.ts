import { mkdtempSync, rmSync, statSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { mulberry32 } from "../../../../test/random.js";
import {
  SAFETY_NET_PAGES,
  checkpointerStep,
  startCheckpointer,
  type CheckpointReport,
  type CheckpointerEvent,
  type CheckpointerState,
} from "./checkpointer.js";
import { openDatabase, type Db } from "./db.js";

let dir: string | undefined;
let db: Db | undefined;
afterEach(() => {
  db?.close();
  db = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const until = async (ok: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("background WAL checkpointer", () => {
  it("copies the WAL into the database from a worker, so the main connection's commits never have to", async () => {
    dir = mkdtempSync(join(tmpdir(), "hookly-ckpt-"));
    db = openDatabase(join(dir, "t.db"));
    const reports: CheckpointReport[] = [];
    const errors: Error[] = [];
    const ckpt = startCheckpointer(db, { intervalMs: 20, onReport: (r) => reports.push(r), onError: (e) => errors.push(e) });
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(SAFETY_NET_PAGES);

    db.exec("CREATE TABLE blob_t (b BLOB)");
    const insert = db.prepare("INSERT INTO blob_t (b) VALUES (?)");
    // ~8 MB in 200 commits: past SQLite's default 1,000-page automatic checkpoint many times over.
    for (let i = 0; i < 200; i++) db.transaction(() => insert.run(Buffer.alloc(40_000, i)))();

    await until(() => reports.some((r) => r.log > 1000 && r.checkpointed === r.log), 10_000);
    // Everything the WAL held is in the main file now: it alone has all the rows.
    await ckpt.stop();
    expect(errors).toEqual([]);
    expect(statSync(join(dir, "t.db")).size).toBeGreaterThan(8_000_000);
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
    expect(db.prepare("SELECT count(*) AS n FROM blob_t").get()).toEqual({ n: 200 });
  });

  it("reports a worker that cannot start once, and hands checkpoints back to SQLite", async () => {
    dir = mkdtempSync(join(tmpdir(), "hookly-ckpt-"));
    db = openDatabase(join(dir, "t.db"));
    // the main connection keeps its open file; the worker finds nothing to open
    unlinkSync(join(dir, "t.db"));
    const errors: Error[] = [];
    const ckpt = startCheckpointer(db, { intervalMs: 10, onError: (e) => errors.push(e) });
    await until(() => errors.length > 0, 10_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(errors).toHaveLength(1);
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
    await ckpt.stop();
  });

  it("does nothing for an in-memory database", async () => {
    db = openDatabase(":memory:");
    const ckpt = startCheckpointer(db, { intervalMs: 5 });
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
    await ckpt.stop();
  });

  it("stops its worker while the database is idle and starts one on the next change, which it checkpoints", async () => {
    dir = mkdtempSync(join(tmpdir(), "hookly-ckpt-"));
    db = openDatabase(join(dir, "t.db"));
    const reports: CheckpointReport[] = [];
    const ckpt = startCheckpointer(db, { intervalMs: 20, idleAfterMs: 200, sampleMs: 25, onReport: (r) => reports.push(r) });
    expect(ckpt.running).toBe(true);
    db.exec("CREATE TABLE t (b BLOB)");
    db.prepare("INSERT INTO t (b) VALUES (?)").run(Buffer.alloc(100_000, 1));
    await until(() => !ckpt.running, 10_000);
    const asleep = reports.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(reports.length, "no checkpoints while asleep").toBe(asleep);

    db.prepare("INSERT INTO t (b) VALUES (?)").run(Buffer.alloc(100_000, 2));
    await until(() => ckpt.running, 10_000);
    // The new worker copies the frames of the change that woke it.
    await until(() => reports.slice(asleep).some((r) => r.log > 0 && r.checkpointed === r.log), 10_000);
    await until(() => !ckpt.running, 10_000);
    await ckpt.stop();
    expect(db.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 2 });
  });
});

describe("checkpointerStep (the worker's start and stop rule)", () => {
  const IDLE = 1_000;
  const fresh: CheckpointerState = { running: false, dead: false, changedAt: 0, cleanAt: undefined };
  const run = (events: CheckpointerEvent[], state = fresh) =>
    events.reduce<{ state: CheckpointerState; actions: string[] }>(
      (acc, e) => {
        const step = checkpointerStep(acc.state, e, IDLE);
        return { state: step.state, actions: [...acc.actions, step.action] };
      },
      { state, actions: [] },
    );

  it.each([
    ["a change starts a worker", [{ type: "sample", changed: true, now: 5 }], ["start"]],
    ["no change starts nothing", [{ type: "sample", changed: false, now: 5 }], ["none"]],
    [
      "idle long enough after a clean report stops it",
      [
        { type: "sample", changed: true, now: 0 },
        { type: "report", clean: true, now: 10 },
        { type: "sample", changed: false, now: 1_000 },
      ],
      ["start", "none", "stop"],
    ],
    [
      "idle, but no report since the change found the WAL copied: keeps running",
      [
        { type: "sample", changed: true, now: 0 },
        { type: "report", clean: false, now: 10 },
        { type: "sample", changed: false, now: 5_000 },
      ],
      ["start", "none", "none"],
    ],
    [
      "a clean report from before the last change does not count",
      [
        { type: "sample", changed: true, now: 0 },
        { type: "report", clean: true, now: 10 },
        { type: "sample", changed: true, now: 20 },
        { type: "sample", changed: false, now: 5_000 },
      ],
      ["start", "none", "none", "none"],
    ],
    [
      "a change while stopping starts the next worker (no lost wake-up)",
      [
        { type: "sample", changed: true, now: 0 },
        { type: "report", clean: true, now: 10 },
        { type: "sample", changed: false, now: 1_000 },
        { type: "sample", changed: true, now: 1_001 },
      ],
      ["start", "none", "stop", "start"],
    ],
    [
      "a worker that died is not replaced",
      [{ type: "sample", changed: true, now: 0 }, { type: "died" }, { type: "sample", changed: true, now: 50 }],
      ["start", "none", "none"],
    ],
  ] as [string, CheckpointerEvent[], string[]][])("%s", (_, events, actions) => {
    expect(run(events).actions).toEqual(actions);
  });

  it("holds its invariants over random event sequences", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = mulberry32(seed);
      let state = fresh;
      let now = 0;
      let lastCleanAfterChange = false;
      for (let i = 0; i < 200; i++) {
        now += Math.floor(rnd() * 400);
        const r = rnd();
        const event: CheckpointerEvent =
          r < 0.5 ? { type: "sample", changed: rnd() < 0.3, now } : r < 0.98 ? { type: "report", clean: rnd() < 0.7, now } : { type: "died" };
        const before = state;
        const { state: after, action } = checkpointerStep(state, event, IDLE);
        const where = `seed ${seed}, step ${i}`;
        if (action === "start") expect(!before.running && !before.dead, where).toBe(true);
        if (action === "stop") {
          expect(before.running, where).toBe(true);
          expect(now - after.changedAt >= IDLE && lastCleanAfterChange, where).toBe(true);
        }
        // No lost wake-up: after a change, a worker runs unless one died.
        if (event.type === "sample" && event.changed) expect(after.running || after.dead, where).toBe(true);
        expect(after.running, where).toBe(before.running ? action !== "stop" && event.type !== "died" : action === "start");
        if (event.type === "sample" && event.changed) lastCleanAfterChange = false;
        if (event.type === "report" && before.running) lastCleanAfterChange = event.clean;
        if (action === "start" || action === "stop") lastCleanAfterChange = false;
        state = after;
      }
    }
  });
});
