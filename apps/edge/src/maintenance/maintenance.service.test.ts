import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { run } from "../cli.js";
import { edgeEnvSchema } from "../config.js";
import { createSecretBox } from "../crypto/secret-box.js";
import { openDatabase, type Db } from "../db/db.js";
import { createDestinationStore } from "../destination/destination.store.js";
import { createEndpointStore } from "../endpoint/endpoint.store.js";
import { newId } from "../ids.js";
import { createIngestStore } from "../ingest/ingest.store.js";
import {
  MaintenanceError,
  assertNotInUse,
  backupDatabase,
  generateSecrets,
  inspectDatabase,
  latestSchemaVersion,
  restoreDatabase,
  rotateEncryptionKey,
} from "./maintenance.service.js";

const OLD_KEY = "11".repeat(32);
const NEW_KEY = "22".repeat(32);

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hookly-maint-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(path: string): Db {
  const db = openDatabase(path);
  cleanups.push(() => db.open && db.close());
  return db;
}

/** The one destination seed() gives an endpoint. */
const destinationFor = (endpointId: string) => `dst_${endpointId.slice(3)}`;

/** Adds endpoints (secrets sealed with `key`) and `perEndpoint` webhooks each. */
async function seed(db: Db, opts: { endpoints: number; perEndpoint: number; key?: string }): Promise<string[]> {
  const box = createSecretBox([opts.key ?? OLD_KEY]);
  const endpoints = createEndpointStore(db);
  const destinationsStore = createDestinationStore(db);
  const ingest = createIngestStore(db);
  const ids: string[] = [];
  for (let i = 0; i < opts.endpoints; i++) {
    const id = newId("endpoint");
    ids.push(id);
    endpoints.insert({
      id,
      name: `ep${i}`,
      providerType: "generic",
      sealedSecret: i === 0 ? null : box.seal(`secret-${i}`, id),
      eventTypeHeader: null,
      muted: false,
      createdAt: 1_000 + i,
      updatedAt: 1_000 + i,
    });
    destinationsStore.insert({
      id: destinationFor(id),
      endpointId: id,
      hubId: "hub_bootstrap",
      url: "http://127.0.0.1:9/",
      name: "",
      enabled: true,
      muted: false,
      filter: null,
      position: 0,
      createdAt: 1_000 + i,
      updatedAt: 1_000 + i,
    });
  }
  await Promise.all(
    ids.flatMap((endpointId) =>
      Array.from({ length: opts.perEndpoint }, (_, n) =>
        ingest.insert({
          id: newId("webhook"),
          endpointId,
          receivedAt: Date.now(),
          method: "POST",
          query: "",
          headers: [["content-type", "application/json"]],
          payload: Buffer.from(JSON.stringify({ n, pad: "x".repeat(500) })),
          contentType: "application/json",
          sourceIp: null,
          signatureValid: false,
          signatureReason: null,
          eventType: null,
          routes: [{ destinationId: destinationFor(endpointId), filteredBecause: null }],
          deliverBy: Date.now() + 86_400_000,
          replayOf: null,
        }),
      ),
    ),
  );
  return ids;
}

describe("generateSecrets", () => {
  it("produces values the edge accepts, fresh each time", () => {
    const a = generateSecrets();
    const b = generateSecrets();
    expect(a.ENCRYPTION_KEY).toMatch(/^[0-9a-f]{64}$/);
    expect(a.HOME_HUB_SECRET.length).toBeGreaterThanOrEqual(32);
    expect(a.ADMIN_TOKEN.length).toBeGreaterThanOrEqual(24);
    expect(a).not.toEqual(b);
    for (const key of ["ENCRYPTION_KEY", "ADMIN_TOKEN"] as const) expect(edgeEnvSchema.shape[key].safeParse(a[key]).success).toBe(true);
    expect(edgeEnvSchema.shape.HOME_HUB_SECRET.safeParse(a.HOME_HUB_SECRET).success).toBe(true);
  });
});

