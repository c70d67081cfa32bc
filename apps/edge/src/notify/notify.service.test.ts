/**
 * The alerts service as a plain object: an in-memory database, a moved clock,
 * a fake sender, and the real storage service on the same database (its timer
 * off: a test calls `storage.check()` where the timer would). Storage faults
 * are real SQLite errors: `PRAGMA query_only` makes every write fail with
 * SQLITE_READONLY while reads work. The end-to-end cases (real edge, hub, fake
 * Bot API) are in test/integration/alerts.test.ts.
 */
import Database from "better-sqlite3";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { migrate, openDatabase, readMigrations, type Db } from "../db/db.js";
import { EdgeEvents } from "../events.js";
import { createStorageService, type StorageService } from "../storage/storage.service.js";
import { createStorageStore } from "../storage/storage.store.js";
import type { FinalFailure, RelayService } from "../relay/relay.service.js";
import { escapeHtml, formatDuration } from "./notify.message.js";
import { createNotifyService, type AlertSend, type NotifyOptions } from "./notify.service.js";
import { createAlertStore } from "./notify.store.js";
import { describeTelegramError, redactToken } from "./notify.extension.js";
import { GrammyError, HttpError } from "grammy";
import { TEST_SECRETS } from "../../../../test/harness.js";
import { ConfigError, loadConfig } from "../config.js";

const WINDOW = 60_000;
const open: { db: Db; stop: () => Promise<void> }[] = [];
afterEach(async () => {
  while (open.length) {
    const o = open.pop()!;
    await o.stop();
    o.db.close();
  }
});

function harness(
  opts: { db?: Db; connected?: boolean; send?: AlertSend; options?: Partial<NotifyOptions>; beforeStart?: (storage: StorageService) => void } = {},
) {
  const db = opts.db ?? openDatabase(":memory:");
  const clock = {
    t: 1_700_000_000_000,
    now() {
      return this.t;
    },
  };
  const events = new EdgeEvents();
  const sent: string[] = [];
  const lines: { msg: string; [k: string]: unknown }[] = [];
  const log = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  let connected = opts.connected ?? true;
  const relay = { isConnected: () => connected } as Pick<RelayService, "isConnected">;
  const storage = createStorageService({ store: createStorageStore(db), events, log, policy: { minFreeBytes: 0 } });
  const service = createNotifyService({
    store: createAlertStore(db),
    clock,
    log,
    events,
    endpoints: { find: (id: string) => (id === "ep_gone" ? undefined : ({ name: `name of ${id}` } as never)) },
    relay,
    storage,
    hubs: () => [{ id: "hub_bootstrap", name: "home", bootstrap: true, everConnected: true, destinations: 1, queued: 3 }],
    baseUrl: "https://hooks.example.test",
    send: opts.send ?? (async (html) => void sent.push(html)),
    options: { groupWindowMs: WINDOW, hubDownAfterMs: 300_000, pollIntervalMs: 60_000, retryInitialMs: 1, retryMaxMs: 1, ...opts.options },
  });
  opts.beforeStart?.(storage);
  service.start();
  const stop = () => service.stop();
  open.push({ db, stop });
  const hub = (up: boolean) => {
    connected = up;
    events.emit("hub.changed", { hubId: "hub_bootstrap", connected: up });
  };
  return { db, clock, events, storage, service, sent, lines, hub, stop };
}

const failure = (n: number, over: Partial<FinalFailure> = {}): FinalFailure => ({
  webhookId: `wh_${n}`,
  endpointId: "ep_a",
  destinationId: "dst_a",
  hubId: "hub_bootstrap",
  eventType: null,
  status: "failed",
  attempts: 1,
  statusCode: 400,
  error: "HTTP 400",
  ...over,
});

