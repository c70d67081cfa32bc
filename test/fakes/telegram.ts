/**
 * A fake Telegram Bot API for tests: `POST /bot<token>/sendMessage` (and
 * `getMe`), recording every message it accepts with its inline keyboard. It
 * can be switched mid-test to answer 500 or 401, or to hang without
 * answering, to play an outage. Buttons: a test queues a callback query with
 * `press`, which the bot gets from `getUpdates` (long polling, answered at
 * once when something is queued, else after a short wait); `answerCallbackQuery`,
 * `setWebhook` and `deleteWebhook` calls are recorded.
 * Point TELEGRAM_API_ROOT at `url`.
 */
import http from "node:http";
import { listenLocal } from "./listen.js";

/** A message the fake accepted. */
export interface SentMessage {
  token: string;
  chatId: string;
  text: string;
  parseMode: string | undefined;
  linkPreviewDisabled: boolean;
  /** The inline keyboard's buttons, by row: label and callback data. */
  buttons: { text: string; data: string }[][];
  /** Its message id (a callback query names it). */
  messageId: number;
  /** `Date.now()` when it arrived. */
  at: number;
}

/** A callback query answer the bot sent. */
export interface CallbackAnswer {
  id: string;
  text: string | undefined;
  showAlert: boolean;
}

/** How the fake answers sendMessage. */
export type TelegramMode = "ok" | 500 | 401 | "hang";

/** A running fake; see {@link startFakeTelegram}. */
export interface FakeTelegram {
  /** `http://127.0.0.1:<port>`: the apiRoot. */
  url: string;
  /** Accepted messages, oldest first. */
  messages: SentMessage[];
  /** Every sendMessage call, answered or not (refused ones included). */
  readonly calls: number;
  /** Switches how sendMessage is answered. */
  setMode(mode: TelegramMode): void;
  /** Resolves with the messages once at least n (matching `filter`) were accepted. */
  waitForMessages(n: number, opts?: { timeoutMs?: number; filter?: (m: SentMessage) => boolean }): Promise<SentMessage[]>;
  /** Resolves once at least n sendMessage calls arrived. */
  waitForCalls(n: number, timeoutMs?: number): Promise<void>;
  /** Queues a button press (a callback query) from `chatId` by user `from` on a message, for getUpdates. */
  press(opts: { data: string; chatId: number; from?: { id: number; username?: string }; messageId?: number }): string;
  /** answerCallbackQuery calls, oldest first. */
  answers: CallbackAnswer[];
  /** Resolves once the press `id` was answered. */
  waitForAnswer(id: string, timeoutMs?: number): Promise<CallbackAnswer>;
  /** setWebhook calls (url and secret_token), oldest first. */
  webhooks: { url: string; secretToken: string | undefined }[];
  /** Stops listening and drops every connection (hanging ones included). */
  close(): Promise<void>;
}

