/**
 * The text of Telegram alerts (parse_mode HTML). Every interpolated value goes
 * through `escapeHtml`; links are built from BASE_URL and ids only.
 */
import type {
  AlertRow,
  DestinationHeldAlert,
  FailureGroup,
  HubDownAlert,
  HubUpAlert,
  QueueRecoveredAlert,
  QueueStuckAlert,
  StorageDegradedAlert,
  StorageRecoveredAlert,
  WebhookFailedAlert,
} from "./notify.store.js";

/** An inline keyboard button: its label and the callback data the bot gets when it is pressed (at most 64 bytes). */
export interface AlertButton {
  text: string;
  data: string;
}

/** A message and the buttons under it (rows of buttons). */
export interface AlertMessage {
  text: string;
  buttons?: AlertButton[][];
}

/** Failures listed by id in a grouped message; the rest are counted. */
export const GROUP_SAMPLE_SIZE = 5;

const MAX_FIELD = 200;

/** Escapes text for Telegram's HTML parse mode (`&`, `<`, `>`, `"`). */
export function escapeHtml(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const clip = (s: string): string => (s.length > MAX_FIELD ? `${s.slice(0, MAX_FIELD - 1)}…` : s);
const e = (s: string): string => escapeHtml(clip(s));

/** "3 min", "2 h 5 min", "40 s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** What went wrong with one webhook, in a few words. */
function reason(f: WebhookFailedAlert): string {
  const tries = `after ${plural(f.attempts, "attempt")}`;
  if (f.status === "dead_letter") {
    const last = f.statusCode > 0 ? `; last answer HTTP ${f.statusCode}` : "";
    return `dead-lettered (${f.error || "not delivered in time"}${last}) ${tries}`;
  }
  if (f.statusCode > 0) {
    const detail = f.error && f.error !== `HTTP ${f.statusCode}` ? ` (${f.error})` : "";
    return `HTTP ${f.statusCode}${detail} ${tries}`;
  }
  return `${f.error || "failed"} ${tries}`;
}

const webhookLink = (baseUrl: string, id: string): string => `${baseUrl}/webhooks/${encodeURIComponent(id)}`;

/** The UI's webhook list filtered to an endpoint and a status (the list's own query parameters). */
export const filteredList = (baseUrl: string, endpointId: string, status: string): string =>
  `${baseUrl}/webhooks?endpoint=${encodeURIComponent(endpointId)}&status=${encodeURIComponent(status)}`;

/** One message for an endpoint's failures of one window. */
export function renderFailureGroup(g: FailureGroup, baseUrl: string): string {
  const first = g.sample[0]!;
  const deadOnly = g.sample.every((f) => f.status === "dead_letter");
  const icon = deadOnly ? "☠️" : "❌";
  if (g.count === 1) {
    const title = first.status === "dead_letter" ? "Webhook dead-lettered" : "Webhook failed";
    return [
      `${icon} <b>${title}</b> on <b>${e(first.endpointName)}</b>${first.eventType ? ` (${e(first.eventType)})` : ""}${first.destinationId ? ` → <code>${e(first.destinationId)}</code>` : ""}`,
      `<code>${e(first.webhookId)}</code>: ${e(reason(first))}`,
      `<a href="${escapeHtml(webhookLink(baseUrl, first.webhookId))}">Open in Hookly</a>`,
    ].join("\n");
  }
  const lines = [`${icon} <b>${g.count} webhooks failed</b> on <b>${e(first.endpointName)}</b>`];
  for (const f of g.sample) {
    const what = [f.eventType ? e(f.eventType) : "", f.destinationId ? `→ <code>${e(f.destinationId)}</code>` : ""].filter(Boolean).join(" ");
    lines.push(`• <a href="${escapeHtml(webhookLink(baseUrl, f.webhookId))}">${e(f.webhookId)}</a>${what ? ` ${what}` : ""}: ${e(reason(f))}`);
  }
  // note: the list of the endpoint's failures (a UI filter), not just the endpoint: that is what needs looking at.
  const listLink = `<a href="${escapeHtml(filteredList(baseUrl, g.endpointId, deadOnly ? "dead_letter" : "failed"))}">Open the failed webhooks</a>`;
  const more = g.count - g.sample.length;
  lines.push(more > 0 ? `…and ${more} more. ${listLink}` : listLink);
  return lines.join("\n");
}

/** The hub has been down too long. */
export function renderHubDown(a: HubDownAlert, now: number, baseUrl: string): string {
  const hub = a.hubName ? ` <b>${e(a.hubName)}</b> (<code>${e(a.hubId)}</code>)` : a.hubId ? ` <code>${e(a.hubId)}</code>` : "";
  const queued = a.queued === undefined ? "Webhooks" : a.queued === 1 ? "1 webhook waits for it; it is" : `${a.queued} webhooks wait for it; they are`;
  return [
    `🔌 <b>Hub</b>${hub} <b>disconnected</b> for ${formatDuration(now - a.since)}`,
    a.queued === undefined ? "Webhooks are stored and will be delivered when it reconnects." : `${queued} stored and will be delivered when it reconnects.`,
    `<a href="${escapeHtml(`${baseUrl}/status`)}">Status</a>`,
  ].join("\n");
}

/** The hub is back after a down alert. */
export function renderHubUp(a: HubUpAlert, now: number, baseUrl: string): string {
  const hub = a.hubName ? ` <b>${e(a.hubName)}</b> (<code>${e(a.hubId)}</code>)` : a.hubId ? ` <code>${e(a.hubId)}</code>` : "";
  return [
    `✅ <b>Hub</b>${hub} <b>connected again</b> after ${formatDuration(now - a.downSince)}${a.queued ? `; delivering the ${a.queued} webhooks that waited` : ""}`,
    `<a href="${escapeHtml(`${baseUrl}/status`)}">Status</a>`,
  ].join("\n");
}

/** A hub refuses a destination: a configuration problem, told once per hold. */
export function renderDestinationHeld(a: DestinationHeldAlert, baseUrl: string): string {
  return [
    `⛔ <b>Destination held</b> on <b>${e(a.endpointName)}</b>: hub <code>${e(a.hubId)}</code> refuses ${e(a.url)}`,
    `${e(a.error)}. Its webhooks wait (none is failed); allow the URL in the hub's HUB_ALLOWED_DESTINATIONS and restart the hub.`,
    `<a href="${escapeHtml(`${baseUrl}/endpoints/${encodeURIComponent(a.endpointId)}`)}">Open the endpoint</a>`,
  ].join("\n");
}

const statusLink = (baseUrl: string): string => `<a href="${escapeHtml(`${baseUrl}/status`)}">Status</a>`;

/** The database's storage refuses writes or runs out of room: the storage service's summary, once per outage. */
export function renderStorageDegraded(a: StorageDegradedAlert, baseUrl: string): string {
  const summary = a.summary ? `${a.summary.charAt(0).toUpperCase()}${a.summary.slice(1)}` : "Storage refuses writes";
  return [`⚠️ <b>Storage degraded</b> since ${e(new Date(a.since).toISOString())}`, e(summary), statusLink(baseUrl)].join("\n");
}

/** The storage outage is over. */
export function renderStorageRecovered(a: StorageRecoveredAlert, baseUrl: string): string {
  return [`✅ <b>Storage recovered</b> after ${formatDuration(a.at - a.since)}; ingest, dispatch and alerts resume`, statusLink(baseUrl)].join("\n");
}

/** A line added to the next message when alerts had to be dropped (storage refused them and memory was full). */
export function renderDropped(count: number): string {
  return `⚠️ ${plural(count, "alert was", "alerts were")} dropped: storage refused to record them and too many waited in memory.`;
}

/** Callback data of a queue button: `<action>:<webhook id>:<destination id>`, or `m::<destination id>` to mute. */
export function queueButtonData(action: "r" | "s" | "m", webhookId: string, destinationId: string): string {
  return `${action}:${action === "m" ? "" : webhookId}:${destinationId}`;
}

/** Stuck destinations with buttons in one message; beyond this many, the rest are listed without. */
export const MAX_BUTTON_ROWS = 3;

/**
 * One message for the stuck and recovered queues of one group window: each
 * stuck one with its failing webhook, event type, how long and how often it
 * failed, its last answer and excerpt, how many wait behind it, a link to its
 * pending list, and buttons (Retry now, Skip, Mute); each recovered one with
 * how long it was stuck. A destination stuck and recovered within the window
 * is told as recovered only.
 */
export function renderQueueGroup(rows: (AlertRow & (QueueStuckAlert | QueueRecoveredAlert))[], baseUrl: string): AlertMessage {
  const recovered = new Map<string, QueueRecoveredAlert>();
  for (const r of rows) if (r.kind === "queue_recovered") recovered.set(r.destinationId, r);
  const stuck = new Map<string, QueueStuckAlert>();
  for (const r of rows) if (r.kind === "queue_stuck" && !recovered.has(r.destinationId)) stuck.set(r.destinationId, r);
  const lines: string[] = [];
  const buttons: AlertButton[][] = [];
  const where = (a: QueueStuckAlert | QueueRecoveredAlert) => `<b>${e(a.endpointName)}</b> → ${e(a.destinationName)} (<code>${e(a.destinationId)}</code>)`;
  if (stuck.size > 0) {
    lines.push(stuck.size === 1 ? "⏳ <b>Queue stuck</b>" : `⏳ <b>${stuck.size} queues stuck</b>`);
    for (const a of stuck.values()) {
      const last = a.statusCode > 0 ? `HTTP ${a.statusCode}${a.error && a.error !== `HTTP ${a.statusCode}` ? ` (${a.error})` : ""}` : a.error || "no answer";
      lines.push(
        `${where(a)}`,
        `<code>${e(a.webhookId)}</code>${a.eventType ? ` (${e(a.eventType)})` : ""} failing for ${formatDuration(a.at - a.failingSince)}, ${plural(a.attempts, "attempt")}; last: ${e(last)}`,
        ...(a.responseExcerpt ? [`<blockquote>${e(a.responseExcerpt)}</blockquote>`] : []),
        `${plural(a.waiting, "webhook waits", "webhooks wait")} at this destination. <a href="${escapeHtml(filteredList(baseUrl, a.endpointId, "pending"))}">Open its queue</a>`,
      );
      if (buttons.length < MAX_BUTTON_ROWS) {
        const tag = stuck.size > 1 ? ` ${buttons.length + 1}` : "";
        buttons.push([
          { text: `🔁 Retry now${tag}`, data: queueButtonData("r", a.webhookId, a.destinationId) },
          { text: `⏭ Skip${tag}`, data: queueButtonData("s", a.webhookId, a.destinationId) },
          { text: `🔇 Mute${tag}`, data: queueButtonData("m", a.webhookId, a.destinationId) },
        ]);
      }
    }
  }
  for (const a of recovered.values()) {
    lines.push(
      `✅ <b>Queue moving again</b>: ${where(a)} after ${formatDuration(a.at - a.stuckSince)} stuck; ${plural(a.waiting, "webhook waits", "webhooks wait")}`,
    );
  }
  return buttons.length > 0 ? { text: lines.join("\n"), buttons } : { text: lines.join("\n") };
}
