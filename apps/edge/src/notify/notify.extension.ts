/**
 * Telegram alerts as an edge extension: final failures, a hub that is down
 * (or back), a held destination and a storage outage (and its end) go to
 * TELEGRAM_CHAT_ID through the outbox of notify.service.ts, which reports the
 * outbox's storage errors to `core.storage`. Without TELEGRAM_BOT_TOKEN /
 * TELEGRAM_CHAT_ID the extension does nothing.
 *
 * Wiring (main.ts): `createApp(config, { extensions: [notifyExtension()] })`.
 */
import { Bot, GrammyError, HttpError } from "grammy";
import type { ExtensionFactory } from "../core.js";
import type { Logger } from "../logger.js";
import { UPDATES_PATH, createTelegramActions, createTelegramPoller, telegramUpdatesRoute, webhookSecret } from "./notify.actions.js";
import { createNotifyService, type AlertSend, type NotifyOptions } from "./notify.service.js";
import { createAlertStore } from "./notify.store.js";

/** Overrides for tests and tuning; the config provides the rest. */
export interface NotifyExtensionOptions extends Partial<Omit<NotifyOptions, "groupWindowMs" | "hubDownAfterMs">> {
  /** Logger for alert sending (default: the edge's). */
  log?: Logger;
  /** Long-poll timeout of getUpdates, in seconds (buttons, without an https BASE_URL). Default 25. */
  pollTimeoutSeconds?: number;
}

/** Replaces every occurrence of the bot token (grammy errors may quote the request URL). */
export function redactToken(text: string, token: string): string {
  return token ? text.split(token).join("[redacted]") : text;
}

/** A token-free, one-line description of a failed Bot API call. */
export function describeTelegramError(err: unknown, token: string, signal?: AbortSignal): string {
  let text: string;
  if (signal?.aborted) {
    const why = signal.reason instanceof Error ? signal.reason.message : "aborted";
    text = `Telegram did not answer: ${why}`;
  } else if (err instanceof GrammyError) {
    text = `Telegram refused sendMessage: ${err.error_code} ${err.description}`;
  } else if (err instanceof HttpError) {
    const cause = err.error instanceof Error ? err.error.message : String(err.error);
    text = `could not reach Telegram: ${cause}`;
  } else {
    text = err instanceof Error ? err.message : String(err);
  }
  return redactToken(text, token);
}

/** The sender for a bot and chat: HTML, no link previews, buttons as an inline keyboard, errors made token-free. */
export function telegramSender(
  opts: { botToken: string; chatId: string; apiRoot: string },
  bot = new Bot(opts.botToken, { client: { apiRoot: opts.apiRoot } }),
): AlertSend {
  return async (html, signal, buttons) => {
    try {
      await bot.api.sendMessage(
        opts.chatId,
        html,
        {
          parse_mode: "HTML",
          link_preview_options: { is_disabled: true },
          ...(buttons && buttons.length > 0
            ? { reply_markup: { inline_keyboard: buttons.map((row) => row.map((b) => ({ text: b.text, callback_data: b.data }))) } }
            : {}),
        },
        // note: grammy types its signal with the abort-controller shim; it only calls addEventListener on it.
        signal as unknown as Parameters<typeof bot.api.sendMessage>[3],
      );
    } catch (err) {
      // note: a new Error without `cause`, so nothing that quotes the URL (and so the token) can be logged.
      throw new Error(describeTelegramError(err, opts.botToken, signal));
    }
  };
}

/** Builds the alerts extension. */
export function notifyExtension(opts: NotifyExtensionOptions = {}): ExtensionFactory {
  return (core) => {
    const telegram = core.config.telegram;
    if (!telegram) return {};
    const log = opts.log ?? core.log;
    const { log: _log, pollTimeoutSeconds, ...tuning } = opts;
    const bot = new Bot(telegram.botToken, { client: { apiRoot: telegram.apiRoot } });
    const actions = createTelegramActions({
      api: bot.api,
      chatId: telegram.chatId,
      queue: core.queue,
      destinations: core.destinations,
      audit: core.audit,
      log,
    });
    // note: the Bot API calls only https webhooks; without a public https BASE_URL the edge polls for updates.
    const useWebhook = core.config.baseUrl.startsWith("https://");
    const secret = webhookSecret(telegram.botToken);
    const poller = useWebhook
      ? undefined
      : createTelegramPoller({ api: bot.api, onCallback: (cb) => actions.onCallback(cb), log, timeoutSeconds: pollTimeoutSeconds });
    const service = createNotifyService({
      store: createAlertStore(core.db),
      clock: core.clock,
      log,
      events: core.events,
      endpoints: core.endpoints,
      relay: core.relay,
      storage: core.storage,
      hubs: () => {
        const perHub = core.destinations.perHub();
        return core.hubs
          .list()
          .filter((h) => !h.revoked)
          .map((h) => {
            const mine = perHub.get(h.id);
            return {
              id: h.id,
              // note: a bootstrap hub names itself by HUB_ID; show that too, it is what its operator knows.
              name: h.bootstrap && h.reportedId && h.reportedId !== h.name ? `${h.name} (${h.reportedId})` : h.name,
              bootstrap: h.bootstrap,
              everConnected: h.lastConnectedAt !== null,
              destinations: mine?.destinations ?? 0,
              queued: mine?.pending ?? 0,
            };
          });
      },
      queueInfo: (destinationId) => {
        const d = core.destinations.find(destinationId);
        if (!d) return undefined;
        return {
          endpointName: core.endpoints.find(d.endpointId)?.name ?? d.endpointId,
          destinationName: d.name || d.url,
          waiting: core.destinations.get(destinationId).queue.pending,
        };
      },
      baseUrl: core.config.baseUrl,
      send: telegramSender(telegram, bot),
      options: {
        ...tuning,
        groupWindowMs: core.config.alertGroupWindowMs,
        hubDownAfterMs: core.config.hubDownAlertAfterMs,
      },
    });
    return {
      settings: { telegramAlerts: true },
      routes: [telegramUpdatesRoute({ secret, onCallback: (cb) => actions.onCallback(cb) })],
      onFinalFailure: (f) => service.recordFailure(f),
      onHeld: (h) => service.recordHeld(h),
      start: async () => {
        service.start();
        if (poller) poller.start();
        else {
          try {
            await bot.api.setWebhook(`${core.config.baseUrl}${UPDATES_PATH}`, { secret_token: secret, allowed_updates: ["callback_query"] });
          } catch (err) {
            log.warn(
              { error: describeTelegramError(err, telegram.botToken) },
              "could not set the Telegram webhook: alert buttons will not work until the edge restarts",
            );
          }
        }
        log.info({ chatId: telegram.chatId, buttons: useWebhook ? "webhook" : "polling" }, "Telegram alerts on");
      },
      close: async () => {
        await poller?.stop();
        await service.stop();
      },
    };
  };
}
