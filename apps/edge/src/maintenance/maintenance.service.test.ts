import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { run } from "../cli.js";
import { systemClock } from "../clock.js";
import { edgeEnvSchema } from "../config.js";
import { createSecretBox } from "../crypto/secret-box.js";
import { openDatabase, type Db } from "../db/db.js";
import { DEFAULT_POLICY } from "../destination/destination.policy.js";
import { createDestinationStore } from "../destination/destination.store.js";
import { createEndpointStore } from "../endpoint/endpoint.store.js";
import { EdgeEvents } from "../events.js";
import { createHubService } from "../hub/hub.service.js";
import { createHubStore } from "../hub/hub.store.js";
import { newId } from "../ids.js";
import { inlinePayload } from "../payload/payload.files.js";
import { createIngestStore } from "../ingest/ingest.store.js";
import { createHubCredentialStore, createSealedHeaderStore } from "./maintenance.store.js";
import { createHeaderSealer } from "../webhook/webhook.headers.js";
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

/** A database made by release 0.1.0 (schema 5, before hubs). */
const V010_DB = join(import.meta.dirname, "..", "..", "..", "..", "test", "fixtures", "v0.1.0.db");

/** The hub service on `db`, sealing with the first of `keys`. */
const hubServiceOn = (db: Db, keys: string[]) =>
  createHubService({
    store: createHubStore(db),
    box: createSecretBox(keys),
    clock: systemClock,
    events: new EdgeEvents(),
    log: pino({ level: "silent" }),
    bootstrapSecrets: [],
    baseUrl: "https://edge.example",
  });

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
      dedupWindowMs: 0,
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
      policy: DEFAULT_POLICY,
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
          payload: inlinePayload(Buffer.from(JSON.stringify({ n, pad: "x".repeat(500) }))),
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
          payload: inlinePayload(Buffer.from(`late ${n++}`)),
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
    expect(readdirSync(join(dir, "backups"))).toEqual(["copy.db", "copy.db-payloads"]);
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
    const hubs = createHubCredentialStore(db);
    const box = createSecretBox([NEW_KEY, OLD_KEY]);
    const none = { sealed: 0, resealed: 0, current: 0 };

    expect(
      rotateEncryptionKey(
        { db, endpoints: store, hubs, headers: createSealedHeaderStore(db), destinations: createDestinationStore(db), box },
        { dryRun: true },
      ),
    ).toEqual({
      endpoints: { sealed: 3, resealed: 3, current: 0 },
      hubs: none,
      headers: none,
      policyHeaders: { sealed: 0, resealed: 0, current: 0 },
    });
    expect(store.list().filter((e) => e.sealedSecret && box.needsRotation(e.sealedSecret))).toHaveLength(3);

    expect(rotateEncryptionKey({ db, endpoints: store, hubs, headers: createSealedHeaderStore(db), destinations: createDestinationStore(db), box })).toEqual({
      endpoints: { sealed: 3, resealed: 3, current: 0 },
      hubs: none,
      headers: none,
      policyHeaders: { sealed: 0, resealed: 0, current: 0 },
    });
    const newOnly = createSecretBox([NEW_KEY]);
    for (const [i, id] of ids.entries()) {
      const e = store.get(id)!;
      expect(e.updatedAt).toBe(1_000 + i);
      if (i === 0) expect(e.sealedSecret).toBeNull();
      else expect(newOnly.open(e.sealedSecret!, id)).toBe(`secret-${i}`);
    }
    expect(rotateEncryptionKey({ db, endpoints: store, hubs, headers: createSealedHeaderStore(db), destinations: createDestinationStore(db), box })).toEqual({
      endpoints: { sealed: 3, resealed: 0, current: 3 },
      hubs: none,
      headers: none,
      policyHeaders: { sealed: 0, resealed: 0, current: 0 },
    });
  });

  it("re-seals hub credentials, current and previous, bound to the hub id; then the old key is not needed", async () => {
    const dir = tempDir();
    const db = open(join(dir, "hookly.db"));
    await seed(db, { endpoints: 2, perEndpoint: 0 });
    const old = hubServiceOn(db, [OLD_KEY]);
    const rotating = old.create({ name: "rotating" });
    const previousSecret = rotating.secret;
    const currentSecret = old.rotate(rotating.hub.id).secret;
    const plain = old.create({ name: "plain" });
    const revoked = old.create({ name: "revoked" });
    old.revoke(revoked.hub.id);
    const before = createHubStore(db).get(rotating.hub.id)!;

    const endpoints = createEndpointStore(db);
    const hubs = createHubCredentialStore(db);
    const box = createSecretBox([NEW_KEY, OLD_KEY]);
    const all = { sealed: 3, resealed: 3, current: 0 };
    expect(
      rotateEncryptionKey({ db, endpoints, hubs, headers: createSealedHeaderStore(db), destinations: createDestinationStore(db), box }, { dryRun: true }),
    ).toEqual({
      endpoints: { sealed: 1, resealed: 1, current: 0 },
      hubs: all,
      headers: { sealed: 0, resealed: 0, current: 0 },
      policyHeaders: { sealed: 0, resealed: 0, current: 0 },
    });
    expect(createHubStore(db).get(rotating.hub.id)).toEqual(before);

    expect(rotateEncryptionKey({ db, endpoints, hubs, headers: createSealedHeaderStore(db), destinations: createDestinationStore(db), box })).toEqual({
      endpoints: { sealed: 1, resealed: 1, current: 0 },
      hubs: all,
      headers: { sealed: 0, resealed: 0, current: 0 },
      policyHeaders: { sealed: 0, resealed: 0, current: 0 },
    });
    const after = createHubStore(db).get(rotating.hub.id)!;
    expect(after).toEqual({ ...before, sealedSecret: expect.any(String), sealedPreviousSecret: expect.any(String) });
    const newOnly = createSecretBox([NEW_KEY]);
    expect(newOnly.open(after.sealedSecret!, rotating.hub.id)).toBe(currentSecret);
    expect(newOnly.open(after.sealedPreviousSecret!, rotating.hub.id)).toBe(previousSecret);
    expect(() => newOnly.open(after.sealedSecret!, plain.hub.id)).toThrow(/cannot decrypt/);

    // What the edge does at a stream open, with ENCRYPTION_KEY_PREVIOUS dropped.
    const edge = hubServiceOn(db, [NEW_KEY]);
    expect(edge.identify(rotating.hub.id)).toMatchObject({ ok: true, secrets: [currentSecret, previousSecret] });
    expect(edge.identify(plain.hub.id)).toMatchObject({ ok: true, secrets: [plain.secret] });
    expect(edge.identify(revoked.hub.id)).toMatchObject({ ok: false });
    expect(rotateEncryptionKey({ db, endpoints, hubs, headers: createSealedHeaderStore(db), destinations: createDestinationStore(db), box: newOnly })).toEqual({
      endpoints: { sealed: 1, resealed: 0, current: 1 },
      hubs: { sealed: 3, resealed: 0, current: 3 },
      headers: { sealed: 0, resealed: 0, current: 0 },
      policyHeaders: { sealed: 0, resealed: 0, current: 0 },
    });
  });

  it("changes nothing when a secret cannot be opened (previous key missing)", async () => {
    const dir = tempDir();
    const db = open(join(dir, "hookly.db"));
    await seed(db, { endpoints: 3, perEndpoint: 0 });
    const store = createEndpointStore(db);
    const before = store.list().map((e) => e.sealedSecret);
    const hubs = createHubCredentialStore(db);
    expect(() =>
      rotateEncryptionKey({
        db,
        endpoints: store,
        hubs,
        headers: createSealedHeaderStore(db),
        destinations: createDestinationStore(db),
        box: createSecretBox([NEW_KEY]),
      }),
    ).toThrow(/ENCRYPTION_KEY_PREVIOUS.*nothing was changed/);
    expect(store.list().map((e) => e.sealedSecret)).toEqual(before);
  });

  it("changes nothing, endpoints included, when a hub credential cannot be opened", async () => {
    const dir = tempDir();
    const db = open(join(dir, "hookly.db"));
    await seed(db, { endpoints: 2, perEndpoint: 0 });
    const { hub } = hubServiceOn(db, ["33".repeat(32)]).create({ name: "sealed with a lost key" });
    const endpoints = createEndpointStore(db);
    const hubs = createHubCredentialStore(db);
    const before = { endpoints: endpoints.list(), hubs: hubs.list() };
    expect(() =>
      rotateEncryptionKey({
        db,
        endpoints,
        hubs,
        headers: createSealedHeaderStore(db),
        destinations: createDestinationStore(db),
        box: createSecretBox([NEW_KEY, OLD_KEY]),
      }),
    ).toThrow(new RegExp(`cannot open 1 sealed secret\\(s\\): ${hub.id} .*nothing was changed`));
    expect({ endpoints: endpoints.list(), hubs: hubs.list() }).toEqual(before);
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
    [["hubs"], 2, /hubs needs a command: list, create, rename, revoke, rotate, retire/],
    [["hubs", "delete", "hub_x"], 2, /unknown command "hubs delete"/],
    [["hubs", "create"], 2, /hubs create takes <name>/],
    [["hubs", "rename", "hub_x"], 2, /hubs rename takes <id> <name>/],
    [["hubs", "list", "--all"], 2, /unknown option --all for hubs list/],
    [["hubs", "list"], 2, /ENCRYPTION_KEY: is required/],
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

  /** An edge's environment for a fresh database with `seed`ed endpoints. */
  async function edgeEnv(opts: { key?: string } = {}) {
    const dir = tempDir();
    const dbPath = join(dir, "hookly.db");
    const db = open(dbPath);
    await seed(db, { endpoints: 2, perEndpoint: 1 });
    db.close();
    return { DATABASE_PATH: dbPath, ENCRYPTION_KEY: opts.key ?? OLD_KEY, BASE_URL: "https://hooks.example.com/", HOME_HUB_SECRET: "h".repeat(32) };
  }

  it("hubs create prints the credential once, which the edge then accepts; list, rename, rotate and retire never print it", async () => {
    const env = await edgeEnv();
    const c = capture();
    expect(await run(["hubs", "create", "garage pi"], env, c.io)).toBe(0);
    const printed = c.out.join("");
    const id = /HUB_ID=(hub_\S+)/.exec(printed)![1]!;
    const secret = /HUB_SECRET=(\S+)/.exec(printed)![1]!;
    expect(printed).toContain("shown this once");
    expect(printed).toContain(`EDGE_URL=https://hooks.example.com\nHUB_ID=${id}\nHUB_SECRET=${secret}\n`);
    expect(printed).toContain(`      HUB_SECRET: ${secret}\n`);
    expect(printed.split(secret)).toHaveLength(3);
    const db = open(env.DATABASE_PATH);
    expect(hubServiceOn(db, [OLD_KEY]).identify(id)).toMatchObject({ ok: true, secrets: [secret] });

    const later = capture();
    expect(await run(["hubs", "rename", id, "shed pi"], env, later.io)).toBe(0);
    expect(later.out.join("")).toBe(`hub ${id} renamed to "shed pi"\n`);
    expect(await run(["hubs", "list"], env, later.io)).toBe(0);
    const rows = later.out.at(-1)!.trim().split("\n");
    expect(rows[0]).toMatch(/^ID\s+NAME\s+STATE\s+DESTINATIONS\s+LAST SEEN\s+VERSION$/);
    expect(rows[1]).toMatch(/^hub_bootstrap\s+home\s+bootstrap \(HOME_HUB_SECRET\)\s+2\s+never\s+-$/);
    expect(rows[2]).toMatch(new RegExp(`^${id}\\s+shed pi\\s+active\\s+0\\s+never\\s+-$`));

    const rotation = capture();
    expect(await run(["hubs", "rotate", id], env, rotation.io)).toBe(0);
    const fresh = /HUB_SECRET=(\S+)/.exec(rotation.out.join(""))![1]!;
    expect(fresh).not.toBe(secret);
    expect(rotation.out.join("")).toContain(`stays valid until \`hookly hubs retire ${id}\``);
    expect(hubServiceOn(db, [OLD_KEY]).identify(id)).toMatchObject({ ok: true, secrets: [fresh, secret] });
    expect(await run(["hubs", "list"], env, later.io)).toBe(0);
    expect(later.out.at(-1)).toMatch(/rotating/);
    expect(await run(["hubs", "retire", id], env, later.io)).toBe(0);
    expect(hubServiceOn(db, [OLD_KEY]).identify(id)).toMatchObject({ ok: true, secrets: [fresh] });
    expect(later.out.join("") + later.err.join("")).not.toContain(secret);
    expect(later.out.join("") + later.err.join("")).not.toContain(fresh);
  });

  it("hubs revoke refuses the hub from its next connection, and says when that is", async () => {
    const env = await edgeEnv();
    const c = capture();
    expect(await run(["hubs", "create", "lost phone"], env, c.io)).toBe(0);
    const id = /HUB_ID=(hub_\S+)/.exec(c.out.join(""))![1]!;
    const revoke = capture();
    expect(await run(["hubs", "revoke", id], env, revoke.io)).toBe(0);
    expect(revoke.out.join("")).toMatch(/revoked.*\n.*next connection.*stays until then/);
    const db = open(env.DATABASE_PATH);
    expect(hubServiceOn(db, [OLD_KEY]).identify(id)).toEqual({ ok: false, reason: `hub ${id} is revoked` });
    expect(await run(["hubs", "list"], env, revoke.io)).toBe(0);
    expect(revoke.out.at(-1)).toMatch(new RegExp(`${id}\\s+lost phone\\s+revoked \\d{4}-`));
  });

  it.each([
    [["hubs", "revoke", "hub_nope"], 1, /hub "hub_nope" not found/],
    [["hubs", "rotate", "hub_bootstrap"], 1, /HOME_HUB_SECRET/],
    [["hubs", "retire", "hub_bootstrap"], 1, /no previous credential to retire/],
    [["hubs", "create", "  "], 2, /name is required/],
  ] as const)("%j exits %i without printing a credential", async (argv, code, message) => {
    const env = await edgeEnv();
    const c = capture();
    expect(await run([...argv], env, c.io)).toBe(code);
    expect(c.err.join("")).toMatch(message);
    expect(c.out.join("")).toBe("");
  });

  it("hubs refuse a database from before hubs, and verify reports hubs and destinations when there are", async () => {
    const dir = tempDir();
    const old = join(dir, "old.db");
    copyFileSync(V010_DB, old);
    const c = capture();
    expect(await run(["hubs", "list"], { DATABASE_PATH: old, ENCRYPTION_KEY: OLD_KEY }, c.io)).toBe(1);
    expect(c.err.join("")).toMatch(/schema version 5; this command needs 6: start the edge of this release once/);
    expect(await run(["verify", old], {}, c.io)).toBe(0);
    expect(c.out.at(-1)).toMatch(/^integrity ok; schema version 5; \d+ endpoints, \d+ webhooks \(\d+ pending\)\n$/);

    const env = await edgeEnv();
    expect(await run(["hubs", "create", "second"], env, c.io)).toBe(0);
    expect(await run(["verify", env.DATABASE_PATH], {}, c.io)).toBe(0);
    expect(c.out.at(-1)).toMatch(/; 2 endpoints, 2 webhooks \(2 pending\); 2 destinations, 2 hubs\n$/);
  });

  it("rotate-key re-seals hub credentials too", async () => {
    const env = await edgeEnv({ key: OLD_KEY });
    const c = capture();
    expect(await run(["hubs", "create", "garage"], env, c.io)).toBe(0);
    const id = /HUB_ID=(hub_\S+)/.exec(c.out.join(""))![1]!;
    const secret = /HUB_SECRET=(\S+)/.exec(c.out.join(""))![1]!;
    const rotated = capture();
    expect(await run(["rotate-key"], { ...env, ENCRYPTION_KEY: NEW_KEY, ENCRYPTION_KEY_PREVIOUS: OLD_KEY }, rotated.io)).toBe(0);
    expect(rotated.out.join("")).toMatch(/1 endpoint secret\(s\): 1 re-sealed.*\n1 hub credential\(s\): 1 re-sealed with ENCRYPTION_KEY, 0 already were\n/);
    expect(rotated.out.join("")).not.toContain(secret);
    expect(hubServiceOn(open(env.DATABASE_PATH), [NEW_KEY]).identify(id)).toMatchObject({ ok: true, secrets: [secret] });
  });

  it("re-seals the sealed headers of stored webhooks, and the forward opens them with the new key alone", async () => {
    const dir = tempDir();
    const db = open(join(dir, "hookly.db"));
    await seed(db, { endpoints: 2, perEndpoint: 2 });
    const old = createHeaderSealer(createSecretBox([OLD_KEY]), []);
    const stored = old.seal([
      ["Content-Type", "application/json"],
      ["X-Telegram-Bot-Api-Secret-Token", "tg-secret-123"],
      ["Authorization", "Bearer provider-token"],
    ]);
    db.prepare(`UPDATE webhook_body SET headers = ? WHERE webhook_seq = (SELECT min(webhook_seq) FROM webhook_body)`).run(JSON.stringify(stored));
    const headers = createSealedHeaderStore(db);
    expect(headers.list()).toHaveLength(1);
    const box = createSecretBox([NEW_KEY, OLD_KEY]);
    // A destination's policy headers, sealed with the old key too.
    const oldDestinations = createDestinationStore(db, createSecretBox([OLD_KEY]));
    const [dst] = oldDestinations.all();
    oldDestinations.update({ ...dst!, policy: { ...DEFAULT_POLICY, headers: [["Authorization", "Bearer lan-secret"]] } });
    const r = rotateEncryptionKey({
      db,
      endpoints: createEndpointStore(db),
      hubs: createHubCredentialStore(db),
      headers,
      destinations: createDestinationStore(db),
      box,
    });
    expect(r.headers).toEqual({ sealed: 1, resealed: 1, current: 0 });
    expect(r.policyHeaders).toEqual({ sealed: 1, resealed: 1, current: 0 });
    expect(createDestinationStore(db, createSecretBox([NEW_KEY])).get(dst!.id)!.policy.headers).toEqual([["Authorization", "Bearer lan-secret"]]);
    const [after] = headers.list();
    expect(createHeaderSealer(createSecretBox([NEW_KEY]), []).open(after!.headers)).toEqual([
      ["Content-Type", "application/json"],
      ["X-Telegram-Bot-Api-Secret-Token", "tg-secret-123"],
      ["Authorization", "Bearer provider-token"],
    ]);
  });
});
