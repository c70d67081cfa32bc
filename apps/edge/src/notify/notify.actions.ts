/**
 * Acting from Telegram (issue #13): the buttons under a stuck-queue alert
 * (Retry now, Skip, Mute) come back to the bot as callback queries. Only the
 * configured chat (TELEGRAM_CHAT_ID) may act; a press from anywhere else is
 * refused and logged. Each action goes through the same services as the UI
 * and the API (queue control, destinations), lands in the audit trail as
 * `telegram:@user`, and is confirmed in the chat.
 *
 * Updates arrive by webhook to the edge itself when BASE_URL is https (the
 * Bot API only calls https URLs): `POST /telegram/updates`, authenticated by
 * a secret token derived from the bot token; otherwise by long polling
 * (getUpdates), which needs no public URL.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Api } from "grammy";
import type { AuditService } from "../audit/audit.service.js";
import type { DestinationService } from "../destination/destination.service.js";
import type { Logger } from "../logger.js";
import type { QueueControl } from "../queue/queue.service.js";
import { readBody, type Route, sendJson } from "../server/http.js";
import { escapeHtml } from "./notify.message.js";

/** What a button asks for. */
export type QueueButton = { action: "retry_now" | "skip"; webhookId: string; destinationId: string } | { action: "mute"; destinationId: string };

/** The action a button's callback data names (notify.message.ts, queueButtonData); undefined for anything else. */
export function parseButtonData(data: string | undefined): QueueButton | undefined {
  const m = /^([rsm]):(wh_[A-Za-z0-9_-]{9,64})?:(dst_[A-Za-z0-9_-]{9,64})$/.exec(data ?? "");
  if (!m) return undefined;
  const [, a, webhookId, destinationId] = m;
  if (a === "m") return { action: "mute", destinationId: destinationId! };
  if (!webhookId) return undefined;
  return { action: a === "r" ? "retry_now" : "skip", webhookId, destinationId: destinationId! };
}

/** The parts of a Bot API callback query used here. */
export interface CallbackQuery {
  id: string;
  data?: string;
  from: { id: number; username?: string };
  message?: { chat: { id: number; username?: string } };
}

/** Whether a callback comes from the configured chat: its numeric id, or its @username for a public channel or group. */
export function fromConfiguredChat(cb: CallbackQuery, chatId: string): boolean {
  const chat = cb.message?.chat;
  if (!chat) return false;
  if (chatId.startsWith("@")) return chat.username !== undefined && `@${chat.username}`.toLowerCase() === chatId.toLowerCase();
  return String(chat.id) === chatId;
}

/** The audit name of whoever pressed a button. */
export function telegramActor(cb: CallbackQuery): string {
  return cb.from.username ? `telegram:@${cb.from.username}` : `telegram:${cb.from.id}`;
}

/** The secret the Bot API sends with every update to the edge's webhook (X-Telegram-Bot-Api-Secret-Token). */
export function webhookSecret(botToken: string): string {
  return createHmac("sha256", botToken).update("hookly telegram updates").digest("base64url");
}

/** Path of the edge's Telegram webhook. */
export const UPDATES_PATH = "/telegram/updates";

