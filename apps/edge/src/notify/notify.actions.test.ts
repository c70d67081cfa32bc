/** The Telegram buttons' rules: what their data says, who may press them, and the stuck-queue message that carries them. */
import { describe, expect, it } from "vitest";
import { fromConfiguredChat, parseButtonData, telegramActor } from "./notify.actions.js";
import { queueButtonData, renderQueueGroup } from "./notify.message.js";

const WH = "wh_0Vd0xN6gxbk3hARAHfKYV";
const DST = "dst_abcdefghijklmnopqrstu";

describe("buttons", () => {
  it("round-trip through their callback data, within Telegram's 64 bytes", () => {
    for (const [a, action] of [
      ["r", "retry_now"],
      ["s", "skip"],
    ] as const) {
      const data = queueButtonData(a, WH, DST);
      expect(data.length).toBeLessThanOrEqual(64);
      expect(parseButtonData(data)).toEqual({ action, webhookId: WH, destinationId: DST });
    }
    expect(parseButtonData(queueButtonData("m", WH, DST))).toEqual({ action: "mute", destinationId: DST });
  });

  it.each(["", "x:wh_1:dst_1", `s::${DST}`, `s:${WH}:`, `s:${WH}:dst_ bad`, `r:${WH}:${DST}:extra`])("refuse %j", (data) => {
    expect(parseButtonData(data)).toBeUndefined();
  });

  it("act only from the configured chat, by id or @name", () => {
    const cb = (chat: { id: number; username?: string } | undefined) => ({ id: "1", from: { id: 5 }, ...(chat ? { message: { chat } } : {}) });
    expect(fromConfiguredChat(cb({ id: -100123 }), "-100123")).toBe(true);
    expect(fromConfiguredChat(cb({ id: 42 }), "-100123")).toBe(false);
    expect(fromConfiguredChat(cb(undefined), "42")).toBe(false);
    expect(fromConfiguredChat(cb({ id: 1, username: "Ops" }), "@ops")).toBe(true);
    expect(fromConfiguredChat(cb({ id: 1 }), "@ops")).toBe(false);
    expect(telegramActor({ id: "1", from: { id: 9, username: "alice" } })).toBe("telegram:@alice");
    expect(telegramActor({ id: "1", from: { id: 9 } })).toBe("telegram:9");
  });
});

describe("renderQueueGroup", () => {
  const base = {
    groupKey: "queues",
    createdAt: 0,
    dueAt: 0,
    endpointId: "ep_1",
    endpointName: "Shop <prod>",
    destinationId: DST,
    destinationName: "http://nas/hook",
    waiting: 7,
  };
  const stuck = {
    ...base,
    id: 1,
    kind: "queue_stuck" as const,
    at: 600_000,
    webhookId: WH,
    eventType: "invoice.paid",
    failingSince: 0,
    attempts: 9,
    statusCode: 502,
    error: "HTTP 502",
    responseExcerpt: "<html>bad gateway</html>",
  };

  it("names the endpoint, destination, webhook, event type, duration, last answer with its excerpt, the queue, and a link; escapes HTML", () => {
    const m = renderQueueGroup([stuck], "https://edge");
    expect(m.text).toContain("<b>Shop &lt;prod&gt;</b> → http://nas/hook");
    expect(m.text).toContain(`<code>${WH}</code> (invoice.paid) failing for 10 min, 9 attempts; last: HTTP 502`);
    expect(m.text).toContain("<blockquote>&lt;html&gt;bad gateway&lt;/html&gt;</blockquote>");
    expect(m.text).toContain("7 webhooks wait at this destination");
    expect(m.text).toContain('href="https://edge/webhooks?endpoint=ep_1&amp;status=pending"');
    expect(m.buttons?.[0]?.map((b) => b.text)).toEqual(["🔁 Retry now", "⏭ Skip", "🔇 Mute"]);
  });

  it("tells a queue stuck and recovered within the window as recovered only, without buttons", () => {
    const m = renderQueueGroup([stuck, { ...base, id: 2, kind: "queue_recovered", stuckSince: 600_000, at: 900_000 }], "https://edge");
    expect(m.text).not.toContain("Queue stuck");
    expect(m.text).toContain("Queue moving again");
    expect(m.text).toContain("after 5 min stuck");
    expect(m.buttons).toBeUndefined();
  });
});
