/**
 * The hub registry on a real (temp) database: credentials sealed at rest and
 * shown once, revoke, rotation with both credentials valid until retired, and
 * how a stream open's claimed id is resolved.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createSecretBox } from "../crypto/secret-box.js";
import { openDatabase, type Db } from "../db/db.js";
import { EdgeEvents } from "../events.js";
import { BOOTSTRAP_HUB_ID, createHubService } from "./hub.service.js";
import { createHubStore } from "./hub.store.js";

const KEY = "ab".repeat(32);
let dir: string;
let db: Db;

afterEach(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

function setup(bootstrapSecrets: string[] = ["bootstrap-secret-0123456789abcdef0123"]) {
  dir = mkdtempSync(join(tmpdir(), "hookly-hubs-"));
  db = openDatabase(join(dir, "t.db"));
  const events = new EdgeEvents();
  const seen: { hubId: string; revoked?: boolean }[] = [];
  events.on("hub.registry", (e) => seen.push(e));
  let now = 1_000;
  const hubs = createHubService({
    store: createHubStore(db),
    box: createSecretBox([KEY]),
    clock: { now: () => now },
    events,
    log: pino({ level: "silent" }),
    bootstrapSecrets,
    baseUrl: "https://edge.example",
  });
  return { hubs, seen, tick: (ms: number) => (now += ms) };
}

describe("hub registry", () => {
  it("has the bootstrap hub from the migration, authenticated by HOME_HUB_SECRET", () => {
    const { hubs } = setup();
    expect(hubs.list().map((h) => [h.id, h.bootstrap, h.hasCredential])).toEqual([[BOOTSTRAP_HUB_ID, true, true]]);
    expect(hubs.identify("my-nas")).toEqual({ ok: true, hubId: BOOTSTRAP_HUB_ID, name: "home", secrets: ["bootstrap-secret-0123456789abcdef0123"] });
  });

  it("says the bootstrap hub cannot connect when HOME_HUB_SECRET is not set", () => {
    const { hubs } = setup([]);
    expect(hubs.identify("home")).toMatchObject({ ok: false, reason: expect.stringMatching(/HOME_HUB_SECRET is not set/) });
    expect(hubs.list()[0]!.hasCredential).toBe(false);
  });

  it("creates a hub whose credential is shown once and stored only sealed", () => {
    const { hubs } = setup();
    const c = hubs.create({ name: " office " });
    expect(c.hub).toMatchObject({ name: "office", bootstrap: false, revoked: false, hasCredential: true });
    expect(c.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(c.env).toContain(`HUB_ID=${c.hub.id}\nHUB_SECRET=${c.secret}`);
    expect(c.env).toContain("EDGE_URL=https://edge.example");
    expect(c.compose).toContain(`HUB_SECRET: ${c.secret}`);
    expect(JSON.stringify(hubs.list())).not.toContain(c.secret);
    db.pragma("wal_checkpoint(TRUNCATE)");
    expect(readFileSync(join(dir, "t.db")).includes(Buffer.from(c.secret))).toBe(false);
    expect(hubs.identify(c.hub.id)).toEqual({ ok: true, hubId: c.hub.id, name: "office", secrets: [c.secret] });
  });

  it("refuses an unknown hub_ id instead of taking it for the bootstrap hub", () => {
    const { hubs } = setup();
    expect(hubs.identify("hub_doesnotexist12345")).toMatchObject({ ok: false, reason: expect.stringMatching(/not registered/) });
  });

  it("rotates: old and new credentials both open until the old one is retired", () => {
    const { hubs, tick } = setup();
    const c = hubs.create({ name: "home" });
    tick(10);
    const r = hubs.rotate(c.hub.id);
    expect(r.secret).not.toBe(c.secret);
    expect(r.hub.previousCredentialValid).toBe(true);
    expect(hubs.identify(c.hub.id)).toMatchObject({ ok: true, secrets: [r.secret, c.secret] });
    expect(() => hubs.rotate(c.hub.id)).toThrow(/already rotating/);
    hubs.retire(c.hub.id);
    expect(hubs.identify(c.hub.id)).toMatchObject({ ok: true, secrets: [r.secret] });
    expect(() => hubs.retire(c.hub.id)).toThrow(/no previous credential/);
  });

  it("will not rotate the bootstrap hub (its credential is HOME_HUB_SECRET)", () => {
    const { hubs } = setup();
    expect(() => hubs.rotate(BOOTSTRAP_HUB_ID)).toThrow(/HOME_HUB_SECRET/);
  });

  it("revokes: the open is refused, the credentials are forgotten, and listeners hear of it", () => {
    const { hubs, seen } = setup();
    const c = hubs.create({ name: "old laptop" });
    const v = hubs.revoke(c.hub.id);
    expect(v).toMatchObject({ revoked: true, hasCredential: false });
    expect(hubs.identify(c.hub.id)).toMatchObject({ ok: false, reason: `hub ${c.hub.id} is revoked` });
    expect(seen.at(-1)).toEqual({ hubId: c.hub.id, revoked: true });
    expect(() => hubs.revoke(c.hub.id)).toThrow(/already revoked/);
    expect(() => hubs.checkUsable(c.hub.id)).toThrow(/revoked/);
    const row = db.prepare("SELECT secret, previous_secret FROM hub WHERE id = ?").get(c.hub.id);
    expect(row).toEqual({ secret: null, previous_secret: null });
  });

  it("picks the default hub for a destination: bootstrap, else the only one, else asks", () => {
    const { hubs } = setup([]);
    expect(() => hubs.defaultHubId()).not.toThrow();
    expect(hubs.defaultHubId()).toBe(BOOTSTRAP_HUB_ID);
    const a = hubs.create({ name: "a" });
    expect(() => hubs.defaultHubId()).toThrow(/hub_id is required/);
    hubs.revoke(BOOTSTRAP_HUB_ID);
    expect(hubs.defaultHubId()).toBe(a.hub.id);
  });

  it("validates names and ids", () => {
    const { hubs } = setup();
    expect(() => hubs.create({ name: "  " })).toThrow(/name is required/);
    expect(() => hubs.create({ name: "x".repeat(101) })).toThrow(/longer than 100/);
    expect(() => hubs.rename("hub_nope_nope_nope", "x")).toThrow(/not found/);
    expect(() => hubs.get("ep_notahub")).toThrow(/not found/);
  });

  it("records connection details and keeps last seen after a disconnect", () => {
    const { hubs } = setup();
    hubs.noteConnected(BOOTSTRAP_HUB_ID, { at: 5_000, version: "0.2.0", transport: "h2c", remoteAddress: "203.0.113.7", reportedId: "nas", allowlist: "none" });
    hubs.noteSeen(BOOTSTRAP_HUB_ID, 9_000);
    hubs.noteDisconnected(BOOTSTRAP_HUB_ID, 10_000, 9_500);
    expect(hubs.get(BOOTSTRAP_HUB_ID)).toMatchObject({
      allowlist: "none",
      lastConnectedAt: 5_000,
      lastSeenAt: 9_500,
      lastDisconnectedAt: 10_000,
      version: "0.2.0",
      transport: "h2c",
      remoteAddress: "203.0.113.7",
      reportedId: "nas",
    });
  });
});
