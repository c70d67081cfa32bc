/**
 * Alerts while a queue is still failing, and acting on them from Telegram
 * (issue #13): a real edge with the notify extension, a hub, a LAN service
 * answering 500, and the fake Bot API (long polling for the buttons, or the
 * edge's own webhook when BASE_URL is https).
 */
import { describe, expect, it } from "vitest";
import { notifyExtension } from "../../apps/edge/src/notify/notify.extension.js";
import { useCleanups } from "../cleanup.js";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram.js";
import { createEndpoint, postWebhook, waitUntil, type TestEdge } from "../harness.js";

const BOT_TOKEN = "123456:TEST-queue-alerts-token";
const CHAT_ID = "4242";
const FAST = { pollIntervalMs: 20, retryInitialMs: 30, retryMaxMs: 60, sendTimeoutMs: 2_000, pollTimeoutSeconds: 1 };

const scope = useCleanups();

async function telegram(): Promise<FakeTelegram> {
  const t = await startFakeTelegram(BOT_TOKEN);
  scope.cleanups.push(() => t.close());
  return t;
}

async function edge(tg: FakeTelegram, env: Record<string, string> = {}): Promise<TestEdge> {
  return scope.edge({
    env: {
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_CHAT_ID: CHAT_ID,
      TELEGRAM_API_ROOT: tg.url,
      STUCK_ALERT_AFTER_ATTEMPTS: "3",
      STUCK_ALERT_AFTER_MS: "600000",
      ALERT_GROUP_WINDOW_MS: "0",
      ...env,
    },
    extensions: [notifyExtension(FAST)],
  });
}

const nOf = (body: Buffer): number => (JSON.parse(body.toString()) as { n: number }).n;

