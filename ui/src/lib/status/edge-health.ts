/**
 * What the top bar and the banners under it may claim about the edge and its hubs, from what the
 * status poll last saw (`GetStatus` every few seconds, see live/status.svelte.ts): whether the
 * edge answered at all, and when it last did; which hubs are offline, what waits for them and
 * when they were last seen. Nothing here claims "connected" from an answer that is not the
 * latest, or from one too old to trust. Pure functions of plain objects and the time.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { formatCount } from "$lib/format/bytes";
import { absoluteTime, toDate } from "$lib/format/time.svelte";
import { activeHubs, hubSummary, type HubLike } from "$lib/hubs/hub-state";
import { sinceText, type TimeStyle } from "./storage";

/**
 * How old the last good answer may be before the top bar stops trusting it (ms), even without a
 * failed poll (a poll that hangs, a tab that was asleep). Three polls.
 */
export const STALE_AFTER_MS = 15_000;

/** Why the last status poll failed: no answer at all, or an answer that was an error. */
export type FailureKind = "unreachable" | "error";

/** The last status poll's failure. */
export interface EdgeFailure {
  kind: FailureKind;
  /** What the edge answered (for `error`; empty for `unreachable`). */
  message: string;
  /** When polls started failing (ms); kept while they keep failing. */
  since: number;
}

/** What the status poll knows: when the edge last answered, and the failure since, if any. */
export interface EdgeContact {
  /** When the last successful poll finished (ms); undefined before the first. */
  lastOkAt: number | undefined;
  failure: EdgeFailure | undefined;
}

/**
 * Whether a failed call means the edge could not be reached (the network failed, a proxy in
 * front of it answered 502/503/504, or it did not answer in time) rather than an answer that was
 * an error.
 */
export function failureKind(err: unknown): FailureKind {
  const e = ConnectError.from(err);
  if (e.code === Code.Unavailable || e.code === Code.DeadlineExceeded) return "unreachable";
  // note: fetch rejects with a TypeError when there is no answer (refused, reset, DNS, offline).
  if (e.code === Code.Unknown && e.cause instanceof TypeError) return "unreachable";
  return "error";
}

/** A failed poll as {@link EdgeFailure} fields: its kind, and for an error answer what it said ("internal error"). */
export function describeFailure(err: unknown): Pick<EdgeFailure, "kind" | "message"> {
  const kind = failureKind(err);
  if (kind === "unreachable") return { kind, message: "" };
  const e = ConnectError.from(err);
  return { kind, message: e.rawMessage.trim() || Code[e.code] || "an error" };
}

/**
 * What the status poll knows after one more poll: a success records when; a failure keeps the
 * time polls started failing. An expired session is not the edge's fault (sign-in takes over) and
 * an abandoned poll says nothing: both leave it as it was.
 */
export function afterPoll(contact: EdgeContact, outcome: { ok: true } | { ok: false; error: unknown }, at: number): EdgeContact {
  if (outcome.ok) return { lastOkAt: at, failure: undefined };
  const e = ConnectError.from(outcome.error);
  if (e.code === Code.Unauthenticated || e.code === Code.Canceled) return contact;
  return { lastOkAt: contact.lastOkAt, failure: { ...describeFailure(e), since: contact.failure?.since ?? at } };
}

/** The banner for an edge that does not answer the status poll. */
export interface EdgeBanner {
  title: string;
  /** "Last reached at 07:10 (3 min ago)." or "Not reached since this page opened." */
  lastReached: string;
  /** What it means for what is on screen, and what happens next. */
  detail: string;
}

/** The banner while the status poll fails, or undefined while it does not. */
export function edgeBanner(contact: EdgeContact, now: number, pollMs: number, style: TimeStyle = {}): EdgeBanner | undefined {
  const f = contact.failure;
  if (!f) return undefined;
  const lastReached =
    contact.lastOkAt === undefined ? "Not reached since this page was opened." : `Last reached at ${atWithAge(new Date(contact.lastOkAt), now, style)}.`;
  const retry = `Trying again every ${Math.round(pollMs / 1000)} s; what this page shows may be out of date.`;
  if (f.kind === "unreachable") {
    return { title: "Cannot reach the edge", lastReached, detail: `Check your connection, and that the edge is running. ${retry}` };
  }
  return { title: "The edge cannot report its status", lastReached, detail: `It answered: ${f.message}. ${retry}` };
}