describe("alert messages", () => {
  it("escapes every interpolated value", () => {
    expect(escapeHtml(`<a href="x">&</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
  });

  it("formats durations for people", () => {
    expect([45_000, 300_000, 3_900_000, 3 * 86_400_000].map(formatDuration)).toEqual(["45 s", "5 min", "1 h 5 min", "3 d 0 h"]);
  });
});

describe("alerts service", () => {
  it("names the event type and the destination of a single failure", async () => {
    const h = harness({ options: { groupWindowMs: 0 } });
    h.service.recordFailure(failure(1, { eventType: "invoice.paid", destinationId: "dst_ci" }));
    await h.service.tick();
    expect(h.sent[0]).toContain("on <b>name of ep_a</b> (invoice.paid) → <code>dst_ci</code>");
  });

  it("sends one message per endpoint per window, at the window's end", async () => {
    const h = harness();
    h.service.recordFailure(failure(1));
    h.clock.t += 10_000;
    h.service.recordFailure(failure(2, { statusCode: 0, error: "connection refused <tcp>" }));
    h.service.recordFailure(failure(3, { endpointId: "ep_b" }));
    await h.service.tick();
    expect(h.sent).toHaveLength(0);

    h.clock.t += WINDOW - 10_000;
    await h.service.tick();
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]).toContain("2 webhooks failed</b> on <b>name of ep_a</b>");
    expect(h.sent[0]).toContain("wh_1");
    expect(h.sent[0]).toContain("connection refused &lt;tcp&gt; after 1 attempt");
    // ep_b's window opened 10 s later, so it ends 10 s later.
    h.clock.t += 10_000;
    await h.service.tick();
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]).toContain("<b>Webhook failed</b> on <b>name of ep_b</b>");

    // The next failure opens a new window.
    h.service.recordFailure(failure(4));
    await h.service.tick();
    expect(h.sent).toHaveLength(2);
    h.clock.t += WINDOW;
    await h.service.tick();
    expect(h.sent).toHaveLength(3);
    expect(h.sent[2]).toContain("wh_4");
    expect(h.sent[2]).not.toContain("wh_1");
  });

  it("says at once, naming the hub and URL, when a hub refuses a destination", async () => {
    const h = harness();
    h.service.recordHeld({
      destinationId: "dst_a",
      endpointId: "ep_a",
      hubId: "hub_office",
      url: "http://printer.lan:631/",
      error: "printer.lan:631 is not in HUB_ALLOWED_DESTINATIONS",
    });
    await h.service.tick();
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]).toContain("<b>Destination held</b> on <b>name of ep_a</b>: hub <code>hub_office</code> refuses http://printer.lan:631/");
    expect(h.sent[0]).toContain("none is failed");
    expect(h.sent[0]).toContain('href="https://hooks.example.test/endpoints/ep_a"');
  });

  it("keeps the endpoint's name from the time of the failure, and copes with deleted endpoints", async () => {
    const h = harness({ options: { groupWindowMs: 0 } });
    h.service.recordFailure(
      failure(1, { endpointId: "ep_gone", status: "dead_letter", statusCode: 0, error: "not delivered before the dead-letter deadline", attempts: 7 }),
    );
    await h.service.tick();
    expect(h.sent[0]).toContain("<b>ep_gone</b>");
    expect(h.sent[0]).toContain("dead-lettered (not delivered before the dead-letter deadline) after 7 attempts");
  });

  it("times out a hanging Telegram, backs off, logs once, and sends everything when it recovers", async () => {
    let mode: "hang" | "ok" = "hang";
    const sent: string[] = [];
    let calls = 0;
    let abandoned = 0;
    const send: AlertSend = (html, signal) =>
      mode === "ok"
        ? Promise.resolve(void sent.push(html))
        : new Promise((_, reject) => {
            calls++;
            signal.addEventListener("abort", () => {
              abandoned++;
              reject(new Error("Telegram did not answer"));
            });
          });
    const h = harness({ send, options: { groupWindowMs: 0, sendTimeoutMs: 30 } });
    for (let n = 0; n < 3; n++) {
      h.service.recordFailure(failure(n));
      // a tick returns once the send timeout has aborted its hanging calls (or, backing off, makes none)
      await h.service.tick();
      expect(abandoned).toBe(calls);
    }
    expect(calls).toBeGreaterThan(0);
    expect(h.lines.filter((l) => l.msg.startsWith("Telegram alerts failing"))).toHaveLength(1);
    mode = "ok";
    await new Promise((r) => setTimeout(r, 5));
    await h.service.tick();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain("3 webhooks failed");
    expect(h.lines.filter((l) => l.msg === "Telegram alerts recovered")).toHaveLength(1);
  });

  it("alerts on a hub down past the threshold and back, even across a restart", async () => {
    const db = openDatabase(":memory:");
    const first = harness({ db });
    first.hub(false);
    first.clock.t += 299_000;
    await first.service.tick();
    expect(first.sent).toHaveLength(0);
    first.clock.t += 1_000;
    await first.service.tick();
    expect(first.sent).toHaveLength(1);
    expect(first.sent[0]).toContain("<b>Hub</b> <b>home</b> (<code>hub_bootstrap</code>) <b>disconnected</b> for 5 min");
    expect(first.sent[0]).toContain("3 webhooks wait for it");
    await first.service.tick();
    expect(first.sent).toHaveLength(1);
    await first.stop();
    open.splice(
      open.findIndex((o) => o.db === db),
      1,
    );

    // A new process: the down alert is still open, so a reconnect reports "back".
    const second = harness({ db, connected: false });
    second.clock.t = first.clock.t + 600_000;
    await second.service.tick();
    expect(second.sent).toHaveLength(0);
    second.hub(true);
    await second.service.tick();
    expect(second.sent).toHaveLength(1);
    expect(second.sent[0]).toContain("<b>connected again</b> after 15 min");
  });

  it("sends nothing for a hub that comes back before the threshold", async () => {
    const h = harness();
    h.hub(false);
    h.clock.t += 200_000;
    h.hub(true);
    h.clock.t += 200_000;
    await h.service.tick();
    expect(h.sent).toHaveLength(0);
  });

  it("does not send a group twice when the process stops and starts again", async () => {
    const db = openDatabase(":memory:");
    const first = harness({ db, options: { groupWindowMs: 0 } });
    first.service.recordFailure(failure(1));
    await first.service.tick();
    expect(first.sent).toHaveLength(1);
    await first.stop();
    open.splice(
      open.findIndex((o) => o.db === db),
      1,
    );
    const second = harness({ db, options: { groupWindowMs: 0 } });
    await second.service.tick();
    expect(second.sent).toHaveLength(0);
  });
});

describe("storage alerts", () => {
  const full = () => new Database.SqliteError("database or disk is full", "SQLITE_FULL");
  const readOnly = (db: Db, on: boolean) => db.pragma(`query_only = ${on ? "ON" : "OFF"}`);

  it("sends one message when an outage starts, with the summary, and one when it ends, with its length", async () => {
    const h = harness();
    h.storage.failed("ingest", full());
    h.storage.failed("ingest", full());
    h.storage.failed("admin", full());
    await h.service.tick();
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]).toMatch(/^⚠️ <b>Storage degraded<\/b> since \d{4}-/);
    expect(h.sent[0]).toContain("Storage full; ingest refused since");
    expect(h.sent[0]).toContain('href="https://hooks.example.test/status"');

    h.storage.check(); // the probe writes: the outage is over
    expect(h.storage.status().healthy).toBe(true);
    await h.service.tick();
    await h.service.tick();
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]).toMatch(/^✅ <b>Storage recovered<\/b> after \d+ s/);
    expect(h.lines.filter((l) => l.msg.includes("could not"))).toEqual([]);
  });

  it("sends the storage alert directly while the outbox cannot be written, and a failure recorded meanwhile once it can", async () => {
    const h = harness({ options: { groupWindowMs: 0 } });
    readOnly(h.db, true);
    const failedAt = h.clock.t;
    expect(() => h.service.recordFailure(failure(1))).not.toThrow();
    expect(h.storage.status().faults.map((f) => [f.area, f.code])).toEqual([["alerts", "SQLITE_READONLY"]]);
    // Writable again according to an event, but it is not: nothing throws out of the listener.
    expect(() => h.events.emit("storage.changed", { degraded: true, writable: true })).not.toThrow();

    await h.service.tick();
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]).toContain("<b>Storage degraded</b>");
    expect(h.sent[0]).toContain("Storage refuses writes (SQLITE_READONLY); failing: alerts");
    await h.service.tick();
    expect(h.sent, "the failure waits for the outbox; the storage alert is not sent twice").toHaveLength(1);

    readOnly(h.db, false);
    h.clock.t += 5_000;
    h.storage.check();
    await h.service.tick();
    await h.service.tick();
    expect(h.sent).toHaveLength(3);
    expect(h.sent[1]).toContain("<b>Webhook failed</b> on <b>name of ep_a</b>");
    expect(h.sent[1]).toContain("wh_1");
    expect(h.sent[2]).toContain("<b>Storage recovered</b>");
    expect(h.db.prepare(`SELECT created_at FROM alert WHERE kind = 'webhook_failed'`).all()).toEqual([{ created_at: failedAt }]);
    expect(createAlertStore(h.db).unsentCount()).toBe(0);
    expect(h.storage.status().healthy).toBe(true);
  });

  it("retries the outbox on every pass, without waiting for the storage probe, and sends each message once", async () => {
    const h = harness({ options: { groupWindowMs: 0 } });
    readOnly(h.db, true);
    h.service.recordFailure(failure(1));
    await h.service.tick();
    readOnly(h.db, false);
    // The pass writes the failure; that ends the outage (alerts were its only fault) in the middle of the pass.
    await h.service.tick();
    await h.service.tick();
    expect(h.sent.map((m) => m.split("\n")[0])).toEqual([
      expect.stringContaining("Storage degraded"),
      expect.stringContaining("Webhook failed"),
      expect.stringContaining("Storage recovered"),
    ]);
    expect(h.storage.status().healthy).toBe(true);
  });

  it("keeps a failure recorded during the outage in its endpoint's group window", async () => {
    const h = harness();
    h.service.recordFailure(failure(1));
    readOnly(h.db, true);
    h.clock.t += 10_000;
    h.service.recordFailure(failure(2));
    h.service.recordFailure(failure(3));
    readOnly(h.db, false);
    h.storage.check();
    await h.service.tick();
    expect(h.sent.map((m) => m.split("\n")[0])).toEqual([expect.stringContaining("Storage degraded"), expect.stringContaining("Storage recovered")]);
    h.clock.t += WINDOW - 10_000;
    await h.service.tick();
    expect(h.sent).toHaveLength(3);
    expect(h.sent[2]).toContain("3 webhooks failed</b> on <b>name of ep_a</b>");
  });

  it("writes hub and held-destination alerts refused by the outbox once it takes writes", async () => {
    const h = harness();
    readOnly(h.db, true);
    h.hub(false);
    h.clock.t += 300_000;
    await h.service.tick(); // the hub check runs: its "down" row cannot be written
    h.service.recordHeld({ destinationId: "dst_a", endpointId: "ep_a", hubId: "hub_office", url: "http://printer.lan/", error: "not allowed" });
    expect(h.sent.map((m) => m.split("\n")[0])).toEqual([expect.stringContaining("Storage degraded")]);
    readOnly(h.db, false);
    h.storage.check();
    await h.service.tick();
    expect(h.sent.map((m) => m.split("\n")[0])).toEqual([
      expect.stringContaining("Storage degraded"),
      expect.stringContaining("<b>disconnected</b> for 5 min"),
      expect.stringContaining("Destination held"),
      expect.stringContaining("Storage recovered"),
    ]);
  });

  it("does not send a message again while it cannot be marked sent", async () => {
    const sent: string[] = [];
    let h: ReturnType<typeof harness> | undefined;
    // Telegram accepts the first message, and the disk fills up before it is marked sent.
    const send: AlertSend = async (html) => {
      sent.push(html);
      if (sent.length === 1) readOnly(h!.db, true);
    };
    h = harness({ send, options: { groupWindowMs: 0 } });
    h.service.recordFailure(failure(1));
    for (let n = 0; n < 4; n++) await h.service.tick();
    expect(h.storage.status().faults.map((f) => f.area)).toEqual(["alerts"]);
    // Only the storage alert (sent directly) follows; the failure is not sent again.
    expect(sent.map((m) => m.split("\n")[0])).toEqual([expect.stringContaining("Webhook failed"), expect.stringContaining("Storage degraded")]);

    readOnly(h.db, false);
    h.storage.check();
    await h.service.tick();
    await h.service.tick();
    expect(sent.filter((m) => m.includes("wh_1"))).toHaveLength(1);
    expect(sent).toHaveLength(3);
    expect(sent[2]).toContain("<b>Storage recovered</b>");
    expect(createAlertStore(h.db).unsentCount()).toBe(0);
  });

  it("keeps at most memoryLimit alerts in memory and says in the next message how many were dropped", async () => {
    const h = harness({ options: { groupWindowMs: 0, memoryLimit: 3 } });
    readOnly(h.db, true);
    for (let n = 1; n <= 6; n++) h.service.recordFailure(failure(n));
    await h.service.tick();
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]).toContain("<b>Storage degraded</b>");
    expect(h.sent[0]).toContain("4 alerts were dropped");
    readOnly(h.db, false);
    h.storage.check();
    await h.service.tick();
    expect(h.sent).toHaveLength(3);
    expect(h.sent[1]).toContain("2 webhooks failed");
    expect(h.sent[1]).not.toContain("dropped");
  });

  it("ends an outage reported before a restart with one recovered message", async () => {
    const db = openDatabase(":memory:");
    const first = harness({ db });
    first.storage.failed("ingest", full());
    await first.service.tick();
    expect(first.sent).toHaveLength(1);
    await first.stop();
    open.splice(
      open.findIndex((o) => o.db === db),
      1,
    );

    const second = harness({ db });
    await second.service.tick();
    await second.service.tick();
    expect(second.sent).toHaveLength(1);
    expect(second.sent[0]).toContain("<b>Storage recovered</b>");
  });

  it("does not report an outage again when it goes on after a restart", async () => {
    const db = openDatabase(":memory:");
    const first = harness({ db });
    first.storage.failed("ingest", full());
    await first.service.tick();
    await first.stop();
    open.splice(
      open.findIndex((o) => o.db === db),
      1,
    );

    // The new process finds storage degraded before alerts start (an edge measures storage first).
    const second = harness({ db, beforeStart: (storage) => storage.failed("ingest", full()) });
    await second.service.tick();
    expect(second.sent).toHaveLength(0);
    second.storage.check();
    await second.service.tick();
    expect(second.sent).toHaveLength(1);
    expect(second.sent[0]).toContain("<b>Storage recovered</b>");
  });
});

describe("alert outbox migration 007", () => {
  it("keeps every row and takes the storage kinds", () => {
    const db = new Database(":memory:");
    migrate(
      db,
      readMigrations().filter((m) => m.version <= 6),
    );
    db.prepare(`INSERT INTO alert (kind, group_key, created_at, due_at, data, sent_at) VALUES ('hub_down', 'hub', 1, 2, '{"since":0}', 3)`).run();
    migrate(db);
    expect(db.prepare(`SELECT id, kind, group_key, created_at, due_at, data, sent_at FROM alert`).all()).toEqual([
      { id: 1, kind: "hub_down", group_key: "hub", created_at: 1, due_at: 2, data: '{"since":0}', sent_at: 3 },
    ]);
    const store = createAlertStore(db);
    store.insert({ groupKey: "storage", createdAt: 4, dueAt: 4, data: { kind: "storage_degraded", since: 4, summary: "storage full" } });
    store.insert({ groupKey: "storage", createdAt: 5, dueAt: 5, data: { kind: "storage_recovered", since: 4, at: 5 } });
    expect(store.lastStorage()).toMatchObject({ kind: "storage_recovered", since: 4, at: 5 });
    expect(() => db.prepare(`INSERT INTO alert (kind, group_key, created_at, due_at, data) VALUES ('nope', 'x', 0, 0, '{}')`).run()).toThrow(/CHECK/);
    const indexes = (db.pragma("index_list(alert)") as { name: string }[]).map((i) => i.name).sort();
    expect(indexes).toEqual(["alert_sent", "alert_unsent_due", "alert_unsent_group"]);
  });
});

describe("Telegram errors", () => {
  const token = "123:SECRET_token";
  it("never include the bot token", () => {
    const network = new HttpError(
      "Network request for 'sendMessage' failed!",
      new Error(`request to https://api.telegram.org/bot${token}/sendMessage failed, reason: ECONNREFUSED`),
    );
    expect(describeTelegramError(network, token)).toBe(
      "could not reach Telegram: request to https://api.telegram.org/bot[redacted]/sendMessage failed, reason: ECONNREFUSED",
    );
    const api = new GrammyError("Call to 'sendMessage' failed!", { ok: false, error_code: 401, description: "Unauthorized" }, "sendMessage", {});
    expect(describeTelegramError(api, token)).toBe("Telegram refused sendMessage: 401 Unauthorized");
    expect(redactToken(`a ${token} b ${token}`, token)).toBe("a [redacted] b [redacted]");
  });
});

describe("alert settings", () => {
  const base = { ...TEST_SECRETS, DATABASE_PATH: ":memory:" };
  it("defaults, and turns Telegram on only with both token and chat", () => {
    const off = loadConfig(base);
    expect(off.telegram).toBeUndefined();
    expect(off.hubDownAlertAfterMs).toBe(300_000);
    expect(off.alertGroupWindowMs).toBe(60_000);
    const on = loadConfig({ ...base, TELEGRAM_BOT_TOKEN: "123:abc-DEF_g", TELEGRAM_CHAT_ID: "-100123", TELEGRAM_API_ROOT: "http://127.0.0.1:1/" });
    expect(on.telegram).toEqual({ botToken: "123:abc-DEF_g", chatId: "-100123", apiRoot: "http://127.0.0.1:1" });
  });

  it("rejects half a Telegram setup and bad values in one message, without echoing the token", () => {
    let message = "";
    try {
      loadConfig({ ...base, TELEGRAM_BOT_TOKEN: "123:secret-token", ALERT_GROUP_WINDOW_MS: "-1" });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain("TELEGRAM_CHAT_ID: TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID go together");
    expect(message).toContain("ALERT_GROUP_WINDOW_MS");
    expect(() => loadConfig({ ...base, TELEGRAM_BOT_TOKEN: "not a token", TELEGRAM_CHAT_ID: "1" })).toThrow(/TELEGRAM_BOT_TOKEN: must look like/);
    expect(message).not.toContain("secret-token");
  });
});
