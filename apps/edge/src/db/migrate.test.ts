/**
 * Migration 006 on a schema-5 database built here (the committed 0.1.0
 * fixture is exercised end to end in test/integration/hubs.test.ts): event
 * types are filled in by the ingest rules, and every webhook keeps its body,
 * status and attempts.
 */
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { migrate, readMigrations } from "./db.js";

function schema5() {
  const db = new Database(":memory:");
  db.pragma("foreign_keys = ON");
  migrate(
    db,
    readMigrations().filter((m) => m.version <= 5),
  );
  db.exec(`INSERT INTO endpoint (id, name, provider_type, destination_url, created_at, updated_at) VALUES
    ('ep_gh', 'g', 'github', 'http://x/gh', 0, 0), ('ep_tg', 't', 'telegram', 'http://x/tg', 0, 0), ('ep_gen', 'n', 'generic', 'http://x/gen', 0, 0)`);
  const ins = db.prepare(
    `INSERT INTO webhook (id, endpoint_id, received_at, method, payload_size, signature_valid, status, attempts, next_attempt_at, deliver_by)
     VALUES (?, ?, 0, 'POST', ?, 1, ?, ?, 0, 99)`,
  );
  const body = db.prepare(`INSERT INTO webhook_body (webhook_seq, headers, payload) VALUES (?, ?, ?)`);
  const add = (id: string, ep: string, headers: [string, string][], payload: Buffer | string, status = "pending", attempts = 0) => {
    const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    const r = ins.run(id, ep, p.length, status, attempts);
    body.run(r.lastInsertRowid, JSON.stringify(headers), p);
  };
  add("wh_1", "ep_gh", [["X-GitHub-Event", "issues"]], '{"action":"opened"}', "delivered", 1);
  add("wh_2", "ep_gh", [["x-github-event", "push"]], '{"ref":"refs/heads/main"}');
  add("wh_3", "ep_gh", [["X-GitHub-Event", "ping"]], "not json");
  add("wh_4", "ep_tg", [], '{"update_id":1,"callback_query":{"id":"x"}}', "failed", 1);
  add("wh_5", "ep_gen", [], '{"type":"user.created"}');
  add("wh_6", "ep_gen", [], Buffer.from([0xff, 0xfe, 0x00, 0x7b]));
  add("wh_7", "ep_gen", [], '{"type":{"nested":true}}');
  return db;
}

describe("migration 006", () => {
  it("fills in event types the way ingest works them out", () => {
    const db = schema5();
    migrate(db);
    expect(db.prepare(`SELECT id, event_type FROM webhook ORDER BY seq`).all()).toEqual([
      { id: "wh_1", event_type: "issues.opened" },
      { id: "wh_2", event_type: "push" },
      { id: "wh_3", event_type: "ping" },
      { id: "wh_4", event_type: "callback_query" },
      { id: "wh_5", event_type: "user.created" },
      { id: "wh_6", event_type: null },
      { id: "wh_7", event_type: null },
    ]);
  });

  it("gives every endpoint one destination on the bootstrap hub and every webhook its delivery, losing nothing", () => {
    const db = schema5();
    migrate(db);
    expect(db.prepare(`SELECT endpoint_id, hub_id, url FROM destination ORDER BY endpoint_id`).all()).toEqual([
      { endpoint_id: "ep_gen", hub_id: "hub_bootstrap", url: "http://x/gen" },
      { endpoint_id: "ep_gh", hub_id: "hub_bootstrap", url: "http://x/gh" },
      { endpoint_id: "ep_tg", hub_id: "hub_bootstrap", url: "http://x/tg" },
    ]);
    const rows = db
      .prepare(`SELECT w.id, w.status, d.status AS delivery, d.attempts, d.deliver_by, length(b.payload) AS bytes
                FROM webhook w JOIN delivery d ON d.webhook_seq = w.seq JOIN webhook_body b ON b.webhook_seq = w.seq ORDER BY w.seq`)
      .all() as { id: string; status: string; delivery: string; attempts: number; deliver_by: number; bytes: number }[];
    expect(rows).toHaveLength(7);
    expect(rows.map((r) => [r.id, r.status, r.delivery, r.attempts])).toContainEqual(["wh_1", "delivered", "delivered", 1]);
    expect(rows.map((r) => [r.id, r.status, r.delivery, r.attempts])).toContainEqual(["wh_4", "failed", "failed", 1]);
    expect(rows.every((r) => r.deliver_by === 99 && r.bytes > 0)).toBe(true);
    expect(db.pragma("foreign_key_check")).toEqual([]);
    expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
  });

  it("leaves foreign keys on and the database at the last good version when a rebuild fails", () => {
    const db = schema5();
    const bad = { version: 6, name: "006_bad.sql", sql: "-- hookly: foreign_keys=off\nCREATE TABLE x (a INTEGER);\nSELECT no_such_function();" };
    expect(() => migrate(db, [...readMigrations().filter((m) => m.version <= 5), bad])).toThrow(/no_such_function/);
    expect(db.pragma("user_version", { simple: true })).toBe(5);
    expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(db.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE name = 'x'`).get()).toEqual({ n: 0 });
  });
});