/** "07:10 (3 min ago)", or "07:10 (less than a minute ago)". */
function atWithAge(date: Date, now: number, style: TimeStyle): string {
  const { time, age } = sinceText(date, now, style);
  return `${time} (${age === "< 1 min" ? "less than a minute" : age} ago)`;
}

/** The fields of a hub the top bar and the offline banner read. */
export type HubView = HubLike & {
  since?: Timestamp;
  lastSeenAt?: Timestamp;
  queueDepth: bigint;
  inFlight: bigint;
  /** How many destinations it delivers to. */
  destinations: number;
};

/** The one-hub summary of `GetStatus` (an edge without the hub registry sends only this). */
export interface HubStatusLike {
  connected: boolean;
  since?: Timestamp;
  lastSeenAt?: Timestamp;
  hubId: string;
  hubVersion: string;
  inFlight: bigint;
}

/** What the top bar's hub badge shows. */
export interface HubBadgeView {
  /** unknown: no trustworthy answer (none yet, the last poll failed, or it is stale). */
  tone: "unknown" | "up" | "some" | "down";
  /** "Hub connected", "2/3 hubs connected", "Hub offline", "Hub unknown", "Hub…". */
  label: string;
  /** Shorter label for phones ("2/3 hubs"). */
  short: string;
  /** data-connected: "true" / "false" only from a fresh answer, else "unknown". */
  connected: "true" | "false" | "unknown";
  /** Set for several hubs from a fresh answer. */
  counts?: { connected: number; total: number };
  /** The tooltip, one line per entry. */
  detail: string[];
}

/**
 * The hub badge from the last status answer and whether it can be trusted: "connected" only when
 * the latest poll succeeded, recently, and saw a hub connected.
 */
export function hubBadge(status: HubStatusLike | undefined, hubs: readonly HubView[], contact: EdgeContact, now: number, style: TimeStyle = {}): HubBadgeView {
  const at = (ts: Timestamp | undefined) => {
    const d = toDate(ts);
    return d ? ` since ${sinceText(d, now, style).time}` : "";
  };
  if (!status || contact.lastOkAt === undefined) {
    const detail = contact.failure ? [`Cannot tell: the edge has not answered since this page was opened.`] : ["Checking the hub…"];
    return { tone: "unknown", label: contact.failure ? "Hub unknown" : "Hub…", short: contact.failure ? "Hub ?" : "Hub…", connected: "unknown", detail };
  }
  const summary = hubSummary(hubs);
  const several = summary.total > 1;
  const stale = contact.failure !== undefined || now - contact.lastOkAt > STALE_AFTER_MS;
  if (stale) {
    const last = several ? summary.label.toLowerCase() : status.connected ? "hub connected" : "hub offline";
    const why =
      contact.failure?.kind === "error" ? "The edge cannot report its status" : contact.failure ? "Cannot reach the edge" : "No recent answer from the edge";
    return {
      tone: "unknown",
      label: "Hub unknown",
      short: "Hub ?",
      connected: "unknown",
      detail: [`${why}; hub state unknown.`, `Last known at ${sinceText(new Date(contact.lastOkAt), now, style).time}: ${last}.`],
    };
  }
  if (several) {
    const tone = summary.connected === 0 ? "down" : summary.connected < summary.total ? "some" : "up";
    const detail = activeHubs(hubs).map((h) =>
      h.connected ? `${h.name}: connected${at(h.since)}, ${h.inFlight} in flight` : `${h.name}: offline${at(h.since)}, ${formatCount(h.queueDepth)} queued`,
    );
    return {
      tone,
      label: summary.label,
      short: `${summary.connected}/${summary.total} hubs`,
      connected: String(status.connected) as "true" | "false",
      counts: { connected: summary.connected, total: summary.total },
      detail,
    };
  }
  if (!status.connected) {
    return {
      tone: "down",
      label: "Hub offline",
      short: "Hub offline",
      connected: "false",
      detail: [`No hub connected${at(status.since)}. Webhooks are stored and wait until one connects.`],
    };
  }
  const who = [status.hubId, status.hubVersion && `v${status.hubVersion}`].filter(Boolean).join(" ");
  return {
    tone: "up",
    label: "Hub connected",
    short: "Hub connected",
    connected: "true",
    counts: summary.total === 1 ? { connected: summary.connected, total: 1 } : undefined,
    detail: [`Hub ${who} connected${at(status.since)}, ${status.inFlight} in flight.`.replace(/\s+/g, " ")],
  };
}