describe("stuck queues", () => {
  it("alerts while the head still fails (destination, event type, last answer, queue, link, buttons), acts on Skip from the configured chat only, and tells of the recovery", async () => {
    const tg = await telegram();
    const e = await edge(tg);
    const target = await scope.receiver();
    target.respondWith((r) => (nOf(r.body) === 0 ? { status: 500, body: "database is down" } : 200));
    const ep = await createEndpoint(e.url, `${target.url}/hook`, { name: "Billing" });
    await scope.hub(e.url);
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) ids.push(await postWebhook(ep.ingestUrl, JSON.stringify({ n, type: "invoice.paid" })));

    const [stuck] = await tg.waitForMessages(1, { timeoutMs: 10_000, filter: (m) => m.text.includes("Queue stuck") });
    expect(stuck!.text).toContain("<b>Billing</b>");
    expect(stuck!.text).toContain(`<code>${ids[0]}</code> (invoice.paid)`);
    expect(stuck!.text).toMatch(/3 attempts; last: HTTP 500/);
    expect(stuck!.text).toContain("<blockquote>database is down</blockquote>");
    expect(stuck!.text).toMatch(/4 webhooks wait at this destination/);
    expect(stuck!.text).toContain(`/webhooks?endpoint=${ep.id}&amp;status=pending`);
    const labels = stuck!.buttons.flat().map((b) => b.text);
    expect(labels).toEqual(["🔁 Retry now", "⏭ Skip", "🔇 Mute"]);
    const skip = stuck!.buttons[0]!.find((b) => b.text.includes("Skip"))!;
    // The destination shows as stuck in the API while it is.
    const dst = (await e.api("GET", `/api/endpoints/${ep.id}/destinations`)).body.destinations[0];
    expect(dst.failing).toMatchObject({ attempts: expect.any(Number), webhook_id: ids[0], status_code: 500, stuck_since: expect.any(String) });

    // From another chat: refused, nothing changes.
    const foreign = tg.press({ data: skip.data, chatId: 999, from: { id: 7, username: "mallory" } });
    expect(await tg.waitForAnswer(foreign)).toMatchObject({ showAlert: true, text: expect.stringMatching(/only the configured chat/) });
    expect((await e.api("GET", `/api/webhooks/${ids[0]}`)).body.webhook.status).toBe("pending");

    // From the configured chat: skipped, confirmed in the chat, audited; the queue moves on.
    const mine = tg.press({ data: skip.data, chatId: Number(CHAT_ID), from: { id: 8, username: "alice" } });
    expect(await tg.waitForAnswer(mine)).toMatchObject({ text: "Done" });
    const [confirmed] = await tg.waitForMessages(1, { filter: (m) => m.text.includes("Skipped") });
    expect(confirmed!.text).toContain(`<code>${ids[0]}</code>`);
    expect(confirmed!.text).toContain("telegram:@alice");
    const head = (await e.api("GET", `/api/webhooks/${ids[0]}`)).body.webhook;
    expect(head.status).toBe("failed");
    expect(head.error_message).toBe("skipped by telegram:@alice");
    const audit = (await e.api("GET", `/api/audit?webhook_id=${ids[0]}`)).body.entries;
    expect(audit.map((a: { actor: string; action: string }) => `${a.action}:${a.actor}`)).toEqual(["skip:telegram:@alice"]);

    await target.waitFor(3, { filter: (r) => nOf(r.body) > 0 });
    const [back] = await tg.waitForMessages(1, { timeoutMs: 10_000, filter: (m) => m.text.includes("Queue moving again") });
    expect(back!.text).toContain("<b>Billing</b>");
    expect(back!.buttons).toEqual([]);
    await waitUntil(async () => (await e.api("GET", `/api/endpoints/${ep.id}/destinations`)).body.destinations[0].failing === null, 5_000, "healthy again");
  });

  it("a storm of stuck queues is one message, with buttons for the first few", async () => {
    const tg = await telegram();
    const e = await edge(tg, { ALERT_GROUP_WINDOW_MS: "1500" });
    const target = await scope.receiver();
    target.respondWith(503);
    await scope.hub(e.url);
    const eps = [];
    for (let i = 0; i < 4; i++) eps.push(await createEndpoint(e.url, `${target.url}/${i}`, { name: `ep${i}` }));
    for (const ep of eps) await postWebhook(ep.ingestUrl, JSON.stringify({ n: 0 }));
    const [storm] = await tg.waitForMessages(1, { timeoutMs: 10_000, filter: (m) => m.text.includes("queues stuck") });
    expect(storm!.text).toContain("4 queues stuck");
    for (let i = 0; i < 4; i++) expect(storm!.text).toContain(`<b>ep${i}</b>`);
    expect(storm!.buttons).toHaveLength(3);
    expect(tg.messages.filter((m) => m.text.includes("stuck"))).toHaveLength(1);
  });

  it("with an https BASE_URL, takes button presses on its own webhook, authenticated by the secret token it registered: Mute", async () => {
    const tg = await telegram();
    const e = await edge(tg, { BASE_URL: "https://hooks.example.test" });
    await waitUntil(() => tg.webhooks.length > 0, 5_000, "setWebhook");
    expect(tg.webhooks[0]!.url).toBe("https://hooks.example.test/telegram/updates");
    const secret = tg.webhooks[0]!.secretToken!;
    expect(secret.length).toBeGreaterThan(20);
    const target = await scope.receiver();
    const ep = await createEndpoint(e.url, target.url);
    const dst = (await e.api("GET", `/api/endpoints/${ep.id}/destinations`)).body.destinations[0].id as string;
    const update = {
      update_id: 1,
      callback_query: { id: "cb-1", data: `m::${dst}`, from: { id: 5, username: "bob" }, message: { message_id: 1, chat: { id: Number(CHAT_ID) } } },
    };
    const post = (token: string) =>
      fetch(`${e.url}/telegram/updates`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": token },
        body: JSON.stringify(update),
      });
    expect((await post("wrong")).status).toBe(401);
    expect((await e.api("GET", `/api/destinations/${dst}`)).body.destination.muted).toBe(false);
    expect((await post(secret)).status).toBe(200);
    expect(await tg.waitForAnswer("cb-1")).toMatchObject({ text: "Done" });
    expect((await e.api("GET", `/api/destinations/${dst}`)).body.destination.muted).toBe(true);
    const [confirmed] = await tg.waitForMessages(1, { filter: (m) => m.text.includes("Muted") });
    expect(confirmed!.text).toContain("telegram:@bob");
    const audit = (await e.api("GET", `/api/audit?endpoint_id=${ep.id}`)).body.entries;
    expect(audit[0]).toMatchObject({ action: "mute", actor: "telegram:@bob", destination_id: dst });
  });
});