describe("backupDatabase", () => {
  it("copies a database that another connection keeps writing to, and verifies the copy", async () => {
    const dir = tempDir();
    const source = join(dir, "hookly.db");
    const db = open(source);
    await seed(db, { endpoints: 3, perEndpoint: 200 });
    // Keep committing from the "edge" connection while the backup runs.
    let writing = true;
    const ingest = createIngestStore(db);
    const endpointId = createEndpointStore(db).list()[0]!.id;
    const writer = (async () => {
      let n = 0;
      while (writing) {
        await ingest.insert({
          id: newId("webhook"),
          endpointId,
          receivedAt: Date.now(),
          method: "POST",
          query: "",
          headers: [],
          payload: Buffer.from(`late ${n++}`),
          contentType: null,
          sourceIp: null,
          signatureValid: false,
          signatureReason: null,
          eventType: null,
          routes: [{ destinationId: destinationFor(endpointId), filteredBecause: null }],
          deliverBy: Date.now() + 1_000,
          replayOf: null,
        });
        await new Promise((r) => setTimeout(r, 1));
      }
      return n;
    })();
    const target = join(dir, "backups", "copy.db");
    const result = await backupDatabase(source, target);
    writing = false;
    const written = await writer;
    expect(result.integrity).toBe("ok");
    expect(result.schemaVersion).toBe(latestSchemaVersion());
    expect(result.endpoints).toBe(3);
    expect(result.webhooks).toBeGreaterThanOrEqual(600);
    expect(result.webhooks).toBeLessThanOrEqual(600 + written);
    // A self-contained file: no WAL beside it, and it reads back the same.
    expect(readdirSync(join(dir, "backups"))).toEqual(["copy.db"]);
    expect(inspectDatabase(target)).toMatchObject({ integrity: "ok", webhooks: result.webhooks, endpoints: 3 });
  });

  it("refuses to overwrite without force, and to back up onto the database itself", async () => {
    const dir = tempDir();
    const source = join(dir, "hookly.db");
    await seed(open(source), { endpoints: 1, perEndpoint: 1 });
    const target = join(dir, "copy.db");
    writeFileSync(target, "precious");
    await expect(backupDatabase(source, target)).rejects.toThrow(/exists; choose another file or pass --force/);
    await expect(backupDatabase(source, source, { force: true })).rejects.toThrow(MaintenanceError);
    const forced = await backupDatabase(source, target, { force: true });
    expect(forced.webhooks).toBe(1);
  });

  it("refuses a file that is not a Hookly database", async () => {
    const dir = tempDir();
    await expect(backupDatabase(join(dir, "missing.db"), join(dir, "x.db"))).rejects.toThrow(/no database at/);
    const empty = join(dir, "empty.db");
    writeFileSync(empty, "");
    await expect(backupDatabase(empty, join(dir, "y.db"))).rejects.toThrow(/not a Hookly database/);
  });
});

describe("restoreDatabase", () => {
  it("puts a backup in place, keeping the replaced database and its WAL aside", async () => {
    const dir = tempDir();
    const source = join(dir, "source.db");
    const srcDb = open(source);
    await seed(srcDb, { endpoints: 2, perEndpoint: 5 });
    const backup = join(dir, "backup.db");
    await backupDatabase(source, backup);
    srcDb.close();

    const target = join(dir, "data", "hookly.db");
    const live = open(target);
    await seed(live, { endpoints: 1, perEndpoint: 1 });
    expect(() => restoreDatabase(backup, target)).toThrow(/pass --force/);
    expect(() => restoreDatabase(backup, target, { force: true })).toThrow(/in use by another process/);
    live.close();

    const r = restoreDatabase(backup, target, { force: true, now: new Date("2030-01-02T03:04:05Z") });
    expect(r).toMatchObject({ integrity: "ok", endpoints: 2, webhooks: 10, pending: 10 });
    expect(r.previous).toBe(`${target}.before-restore-2030-01-02T03-04-05-000Z`);
    expect(inspectDatabase(r.previous!).webhooks).toBe(1);
    expect(existsSync(`${target}-wal`)).toBe(false);
    // The edge opens it as usual (WAL again) and sees the backup's rows.
    const reopened = open(target);
    expect(reopened.prepare("SELECT count(*) AS n FROM webhook").get()).toEqual({ n: 10 });
  });

  it("refuses a damaged backup and one from a newer edge", async () => {
    const dir = tempDir();
    const backup = join(dir, "backup.db");
    const db = open(backup);
    db.pragma(`user_version = ${latestSchemaVersion() + 1}`);
    db.close();
    expect(() => restoreDatabase(backup, join(dir, "hookly.db"))).toThrow(/newer than this edge knows/);
    const garbage = join(dir, "garbage.db");
    writeFileSync(garbage, Buffer.alloc(8192, 7));
    expect(() => restoreDatabase(garbage, join(dir, "hookly.db"))).toThrow(MaintenanceError);
    expect(existsSync(join(dir, "hookly.db"))).toBe(false);
  });

  it("assertNotInUse passes for a closed database", async () => {
    const dir = tempDir();
    const path = join(dir, "hookly.db");
    open(path).close();
    expect(() => assertNotInUse(path)).not.toThrow();
  });
});