/** One offline hub in the banner. */
export interface OfflineHub {
  id: string;
  name: string;
  /** "3 webhooks queued for it", "nothing queued for it", or "" when the edge does not say. */
  queued: string;
  /** "last seen 07:10 (3 min ago)", "never connected". */
  lastSeen: string;
  /** For `title`: the exact last-seen time. */
  lastSeenExact?: string;
}

/** The banner for hubs that are offline. */
export interface HubsBanner {
  /** 'Hub "home" is offline', "2 of 3 hubs are offline", "The hub is offline". */
  title: string;
  hubs: OfflineHub[];
  /** What it means. */
  detail: string;
}

/**
 * The banner while a hub that should be connected is not, from a fresh answer only (undefined
 * otherwise, and while the edge cannot be reached: then nothing is known about the hubs).
 * Revoked hubs, and hubs that have no credential to connect with, are not expected to connect.
 * note: a hub with no destination and nothing queued holds nothing up: the top bar counts it as
 * offline, but it gets no banner on every page.
 */
export function hubsBanner(
  status: HubStatusLike | undefined,
  hubs: readonly HubView[],
  contact: EdgeContact,
  now: number,
  style: TimeStyle = {},
): HubsBanner | undefined {
  if (!status || contact.lastOkAt === undefined || contact.failure || now - contact.lastOkAt > STALE_AFTER_MS) return undefined;
  const active = activeHubs(hubs);
  const detail = "Webhooks for its destinations are stored and wait in their queues until it connects.";
  if (active.length === 0) {
    // An edge without the hub registry: only the summary.
    if (hubs.length > 0 || status.connected) return undefined;
    const seen = toDate(status.lastSeenAt);
    return {
      title: "The hub is offline",
      hubs: [
        { id: status.hubId, name: status.hubId || "hub", queued: "", lastSeen: lastSeenText(seen, now, style), lastSeenExact: seen && absoluteTime(seen) },
      ],
      detail,
    };
  }
  const offline = active.filter((h) => !h.connected && (h.destinations > 0 || h.queueDepth > 0n));
  if (offline.length === 0) return undefined;
  const title = offline.length === 1 ? `Hub "${offline[0]!.name}" is offline` : `${offline.length} of ${active.length} hubs are offline`;
  return {
    title,
    hubs: offline.map((h) => {
      const seen = toDate(h.lastSeenAt);
      return { id: h.id, name: h.name, queued: queuedText(h.queueDepth), lastSeen: lastSeenText(seen, now, style), lastSeenExact: seen && absoluteTime(seen) };
    }),
    detail: offline.length === 1 ? detail : "Webhooks for their destinations are stored and wait in their queues until they connect.",
  };
}

/** "1 webhook queued for it", "12 webhooks queued for it", "nothing queued for it". */
export function queuedText(depth: bigint): string {
  if (depth === 0n) return "nothing queued for it";
  return `${formatCount(depth)} webhook${depth === 1n ? "" : "s"} queued for it`;
}

/** "last seen 07:10 (3 min ago)", or "never connected" without a time. */
export function lastSeenText(seen: Date | undefined, now: number, style: TimeStyle = {}): string {
  return seen ? `last seen ${atWithAge(seen, now, style)}` : "never connected";
}
