/**
 * Telegram alerts end to end: a real edge (with the notify extension) and hub,
 * a recording LAN receiver answering 400 or 503, and a fake Bot API.
 */
import { WebhookStatus } from "@hookly/proto/gen/admin_pb";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import type { Receiver } from "../fakes/receiver.js";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram.js";
import { TestClock, adminClient, createEndpoint, postWebhook, startEdge, startHub, tempDir, waitUntil, type TestEdge } from "../harness.js";
import { notifyExtension, type NotifyExtensionOptions } from "../../apps/edge/src/notify/notify.extension.js";

const BOT_TOKEN = "123456:TEST-secret-bot-token_xyz";
const CHAT_ID = "4242";
const BASE_URL = "https://hooks.example.test";
const FAST = { pollIntervalMs: 20, retryInitialMs: 30, retryMaxMs: 60, sendTimeoutMs: 500 } satisfies NotifyExtensionOptions;

const scope = useCleanups();

/** A logger whose lines the test can read. */
function recordingLog() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const raw: string[] = [];
  const log = pino(
    { level: "debug" },
    {
      write: (s: string) => {
        raw.push(s);
        lines.push(JSON.parse(s));
      },
    },
  );
  return { log, lines, raw };
}

async function telegram(): Promise<FakeTelegram> {
  const t = await startFakeTelegram(BOT_TOKEN);
  scope.cleanups.push(() => t.close());
  return t;
}
async function receiver(status: number): Promise<Receiver> {
  const r = await scope.receiver();
  r.respondWith(status);
  return r;
}
async function edge(
  tg: FakeTelegram,
  opts: { clock?: TestClock; env?: Record<string, string>; databasePath?: string; notify?: NotifyExtensionOptions } = {},
): Promise<TestEdge> {
  return scope.edge({
    clock: opts.clock,
    databasePath: opts.databasePath,
    env: {
      BASE_URL,
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_CHAT_ID: CHAT_ID,
      TELEGRAM_API_ROOT: tg.url,
      ...opts.env,
    },
    extensions: [notifyExtension({ ...FAST, ...opts.notify })],
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForStatus(e: TestEdge, id: string, status: WebhookStatus): Promise<void> {
  const admin = adminClient(e.url);
  await waitUntil(async () => (await admin.getWebhook({ id })).webhook?.status === status, 10_000, `${id} to be ${WebhookStatus[status]}`);
}

describe("telegram alerts", () => {
  it("reports a 4xx failure at the end of its window with endpoint name, id, status and link", async () => {
    const tg = await telegram();
    const clock = new TestClock();
    const e = await edge(tg, { clock });
    const target = await receiver(400);
    const ep = await createEndpoint(e.url, `${target.url}/hook`, { name: "Billing <prod> & co" });
    await scope.hub(e.url);
    const id = await postWebhook(ep.ingestUrl, JSON.stringify({ hello: "world" }));
    await waitForStatus(e, id, WebhookStatus.FAILED);

    await sleep(150);
    expect(tg.messages, "nothing before the group window ends").toHaveLength(0);
    clock.advance(60_000);
    const [msg] = await tg.waitForMessages(1);
    expect(msg!.chatId).toBe(CHAT_ID);
    expect(msg!.parseMode).toBe("HTML");
    expect(msg!.linkPreviewDisabled).toBe(true);
    expect(msg!.text).toContain("Billing &lt;prod&gt; &amp; co");
    expect(msg!.text).toContain(id);
    expect(msg!.text).toContain("HTTP 400");
    expect(msg!.text).toContain("after 1 attempt");
    expect(msg!.text).toContain(`href="${BASE_URL}/webhooks/${id}"`);
    await sleep(150);
    expect(tg.messages).toHaveLength(1);
  });

  it("groups a burst of 50 failures on one endpoint into one message with the count", async () => {
    const tg = await telegram();
    const clock = new TestClock();
    const e = await edge(tg, { clock });
    const target = await receiver(400);
    const ep = await createEndpoint(e.url, `${target.url}/hook`, { name: "burst" });
    await scope.hub(e.url);
    const ids: string[] = [];
    for (let n = 0; n < 50; n++) ids.push(await postWebhook(ep.ingestUrl, JSON.stringify({ n })));
    const admin = adminClient(e.url);
    await waitUntil(
      async () => (await admin.listWebhooks({ endpointId: ep.id, status: WebhookStatus.FAILED, limit: 100 })).webhooks.length === 50,
      15_000,
      "50 failures",
    );
    clock.advance(60_000);
    const [msg] = await tg.waitForMessages(1);
    await sleep(200);
    expect(tg.messages).toHaveLength(1);
    expect(msg!.text).toContain("50 webhooks failed");
    expect(msg!.text).toContain("burst");
    expect(msg!.text).toContain(ids[0]!);
    expect(msg!.text).toContain("…and 45 more");
    expect(msg!.text).toContain(`${BASE_URL}/webhooks?endpoint=${ep.id}&amp;status=failed`);
  });

  it("reports a dead letter once the clock passes the deadline", async () => {
    const tg = await telegram();
    const clock = new TestClock();
    const e = await edge(tg, { clock });
    const target = await receiver(503);
    const ep = await createEndpoint(e.url, `${target.url}/hook`, { name: "flaky" });
    await scope.hub(e.url);
    const id = await postWebhook(ep.ingestUrl, "{}");
    await target.waitFor(1);
    clock.advance(169 * 3_600_000);
    e.app.relay.tick();
    await waitForStatus(e, id, WebhookStatus.DEAD_LETTER);
    clock.advance(60_000);
    const [msg] = await tg.waitForMessages(1, { filter: (m) => m.text.includes(id) });
    expect(msg!.text).toContain("dead-lettered");
    expect(msg!.text).toContain("flaky");
  });

  it("alerts when the hub is down longer than the threshold, and when it is back", async () => {
    const tg = await telegram();
    const clock = new TestClock();
    const e = await edge(tg, { clock, env: { HUB_DOWN_ALERT_AFTER_MS: "5000" } });
    const h = await startHub(e.url);
    await waitUntil(() => e.app.relay.connected(), 10_000, "hub connected");
    await h.stop();
    await waitUntil(() => !e.app.relay.connected(), 10_000, "hub gone");

    clock.advance(4_000);
    await sleep(150);
    expect(tg.messages, "not before the threshold").toHaveLength(0);
    clock.advance(2_000);
    const [down] = await tg.waitForMessages(1);
    expect(down!.text).toContain("disconnected");
    expect(down!.text).toContain("test-hub");

    clock.advance(60_000);
    await scope.hub(e.url);
    const [, back] = await tg.waitForMessages(2);
    expect(back!.text).toContain("connected again");
    await sleep(150);
    expect(tg.messages).toHaveLength(2);
  });

  it("a failing Telegram does not delay deliveries and is logged once per outage", async () => {
    const tg = await telegram();
    tg.setMode(500);
    const { log, lines, raw } = recordingLog();
    const e = await edge(tg, { env: { ALERT_GROUP_WINDOW_MS: "0" }, notify: { log } });
    const failing = await receiver(400);
    const healthy = await receiver(200);
    const a = await createEndpoint(e.url, `${failing.url}/hook`, { name: "failing" });
    const b = await createEndpoint(e.url, `${healthy.url}/hook`, { name: "healthy" });
    await scope.hub(e.url);

    const started = Date.now();
    for (let n = 0; n < 10; n++) {
      await postWebhook(a.ingestUrl, JSON.stringify({ n }));
      await postWebhook(b.ingestUrl, JSON.stringify({ n }));
    }
    await healthy.waitFor(10, { timeoutMs: 3_000 });
    expect(Date.now() - started).toBeLessThan(3_000);
    await failing.waitFor(10);
    await tg.waitForCalls(5);

    const failingLines = lines.filter((l) => l.msg.startsWith("Telegram alerts failing"));
    expect(failingLines).toHaveLength(1);
    expect(failingLines[0]!.error).toContain("500");

    tg.setMode("ok");
    await tg.waitForMessages(1);
    await waitUntil(() => lines.some((l) => l.msg === "Telegram alerts recovered"), 5_000, "recovery log");
    await sleep(150);
    // Everything that piled up during the outage is merged into one message.
    expect(tg.messages).toHaveLength(1);
    expect(tg.messages[0]!.text).toContain("10 webhooks failed");
    expect(lines.filter((l) => l.msg === "Telegram alerts recovered")).toHaveLength(1);
    expect(raw.join("")).not.toContain(BOT_TOKEN);
  });

  it("never logs the bot token, even when Telegram is unreachable", async () => {
    const tg = await telegram();
    const { log, lines, raw } = recordingLog();
    const e = await edge(tg, {
      env: { ALERT_GROUP_WINDOW_MS: "0", TELEGRAM_API_ROOT: "http://127.0.0.1:9" },
      notify: { log },
    });
    const target = await receiver(400);
    const ep = await createEndpoint(e.url, `${target.url}/hook`);
    await scope.hub(e.url);
    await postWebhook(ep.ingestUrl, "{}");
    await waitUntil(() => lines.some((l) => l.msg.startsWith("Telegram alerts failing")), 5_000, "failure log");
    expect(raw.join("")).not.toContain(BOT_TOKEN);
    expect(raw.join("")).toContain("[redacted]");
  });

  it("sends an alert that was due but unsent before a restart, exactly once", async () => {
    const tg = await telegram();
    const tmp = tempDir();
    scope.cleanups.push(async () => tmp.remove());
    const databasePath = join(tmp.dir, "hookly.db");
    const env = { ALERT_GROUP_WINDOW_MS: "0" };
    const target = await receiver(400);

    const first = await startEdge({
      databasePath,
      env: { BASE_URL, TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_CHAT_ID: CHAT_ID, TELEGRAM_API_ROOT: tg.url, ...env },
      extensions: [notifyExtension(FAST)],
    });
    const ep = await createEndpoint(first.url, `${target.url}/hook`);
    const h = await startHub(first.url);
    const sent = await postWebhook(ep.ingestUrl, "{}");
    await tg.waitForMessages(1, { filter: (m) => m.text.includes(sent) });

    tg.setMode(500);
    const calls = tg.calls;
    const unsent = await postWebhook(ep.ingestUrl, "{}");
    await waitForStatus(first, unsent, WebhookStatus.FAILED);
    await tg.waitForCalls(calls + 1);
    await first.close();
    await h.stop();

    tg.setMode("ok");
    await edge(tg, { databasePath, env });
    await tg.waitForMessages(1, { filter: (m) => m.text.includes(unsent) });
    await sleep(300);
    expect(tg.messages.filter((m) => m.text.includes(unsent))).toHaveLength(1);
    expect(tg.messages.filter((m) => m.text.includes(sent))).toHaveLength(1);
    expect(tg.messages).toHaveLength(2);
  });

  it("tells of a storage outage while the outbox cannot be written (sent directly), and of its end", async () => {
    const tg = await telegram();
    const { log, lines } = recordingLog();
    const e = await edge(tg, { notify: { log } });
    const target = await receiver(200);
    const ep = await createEndpoint(e.url, `${target.url}/hook`);
    e.app.db.pragma("query_only = ON"); // every write fails with SQLITE_READONLY, as on a full or read-only disk
    expect((await fetch(ep.ingestUrl, { method: "POST", body: "{}" })).status).toBe(503);
    const [down] = await tg.waitForMessages(1);
    expect(down!.text).toContain("<b>Storage degraded</b>");
    expect(down!.text).toContain("SQLITE_READONLY");
    expect(down!.text).toContain("ingest refused since");
    expect(down!.text).toContain(`href="${BASE_URL}/status"`);

    e.app.db.pragma("query_only = OFF"); // the storage probe notices within a second
    const [, up] = await tg.waitForMessages(2);
    expect(up!.text).toContain("<b>Storage recovered</b>");
    await sleep(150);
    expect(tg.messages).toHaveLength(2);
    // The first was sent without the database; the second went through the outbox.
    expect(e.app.db.prepare(`SELECT kind, sent_at IS NOT NULL AS sent FROM alert`).all()).toEqual([{ kind: "storage_recovered", sent: 1 }]);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it("does nothing without TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID", async () => {
    const e = await scope.edge({ extensions: [notifyExtension(FAST)] });
    expect(e.app.settings.telegramAlerts).toBe(false);
  });
});