describe("rotateEncryptionKey", () => {
  it("re-seals every secret with the new key, keeping updatedAt; then the old key is not needed", async () => {
    const dir = tempDir();
    const db = open(join(dir, "hookly.db"));
    const ids = await seed(db, { endpoints: 4, perEndpoint: 0 });
    const store = createEndpointStore(db);
    const box = createSecretBox([NEW_KEY, OLD_KEY]);

    expect(rotateEncryptionKey({ db, store, box }, { dryRun: true })).toEqual({ sealed: 3, resealed: 3, current: 0 });
    expect(store.list().filter((e) => e.sealedSecret && box.needsRotation(e.sealedSecret))).toHaveLength(3);

    expect(rotateEncryptionKey({ db, store, box })).toEqual({ sealed: 3, resealed: 3, current: 0 });
    const newOnly = createSecretBox([NEW_KEY]);
    for (const [i, id] of ids.entries()) {
      const e = store.get(id)!;
      expect(e.updatedAt).toBe(1_000 + i);
      if (i === 0) expect(e.sealedSecret).toBeNull();
      else expect(newOnly.open(e.sealedSecret!, id)).toBe(`secret-${i}`);
    }
    expect(rotateEncryptionKey({ db, store, box })).toEqual({ sealed: 3, resealed: 0, current: 3 });
  });

  it("changes nothing when a secret cannot be opened (previous key missing)", async () => {
    const dir = tempDir();
    const db = open(join(dir, "hookly.db"));
    await seed(db, { endpoints: 3, perEndpoint: 0 });
    const store = createEndpointStore(db);
    const before = store.list().map((e) => e.sealedSecret);
    expect(() => rotateEncryptionKey({ db, store, box: createSecretBox([NEW_KEY]) })).toThrow(/ENCRYPTION_KEY_PREVIOUS.*nothing was changed/);
    expect(store.list().map((e) => e.sealedSecret)).toEqual(before);
  });
});

describe("cli", () => {
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) } };
  };

  it("secrets prints three .env lines", async () => {
    const c = capture();
    expect(await run(["secrets"], {}, c.io)).toBe(0);
    const lines = c.out.join("").trim().split("\n");
    expect(lines.map((l) => l.split("=")[0])).toEqual(["ENCRYPTION_KEY", "HOME_HUB_SECRET", "ADMIN_TOKEN"]);
    expect(lines[0]).toMatch(/^ENCRYPTION_KEY=[0-9a-f]{64}$/);
  });

  it.each([
    [[], 2, /Usage/],
    [["frobnicate"], 2, /unknown command "frobnicate"/],
    [["backup"], 2, /backup takes one argument/],
    [["backup", "x.db", "--fast"], 2, /unknown option --fast/],
    [["rotate-key"], 2, /ENCRYPTION_KEY: is required/],
    [["verify", "/nonexistent/hookly.db"], 1, /no database at/],
  ] as const)("%j exits %i", async (argv, code, message) => {
    const c = capture();
    expect(await run([...argv], { DATABASE_PATH: "/nonexistent/hookly.db" }, c.io)).toBe(code);
    expect(c.err.join("") + c.out.join("")).toMatch(message);
  });

  it("backup, verify, restore and rotate-key with variables from --env-file", async () => {
    const dir = tempDir();
    const dbPath = join(dir, "hookly.db");
    const db = open(dbPath);
    await seed(db, { endpoints: 2, perEndpoint: 3 });
    db.close();
    const envFile = join(dir, "edge.env");
    writeFileSync(envFile, `DATABASE_PATH=${dbPath}\nENCRYPTION_KEY=${NEW_KEY}\nENCRYPTION_KEY_PREVIOUS=${OLD_KEY}\nPORT=1\n`);
    const c = capture();
    const backup = join(dir, "b.db");
    expect(await run(["--env-file", envFile, "backup", backup], {}, c.io)).toBe(0);
    expect(c.out.join("")).toMatch(/integrity ok; schema version \d+; 2 endpoints, 6 webhooks \(6 pending\)/);
    expect(await run(["--env-file", envFile, "verify", backup], {}, c.io)).toBe(0);
    expect(await run(["--env-file", envFile, "rotate-key"], {}, c.io)).toBe(0);
    expect(c.out.join("")).toMatch(/1 endpoint secret\(s\): 1 re-sealed with ENCRYPTION_KEY, 0 already were/);
    expect(await run(["--env-file", envFile, "restore", backup], {}, c.io)).toBe(1);
    expect(c.err.join("")).toMatch(/pass --force/);
    expect(await run(["--env-file", envFile, "restore", backup, "--force"], {}, c.io)).toBe(0);
    expect(c.out.join("")).toMatch(/kept as .*before-restore-/);
  });
});
