import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createPayloadFiles } from "./payload.files.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const store = () => {
  const dir = mkdtempSync(join(tmpdir(), "payload-files-"));
  dirs.push(dir);
  return createPayloadFiles(join(dir, "hookly.db-payloads"));
};
const bytes = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 13 + seed) % 256));

describe("payload files", () => {
  it("a committed spool holds the bytes written, in order, under the webhook's id", async () => {
    const files = store();
    const spool = files.spool("wh_one");
    const a = bytes(70_000, 1);
    const b = bytes(5, 2);
    await spool.write(a);
    await spool.write(b);
    expect(await spool.commit()).toBe("wh_one");
    expect(readFileSync(files.path("wh_one")).equals(Buffer.concat([a, b]))).toBe(true);
    expect(readdirSync(join(files.dir, "tmp"))).toEqual([]);
    expect(files.head({ size: 70_005, inline: Buffer.alloc(0), file: "wh_one", sha256: null }, 10).equals(a.subarray(0, 10))).toBe(true);
  });

  it("an abandoned spool leaves nothing, before or after commit", async () => {
    const files = store();
    const open = files.spool("wh_open");
    await open.write(bytes(10));
    open.abandon();
    const done = files.spool("wh_done");
    await done.write(bytes(10));
    await done.commit();
    done.abandon();
    await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(files.path("wh_open"))).toBe(false);
    expect(existsSync(files.path("wh_done"))).toBe(false);
    expect(readdirSync(join(files.dir, "tmp"))).toEqual([]);
  });

  it("a copy is a payload of its own: removing the original keeps it", async () => {
    const files = store();
    const spool = files.spool("wh_orig");
    await spool.write(bytes(1000));
    await spool.commit();
    await files.copy("wh_orig", "wh_copy");
    files.remove(["wh_orig", "wh_never"]);
    expect(readFileSync(files.path("wh_copy")).equals(bytes(1000))).toBe(true);
  });

  it("the start-up sweep deletes partial uploads and unnamed files, and nothing else", async () => {
    const files = store();
    for (const id of ["wh_kept", "wh_orphan"]) {
      const s = files.spool(id);
      await s.write(bytes(3));
      await s.commit();
    }
    await files.spool("wh_partial").write(bytes(3));
    writeFileSync(join(files.dir, "README"), "not ours");
    expect(files.sweep((name) => name === "wh_kept")).toEqual({ partial: 1, orphans: 1 });
    expect(readdirSync(files.dir).sort()).toEqual(["README", "tmp", "wh_kept"]);
  });

  it("refuses names that are not webhook ids", () => {
    const files = store();
    expect(() => files.path("../hookly.db")).toThrow(/not a payload file name/);
  });
});