/** Starts the fake on 127.0.0.1:0. Only `token` is accepted (others get 401, like Telegram). */
export async function startFakeTelegram(token: string): Promise<FakeTelegram> {
  const messages: SentMessage[] = [];
  const waiters = new Set<() => void>();
  let mode: TelegramMode = "ok";
  let calls = 0;
  let nextId = 1;
  const updates: { update_id: number; callback_query: unknown }[] = [];
  let nextUpdate = 1;
  let nextPress = 1;
  const answers: CallbackAnswer[] = [];
  const webhooks: { url: string; secretToken: string | undefined }[] = [];
  const parse = (v: unknown): unknown => (typeof v === "string" && /^[[{]/.test(v) ? JSON.parse(v) : v);

  const reply = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const refuse = (res: http.ServerResponse, code: number, description: string): void => reply(res, code, { ok: false, error_code: code, description });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? "");
      if (!m || req.method !== "POST") return refuse(res, 404, "Not Found");
      const [, gotToken, method] = m;
      const raw = Buffer.concat(chunks).toString("utf8");
      let params: Record<string, unknown> = {};
      try {
        params = raw
          ? String(req.headers["content-type"]).includes("json")
            ? (JSON.parse(raw) as Record<string, unknown>)
            : Object.fromEntries(new URLSearchParams(raw))
          : {};
      } catch {
        return refuse(res, 400, "Bad Request: can't parse JSON");
      }
      if (method === "sendMessage") {
        calls++;
        for (const wake of waiters) wake();
      }
      if (mode === "hang" && method === "sendMessage") return; // never answered; close() drops it
      if (mode === 401 || gotToken !== token) return refuse(res, 401, "Unauthorized");
      if (mode === 500) return refuse(res, 500, "Internal Server Error");
      if (method === "getMe") {
        return reply(res, 200, { ok: true, result: { id: 1, is_bot: true, first_name: "Hookly test", username: "hookly_test_bot" } });
      }
      if (method === "getUpdates") {
        const offset = Number(params.offset ?? 0);
        // note: what the bot has seen (update_id < offset) is confirmed, as Telegram does.
        while (updates.length > 0 && updates[0]!.update_id < offset) updates.shift();
        const answer = () => reply(res, 200, { ok: true, result: updates.slice(0, 100) });
        if (updates.length > 0) return answer();
        // note: a long poll, kept short so tests (and the edge's shutdown) never wait long for it.
        const t = setTimeout(answer, Math.min(Number(params.timeout ?? 0) * 1000, 300));
        res.once("close", () => clearTimeout(t));
        return;
      }
      if (method === "answerCallbackQuery") {
        answers.push({ id: String(params.callback_query_id), text: params.text as string | undefined, showAlert: String(params.show_alert) === "true" });
        for (const wake of waiters) wake();
        return reply(res, 200, { ok: true, result: true });
      }
      if (method === "setWebhook") {
        webhooks.push({ url: String(params.url), secretToken: params.secret_token as string | undefined });
        return reply(res, 200, { ok: true, result: true });
      }
      if (method === "deleteWebhook") return reply(res, 200, { ok: true, result: true });
      if (method !== "sendMessage") return refuse(res, 404, "Not Found: method not found");
      const preview = params.link_preview_options as { is_disabled?: boolean } | string | undefined;
      const sent: SentMessage = {
        token: gotToken!,
        chatId: String(params.chat_id),
        text: String(params.text ?? ""),
        parseMode: params.parse_mode as string | undefined,
        linkPreviewDisabled:
          typeof preview === "string" ? (JSON.parse(preview) as { is_disabled?: boolean }).is_disabled === true : preview?.is_disabled === true,
        buttons: ((parse(params.reply_markup) as { inline_keyboard?: { text: string; callback_data: string }[][] } | undefined)?.inline_keyboard ?? []).map(
          (row) => row.map((b) => ({ text: b.text, data: b.callback_data })),
        ),
        messageId: nextId,
        at: Date.now(),
      };
      messages.push(sent);
      for (const wake of waiters) wake();
      reply(res, 200, {
        ok: true,
        result: { message_id: nextId++, date: Math.floor(Date.now() / 1000), chat: { id: Number(sent.chatId) || 0, type: "private" }, text: sent.text },
      });
    });
  });
  const { port, sockets } = await listenLocal(server);

  const waitFor = (done: () => boolean, timeoutMs: number, what: () => string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`fake Telegram: waited ${timeoutMs} ms for ${what()}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    get calls() {
      return calls;
    },
    setMode(next) {
      mode = next;
    },
    async waitForMessages(n, opts = {}) {
      const matching = () => (opts.filter ? messages.filter(opts.filter) : [...messages]);
      await waitFor(
        () => matching().length >= n,
        opts.timeoutMs ?? 5_000,
        () => `${n} message(s), ${matching().length} arrived: ${JSON.stringify(messages.map((m) => m.text))}`,
      );
      return matching();
    },
    press(opts) {
      const id = `cb${nextPress++}`;
      updates.push({
        update_id: nextUpdate++,
        callback_query: {
          id,
          data: opts.data,
          chat_instance: "1",
          from: { id: opts.from?.id ?? 42, is_bot: false, first_name: "Test", ...(opts.from?.username ? { username: opts.from.username } : {}) },
          message: { message_id: opts.messageId ?? 1, date: Math.floor(Date.now() / 1000), chat: { id: opts.chatId, type: "private" } },
        },
      });
      return id;
    },
    answers,
    async waitForAnswer(id, timeoutMs = 5_000) {
      await waitFor(
        () => answers.some((a) => a.id === id),
        timeoutMs,
        () => `an answer to ${id}; answered: ${JSON.stringify(answers)}`,
      );
      return answers.find((a) => a.id === id)!;
    },
    webhooks,
    waitForCalls(n, timeoutMs = 5_000) {
      return waitFor(
        () => calls >= n,
        timeoutMs,
        () => `${n} sendMessage call(s), ${calls} arrived`,
      );
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
