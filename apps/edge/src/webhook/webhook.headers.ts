/**
 * Secret-bearing request headers of stored webhooks: a Telegram endpoint's
 * `X-Telegram-Bot-Api-Secret-Token` (the endpoint's own secret, sent with
 * every update), and the `Authorization`, `Proxy-Authorization` and `Cookie`
 * a provider may send. Their values are stored sealed under ENCRYPTION_KEY
 * (AES-256-GCM, bound to the header's name), shown as "[redacted]" in every
 * view (REST, Connect, UI, MCP), and opened only to forward the original to
 * the hub. SECRET_HEADERS adds names to the list.
 *
 * A sealed value is stored in place of the value, marked with a NUL byte —
 * which no HTTP header value may contain, so no received value is ever
 * mistaken for a sealed one.
 */
import type { SecretBox } from "../crypto/secret-box.js";
import type { HeaderSealingStore } from "./webhook.headers.store.js";

/** Headers sealed at rest whatever SECRET_HEADERS says (lower case). */
export const DEFAULT_SECRET_HEADERS: readonly string[] = ["authorization", "proxy-authorization", "cookie", "x-telegram-bot-api-secret-token"];

/** What views show instead of a sealed header's value. */
export const REDACTED = "[redacted]";

const MARK = "\u0000hookly-sealed:";

/** What a sealed header value is bound to (AES-GCM associated data): its header's name, so it cannot be moved to another. */
function boundTo(name: string): string {
  return `header:${name.toLowerCase()}`;
}

/** Whether a stored header value is sealed. */
export function isSealed(value: string): boolean {
  return value.startsWith(MARK);
}

/** Seals, opens and redacts the secret headers of a webhook's header list. */
export interface HeaderSealer {
  /** The list to store: secret headers' values sealed, the rest as received. */
  seal(headers: readonly [string, string][]): [string, string][];
  /** The list to forward: sealed values opened. A value no configured key opens is left out (and reported). */
  open(headers: readonly [string, string][]): [string, string][];
  /** The list to show: sealed values as "[redacted]". */
  redact(headers: readonly [string, string][]): [string, string][];
}

/**
 * Builds the sealer for `names` (lower case; DEFAULT_SECRET_HEADERS plus
 * SECRET_HEADERS). `onUnreadable(name)` hears of a sealed value that cannot
 * be opened (sealed under a key this edge no longer has).
 */
export function createHeaderSealer(box: SecretBox, names: readonly string[], onUnreadable: (name: string) => void = () => {}): HeaderSealer {
  const secret = new Set([...DEFAULT_SECRET_HEADERS, ...names.map((n) => n.toLowerCase())]);
  return {
    seal: (headers) =>
      headers.map(([name, value]) => [name, secret.has(name.toLowerCase()) && !isSealed(value) ? MARK + box.seal(value, boundTo(name)) : value]),
    open: (headers) =>
      headers.flatMap(([name, value]): [string, string][] => {
        if (!isSealed(value)) return [[name, value]];
        try {
          return [[name, box.open(value.slice(MARK.length), boundTo(name))]];
        } catch {
          onUnreadable(name);
          return [];
        }
      }),
    redact: (headers) => headers.map(([name, value]) => [name, isSealed(value) ? REDACTED : value]),
  };
}

/** Re-seals a stored header list's sealed values with the current key (key rotation); undefined when nothing changed. Throws when a value opens with no configured key. */
export function resealHeaders(box: SecretBox, headers: readonly [string, string][]): [string, string][] | undefined {
  let changed = false;
  const out = headers.map(([name, value]): [string, string] => {
    if (!isSealed(value)) return [name, value];
    const sealed = value.slice(MARK.length);
    if (!box.needsRotation(sealed)) return [name, value];
    changed = true;
    return [name, MARK + box.reseal(sealed, boundTo(name))];
  });
  return changed ? out : undefined;
}

/** Rows the sealing job reads per step. */
const SEALING_BATCH = 200;

/**
 * The one-time job that seals the secret headers of webhooks stored before
 * they were sealed: after start, a batch of rows per event-loop turn
 * (`setImmediate`), each batch written with its progress in one
 * transaction, so an interrupted run goes on where it stopped. A write that
 * fails (a full disk) stops it until the next start.
 */
export function createHeaderSealingJob(deps: {
  store: HeaderSealingStore;
  sealer: Pick<HeaderSealer, "seal">;
  now: () => number;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
}) {
  let timer: NodeJS.Immediate | undefined;
  let stopped = false;
  let sealed = 0;
  const step = (afterSeq: number): void => {
    timer = undefined;
    if (stopped) return;
    try {
      const rows = deps.store.batch(afterSeq, SEALING_BATCH);
      const updates = rows.flatMap((r) => {
        const next = deps.sealer.seal(r.headers);
        return next.some(([, v], i) => v !== r.headers[i]![1]) ? [{ seq: r.seq, headers: next }] : [];
      });
      const last = rows.at(-1)?.seq ?? afterSeq;
      const done = rows.length < SEALING_BATCH;
      deps.store.save(updates, last, done ? deps.now() : null);
      sealed += updates.length;
      if (done) {
        if (sealed > 0) deps.log.info({ webhooks: sealed }, "sealed the secret headers of webhooks stored before they were sealed");
        return;
      }
      timer = setImmediate(step, last);
    } catch (err) {
      deps.log.warn({ err }, "sealing the secret headers of older webhooks stopped; it goes on at the next start");
    }
  };
  return {
    /** Starts (or resumes) the job unless it is done. */
    start(): void {
      const state = deps.store.state();
      if (!state || state.doneAt !== null) return;
      timer = setImmediate(step, state.afterSeq);
    },
    stop(): void {
      stopped = true;
      if (timer) clearImmediate(timer);
      timer = undefined;
    },
  };
}