/** Handles callback queries from the alerts' buttons. */
export function createTelegramActions(deps: {
  api: Pick<Api, "answerCallbackQuery" | "sendMessage">;
  chatId: string;
  queue: Pick<QueueControl, "act">;
  destinations: Pick<DestinationService, "update">;
  audit: Pick<AuditService, "record">;
  log: Logger;
}) {
  const { api, chatId, log } = deps;

  /** Runs what a button asks; the confirmation to show (and whether it worked). */
  const perform = (b: QueueButton, actor: string): { ok: boolean; text: string } => {
    try {
      if (b.action === "mute") {
        const d = deps.destinations.update(b.destinationId, { muted: true });
        deps.audit.record({ actor, action: "mute", endpointId: d.endpointId, destinationId: d.id });
        return { ok: true, text: `🔇 Muted <code>${escapeHtml(d.id)}</code> (${escapeHtml(actor)}): its queue fills and waits until it is unmuted.` };
      }
      const r = deps.queue.act(b.webhookId, b.action, { destinationId: b.destinationId, actor });
      const done = b.action === "skip" ? "⏭ Skipped" : "🔁 Retrying now";
      return {
        ok: true,
        text:
          `${done} <code>${escapeHtml(r.webhookId)}</code> at <code>${escapeHtml(r.destinationId)}</code> (${escapeHtml(actor)})` +
          (r.inFlight ? ". An attempt was under way: the LAN service may still get it once." : "") +
          (r.stalled ? `. Note: ${escapeHtml(r.stalled)}.` : ""),
      };
    } catch (err) {
      // note: AppError messages are safe (they name ids and rules, never secrets).
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, text: `⚠️ Could not ${b.action.replace("_", " ")}: ${escapeHtml(message)}` };
    }
  };

  return {
    /** One callback query; never throws (a Bot API failure is logged). */
    async onCallback(cb: CallbackQuery): Promise<void> {
      try {
        if (!fromConfiguredChat(cb, chatId)) {
          log.warn({ fromUser: cb.from.id, chat: cb.message?.chat.id }, "a Telegram button was pressed outside the configured chat; refused");
          await api.answerCallbackQuery(cb.id, { text: "Not allowed: only the configured chat may act on Hookly's queues.", show_alert: true });
          return;
        }
        const b = parseButtonData(cb.data);
        if (!b) {
          await api.answerCallbackQuery(cb.id, { text: "Unknown button." });
          return;
        }
        const actor = telegramActor(cb);
        const r = perform(b, actor);
        log.info({ action: b.action, destinationId: b.destinationId, actor, ok: r.ok }, "Telegram button");
        await api.answerCallbackQuery(cb.id, { text: r.ok ? "Done" : "Could not do it: see the chat" });
        await api.sendMessage(chatId, r.text, { parse_mode: "HTML", link_preview_options: { is_disabled: true } });
      } catch (err) {
        log.warn({ error: err instanceof Error ? err.message : String(err) }, "could not answer a Telegram button");
      }
    },
  };
}

/** The edge's webhook for Telegram updates (BASE_URL https): checks the secret token, hands callback queries on, answers 200. */
export function telegramUpdatesRoute(opts: { secret: string; onCallback: (cb: CallbackQuery) => Promise<void> }): Route {
  const expected = Buffer.from(opts.secret);
  return {
    method: "POST",
    path: UPDATES_PATH,
    handler: async (req, res) => {
      const given = Buffer.from(String(req.headers["x-telegram-bot-api-secret-token"] ?? ""));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        sendJson(res, 401, { error: { code: "unauthenticated", message: "wrong secret token" } });
        return;
      }
      let update: { callback_query?: CallbackQuery };
      try {
        update = JSON.parse((await readBody(req, 256 * 1024)).toString("utf8")) as { callback_query?: CallbackQuery };
      } catch {
        sendJson(res, 400, { error: { code: "invalid_argument", message: "not an update" } });
        return;
      }
      if (update.callback_query) await opts.onCallback(update.callback_query);
      sendJson(res, 200, {});
    },
  };
}

/**
 * Long polling for callback queries (no public URL needed): getUpdates in a
 * loop, backing off on errors (logged once per outage). stop() aborts the
 * request under way.
 */
export function createTelegramPoller(deps: {
  api: Pick<Api, "getUpdates" | "deleteWebhook">;
  onCallback: (cb: CallbackQuery) => Promise<void>;
  log: Logger;
  /** Long-poll timeout (s). Default 25. */
  timeoutSeconds?: number;
}) {
  const { api, log } = deps;
  let stopped = true;
  let abort: AbortController | undefined;
  let loop: Promise<void> | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      abort?.signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      });
    });

  const run = async (): Promise<void> => {
    let offset = 0;
    let failures = 0;
    let webhookCleared = false;
    while (!stopped) {
      abort = new AbortController();
      try {
        // note: a webhook set earlier (BASE_URL was https) makes getUpdates fail with 409: clear it once.
        if (!webhookCleared) {
          await api.deleteWebhook({}, abort.signal as never);
          webhookCleared = true;
        }
        const updates = await api.getUpdates({ offset, timeout: deps.timeoutSeconds ?? 25, allowed_updates: ["callback_query"] }, abort.signal as never);
        if (failures > 0) log.info({ failures }, "Telegram updates reachable again");
        failures = 0;
        for (const u of updates) {
          offset = u.update_id + 1;
          if (u.callback_query) await deps.onCallback(u.callback_query as CallbackQuery);
        }
      } catch (err) {
        if (stopped) return;
        failures++;
        if (failures === 1) log.warn({ error: err instanceof Error ? err.message : String(err) }, "Telegram getUpdates failing; retrying with backoff");
        await sleep(Math.min(60_000, 1_000 * 2 ** Math.min(failures - 1, 6)));
      }
    }
  };

  return {
    start(): void {
      if (!stopped) return;
      stopped = false;
      loop = run();
    },
    async stop(): Promise<void> {
      stopped = true;
      abort?.abort();
      await loop;
    },
  };
}
