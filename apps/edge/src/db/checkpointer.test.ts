import { mkdtempSync, rmSync, statSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SAFETY_NET_PAGES, startCheckpointer, type CheckpointReport } from "./checkpointer.js";
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
});
