/**
 * Alerts: writes what happened to the outbox at once, and a sender loop sends
 * due messages to Telegram off the delivery path.
 *
 * - A webhook's final failure (4xx or dead letter) becomes an outbox row in
 *   the same synchronous step that reports it (`recordFailure`).
 * - Grouping: an endpoint's first failure opens a window of
 *   ALERT_GROUP_WINDOW_MS; every failure of that endpoint until the window
 *   ends joins it, and the whole group goes out as one message when the window
 *   ends (Alertmanager's group_wait). So a single failure is reported after at
 *   most one window, and a burst of any size is one message with its count and
 *   the first few ids. A failure after the window's end opens the next window.
 *   If Telegram was unreachable meanwhile, every group that became due is
 *   merged into one message per endpoint once it is back.
 * - Hub: disconnected for HUB_DOWN_ALERT_AFTER_MS (an edge that starts without
 *   a hub counts as disconnected from its start) → a "down" row; on reconnect,
 *   only if a down row was written (even by a previous process) → a "back" row.
 * - Storage (storage.service.ts, "storage.changed"): an outage's start → a
 *   "storage degraded" row with the storage service's summary; its end → a
 *   "storage recovered" row with the outage's length. One of each per outage,
 *   even across a restart (a degraded row without a recovered one is still
 *   open, as for hubs).
 * - Sending: one message at a time, each with a timeout; a failure backs off
 *   exponentially (`retryInitialMs` … `retryMaxMs`) and is logged once per
 *   outage, with another line when Telegram recovers. Rows are marked sent
 *   right after Telegram accepts.
 * - When the outbox itself cannot be written (a storage error, reported to the
 *   storage service as area "alerts"): storage alerts are kept in memory and
 *   sent directly, before any outbox row, without touching the database; every
 *   other alert is kept in memory (`memoryLimit`, oldest kept, the rest
 *   counted and mentioned in the next message sent) and written to the outbox,
 *   with its original times, as soon as writes work again ("storage.changed"
 *   with writable, and every sender pass). A message Telegram accepted whose
 *   rows cannot be marked sent is remembered and sending stops until the mark
 *   is written, so it is not sent again on every pass. None of this throws out
 *   of a listener or the timer.
 *
 * note: the outbox is at least once. If the process dies between Telegram's
 * answer and the UPDATE that marks the rows sent (microseconds, or for as long
 * as storage refuses that UPDATE), or a send times out after Telegram did
 * accept it, that message is sent again after the restart / the backoff.
 * Alerts kept in memory while storage refused them are lost with the process.
 */
import { backoffDelay } from "@hookly/proto/backoff";
import type { Clock } from "../clock.js";
import type { EndpointService } from "../endpoint/endpoint.service.js";
import type { EdgeEventMap, EdgeEvents } from "../events.js";
import type { Logger } from "../logger.js";
import type { FinalFailure, HeldDestination, RelayService } from "../relay/relay.service.js";
import type { StorageService } from "../storage/storage.service.js";
import {
  type AlertButton,
  type AlertMessage,
  GROUP_SAMPLE_SIZE,
  renderQueueGroup,
  renderDestinationHeld,
  renderDropped,
  renderFailureGroup,
  renderHubDown,
  renderHubUp,
  renderStorageDegraded,
  renderStorageRecovered,
} from "./notify.message.js";
import {
  QUEUES_GROUP,
  type QueueRecoveredAlert,
  type QueueStuckAlert,
  STORAGE_GROUP,
  hubGroup,
  type AlertData,
  type AlertRow,
  type AlertStore,
  type NewAlert,
  type StorageDegradedAlert,
  type StorageRecoveredAlert,
  type WebhookFailedAlert,
} from "./notify.store.js";

/** Sends one HTML message (with buttons under it, if any); rejects with an Error whose message is safe to log (no token). */
export type AlertSend = (html: string, signal: AbortSignal, buttons?: AlertButton[][]) => Promise<void>;

/** Timing of the alerts. */
export interface NotifyOptions {
  /** ALERT_GROUP_WINDOW_MS. */
  groupWindowMs: number;
  /** HUB_DOWN_ALERT_AFTER_MS. */
  hubDownAfterMs: number;
  /** How often the sender looks for due alerts and the hub check runs. Default 1000. */
  pollIntervalMs?: number;
  /** Per-message timeout towards Telegram. Default 10000. */
  sendTimeoutMs?: number;
  /** First retry delay after a failed send; doubles per failure. Default 1000. */
  retryInitialMs?: number;
  /** Retry delay cap. Default 300000 (5 min). */
  retryMaxMs?: number;
  /** Sent rows are deleted this long after sending. Default 7 days. */
  keepSentMs?: number;
  /** Alerts kept in memory while the outbox cannot be written; beyond this they are counted and dropped. Default 1000. */
  memoryLimit?: number;
}

/** The alerts service. */
export type NotifyService = ReturnType<typeof createNotifyService>;

/** Creates the alerts service; call start() once the edge listens. */
export function createNotifyService(deps: {
  store: AlertStore;
  clock: Clock;
  log: Logger;
  events: EdgeEvents;
  endpoints: Pick<EndpointService, "find">;
  relay: Pick<RelayService, "isConnected">;
  /** Where storage errors of the outbox are reported, and what a storage alert says. */
  storage: Pick<StorageService, "failed" | "succeeded" | "status">;
  /**
   * The hubs alerts are about, with their name and what waits for them; a
   * hub that never connected and has no destinations is not missed.
   */
  hubs: () => { id: string; name: string; bootstrap: boolean; everConnected: boolean; destinations: number; queued: number }[];
  /** What a queue alert names of a destination: its endpoint's name, its own (or its URL), what waits in it. */
  queueInfo?: (destinationId: string) => { endpointName: string; destinationName: string; waiting: number } | undefined;
  baseUrl: string;
  send: AlertSend;
  options: NotifyOptions;
}) {
  const { store, clock, log, events, endpoints, relay, storage, baseUrl, send } = deps;
  const o = {
    pollIntervalMs: 1000,
    sendTimeoutMs: 10_000,
    retryInitialMs: 1000,
    retryMaxMs: 300_000,
    keepSentMs: 7 * 86_400_000,
    memoryLimit: 1000,
    ...deps.options,
  };

  // Alerts the outbox refused (a storage error): storage alerts go out directly, the others wait for writes to work.
  const direct: (NewAlert & { data: StorageDegradedAlert | StorageRecoveredAlert })[] = [];
  const unwritten: NewAlert[] = [];
  let dropped = 0;
  // A message Telegram accepted whose rows could not be marked sent: nothing else is sent before this mark is written.
  let unmarked: (() => void) | undefined;

  /** Runs a write to the outbox; false (and reported) when storage refused it. Other errors are thrown. */
  const written = (write: () => void): boolean => {
    try {
      write();
    } catch (err) {
      if (storage.failed("alerts", err)) return false;
      throw err;
    }
    storage.succeeded("alerts");
    return true;
  };
  /** Keeps an alert the outbox refused, within memoryLimit. */
  const keep = <A extends NewAlert>(queue: A[], a: A): void => {
    if (direct.length + unwritten.length < o.memoryLimit) queue.push(a);
    else dropped += 1;
  };
  /** Writes the alerts kept in memory to the outbox, in one transaction; true when none is left. */
  const flush = (): boolean => {
    if (unwritten.length === 0) return true;
    // note: taken out of the queue first: reporting the write to the storage service may emit "storage.changed",
    // whose listener flushes again.
    const rows = unwritten.splice(0);
    let ok: boolean;
    try {
      ok = written(() => store.insertAll(rows));
    } catch (err) {
      dropped += rows.length;
      log.error({ err, alerts: rows.length }, "could not write the alerts kept in memory to the outbox; dropped them");
      return true;
    }
    if (!ok) {
      unwritten.unshift(...rows);
      return false;
    }
    log.info({ alerts: rows.length }, "alerts kept in memory while storage refused them are in the outbox now");
    return true;
  };
  /** Writes the pending "sent" mark; true when there is none left. */
  const markPending = (): boolean => {
    const mark = unmarked;
    if (!mark) return true;
    try {
      mark();
    } catch (err) {
      if (storage.failed("alerts", err)) return false;
      // note: not a storage error, so retrying cannot help: give the mark up (the message may be sent again) rather
      // than stop every alert.
      log.error({ err }, "could not mark a sent alert; it may be sent again");
      unmarked = undefined;
      return true;
    }
    unmarked = undefined;
    storage.succeeded("alerts");
    return true;
  };
  /** Adds an alert to the outbox, or keeps it in memory when storage refuses it (after older ones still waiting). */
  const record = (a: NewAlert): void => {
    if (!(flush() && written(() => store.insert(a)))) keep(unwritten, a);
  };

  // Hub state, per hub. A "down" row without a later "back" row (maybe from before a restart) is still open.
  const hubState = new Map<string, { downSince: number | null; alerted: boolean; group: string }>();
  const stateOf = (hubId: string, bootstrap: boolean) => {
    let st = hubState.get(hubId);
    if (!st) {
      const group = hubGroup(hubId, bootstrap);
      const last = store.lastHub(group);
      st = { downSince: last?.kind === "hub_down" ? last.since : null, alerted: last?.kind === "hub_down", group };
      hubState.set(hubId, st);
    }
    return st;
  };
  const infoOf = (hubId: string) => deps.hubs().find((h) => h.id === hubId);

  // Sender state.
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let abort: AbortController | undefined;
  let stopped = true;
  let failures = 0;
  let failingSince = 0;
  let retryAt = 0;
  let lastPurge = 0;

  const onHubChanged = (hubId: string, connected: boolean): void => {
    const info = infoOf(hubId);
    const st = stateOf(hubId, info?.bootstrap ?? false);
    const now = clock.now();
    if (!connected) {
      st.downSince ??= now;
      return;
    }
    const since = st.downSince ?? now;
    st.downSince = null;
    if (st.alerted) {
      st.alerted = false;
      record({
        groupKey: st.group,
        createdAt: now,
        dueAt: now,
        data: { kind: "hub_up", downSince: since, hubId, hubName: info?.name ?? hubId, queued: info?.queued ?? 0 },
      });
    }
  };
  const unsubscribe = events.on("hub.changed", (e) => {
    try {
      onHubChanged(e.hubId, e.connected);
    } catch (err) {
      log.error({ err }, "could not record a hub alert");
    }
  });

  const checkHubs = (now: number): void => {
    for (const h of deps.hubs()) {
      const st = stateOf(h.id, h.bootstrap);
      if (st.downSince === null || st.alerted || now - st.downSince < o.hubDownAfterMs || (h.destinations === 0 && !h.everConnected)) continue;
      st.alerted = true;
      record({
        groupKey: st.group,
        createdAt: now,
        dueAt: now,
        data: { kind: "hub_down", since: st.downSince, hubId: h.id, hubName: h.name, queued: h.queued },
      });
    }
  };

  /** The message for a due row, and how to mark it (and its group) sent. */
  const prepare = (row: AlertRow, now: number): (AlertMessage & { markSent: () => void }) | undefined => {
    if (row.kind === "webhook_failed") {
      const group = store.failureGroup(row.groupKey, now, GROUP_SAMPLE_SIZE);
      if (!group) return undefined;
      return { text: renderFailureGroup(group, baseUrl), markSent: () => store.markGroupSent(group, now, clock.now()) };
    }
    if (row.kind === "queue_stuck" || row.kind === "queue_recovered") {
      const rows = store.dueRows(QUEUES_GROUP, now, 200) as (AlertRow & (QueueStuckAlert | QueueRecoveredAlert))[];
      if (rows.length === 0) return undefined;
      const maxId = Math.max(...rows.map((r) => r.id));
      return { ...renderQueueGroup(rows, baseUrl), markSent: () => store.markRowsSent(QUEUES_GROUP, now, maxId, clock.now()) };
    }
    return { text: render(row, row.createdAt, now), markSent: () => store.markSent(row.id, clock.now()) };
  };
  /** The message of one alert that is not a failure (those are grouped by `prepare`). */
  const render = (a: Exclude<AlertData, WebhookFailedAlert | QueueStuckAlert | QueueRecoveredAlert>, createdAt: number, now: number): string => {
    switch (a.kind) {
      case "hub_down":
        return renderHubDown(a, now, baseUrl);
      case "hub_up":
        return renderHubUp(a, createdAt, baseUrl);
      case "destination_held":
        return renderDestinationHeld(a, baseUrl);
      case "storage_degraded":
        return renderStorageDegraded(a, baseUrl);
      case "storage_recovered":
        return renderStorageRecovered(a, baseUrl);
    }
  };

  const sendWithTimeout = async (text: string, buttons?: AlertButton[][]): Promise<void> => {
    abort = new AbortController();
    const timeout = setTimeout(() => abort?.abort(new Error(`timed out after ${o.sendTimeoutMs} ms`)), o.sendTimeoutMs);
    try {
      await send(text, abort.signal, buttons);
    } finally {
      clearTimeout(timeout);
      abort = undefined;
    }
  };

  const onSendFailed = (err: unknown): void => {
    failures += 1;
    const delay = backoffDelay({ initialMs: o.retryInitialMs, maxMs: o.retryMaxMs, attempt: failures });
    retryAt = performance.now() + delay;
    if (failures === 1) {
      failingSince = Date.now();
      // note: logged once per outage; err is already token-free (see notify.extension.ts), and only its message is logged.
      log.warn(
        { error: err instanceof Error ? err.message : String(err), retryInMs: delay },
        "Telegram alerts failing; alerts stay in the outbox and are retried with backoff (logged again when it recovers)",
      );
    }
  };

  const onSent = (): void => {
    if (failures > 0) {
      log.info({ failedForMs: Date.now() - failingSince, failedSends: failures }, "Telegram alerts recovered");
    }
    failures = 0;
    retryAt = 0;
  };

  /** Sends one message (with the count of dropped alerts, if any); false when it failed (backing off). */
  const deliver = async (text: string, buttons?: AlertButton[][]): Promise<boolean> => {
    const droppedNow = dropped;
    try {
      await sendWithTimeout(droppedNow > 0 ? `${text}\n${renderDropped(droppedNow)}` : text, buttons);
    } catch (err) {
      if (!stopped) onSendFailed(err);
      return false;
    }
    dropped -= droppedNow;
    onSent();
    return true;
  };

  /**
   * Sends every due message until none is due or a send fails: storage alerts
   * the outbox refused first (they touch no database), then outbox rows, oldest
   * first. Stops while a sent message cannot be marked sent, or the outbox
   * cannot be read.
   */
  const drain = async (): Promise<void> => {
    while (!stopped) {
      const a = direct[0];
      if (!a) break;
      if (!(await deliver(render(a.data, a.createdAt, clock.now())))) return;
      direct.shift();
    }
    // note: while a sent message cannot be marked sent, nothing more is sent from the outbox (that message
    // included): the mark is retried on every pass and when storage says it is writable again.
    if (!markPending()) return;
    while (!stopped) {
      const now = clock.now();
      const msg = readOr(() => {
        const row = store.nextDue(now);
        return row ? (prepare(row, now) ?? null) : undefined;
      }, undefined);
      if (msg === undefined) return;
      if (msg === null) continue;
      if (!(await deliver(msg.text, msg.buttons))) return;
      unmarked = msg.markSent;
      if (!markPending()) return;
    }
  };

  /** One pass: hub check, purge, alerts kept in memory to the outbox, and (unless backing off) sending. */
  const pass = async (): Promise<void> => {
    const now = clock.now();
    checkHubs(now);
    if (now - lastPurge > 3_600_000) {
      lastPurge = now;
      written(() => store.purgeSent(now - o.keepSentMs));
    }
    flush();
    if (performance.now() < retryAt) return;
    await drain();
  };

  // note: the pass starts on the next microtask, once `running` is set: its first steps write to the outbox, which
  // may emit "storage.changed", whose listener calls onTimer — that must not start a second pass alongside.
  const runPass = (): Promise<void> =>
    (running = Promise.resolve()
      .then(pass)
      .catch((err: unknown) => log.error({ err }, "alert sender failed"))
      .finally(() => {
        running = undefined;
      }));
  const onTimer = (): void => {
    if (!running && !stopped) void runPass();
  };

  /** A read of the outbox, or `fallback` when storage refuses it (reported). Other errors are thrown. */
  const readOr = <T>(read: () => T, fallback: T): T => {
    try {
      return read();
    } catch (err) {
      if (storage.failed("alerts", err)) return fallback;
      throw err;
    }
  };

  // The storage outage reported and not yet ended (maybe by a previous process); read once, on first use.
  let outage: { since: number } | null | undefined;
  const openOutage = (): { since: number } | null => {
    if (outage === undefined) {
      const last = store.lastStorage();
      outage = last?.kind === "storage_degraded" ? { since: last.since } : null;
    }
    return outage;
  };
  /** Writes a storage alert; when the outbox refuses it, the sender sends it directly. */
  const recordStorage = (data: StorageDegradedAlert | StorageRecoveredAlert): void => {
    const now = clock.now();
    const a = { groupKey: STORAGE_GROUP, createdAt: now, dueAt: now, data };
    let ok = false;
    try {
      ok = flush() && written(() => store.insert(a));
    } catch (err) {
      log.error({ err }, "could not record a storage alert; sending it directly");
    }
    if (!ok) keep(direct, a);
  };
  /** Reports the end of the open outage, if one was reported. */
  const endOutage = (): void => {
    const open = readOr(openOutage, null);
    if (!open) return;
    outage = null;
    recordStorage({ kind: "storage_recovered", since: open.since, at: Date.now() });
  };
  const onStorageChanged = (degraded: boolean, writable: boolean): void => {
    if (degraded && !writable) {
      // note: a degraded row left open by a previous process is the same outage going on: not told twice.
      if (readOr(openOutage, null)) return;
      const status = storage.status();
      const since = status.degradedSince ?? Date.now();
      outage = { since };
      recordStorage({ kind: "storage_degraded", since, summary: status.summary ?? "" });
      return;
    }
    if (!writable) return;
    flush();
    markPending();
    if (!degraded) endOutage();
    onTimer();
  };
  const unsubscribeStorage = events.on("storage.changed", (e) => {
    try {
      onStorageChanged(e.degraded, e.writable);
    } catch (err) {
      log.error({ err }, "could not handle a storage change in alerts");
    }
  });

  /** A queue became stuck or recovered: one row in the queues' group window (a storm is one message). */
  const onQueueHealth = (e: EdgeEventMap["queue.health"]): void => {
    const info = deps.queueInfo?.(e.destinationId);
    if (!info) return;
    const now = clock.now();
    const dueAt = readOr(() => store.openGroupWindowDueAt(QUEUES_GROUP, now), undefined) ?? now + o.groupWindowMs;
    const base = { endpointId: e.endpointId, destinationId: e.destinationId, ...info };
    const h = e.health;
    const data: QueueStuckAlert | QueueRecoveredAlert =
      e.change === "stuck"
        ? {
            kind: "queue_stuck",
            ...base,
            at: e.at,
            webhookId: h.last?.webhookId ?? "",
            eventType: h.last?.eventType ?? null,
            failingSince: h.failingSince ?? e.at,
            attempts: h.attempts,
            statusCode: h.last?.statusCode ?? 0,
            error: h.last?.error ?? "",
            responseExcerpt: h.last?.responseExcerpt ?? null,
          }
        : { kind: "queue_recovered", ...base, stuckSince: h.stuckSince ?? e.at, at: e.at };
    record({ groupKey: QUEUES_GROUP, createdAt: now, dueAt, data });
  };
  const unsubscribeQueues = events.on("queue.health", (e) => {
    try {
      onQueueHealth(e);
    } catch (err) {
      log.error({ err }, "could not record a queue alert");
    }
  });

  /** End of the endpoint's group window still open at `now`, counting failures that wait in memory. */
  const openWindowDueAt = (endpointId: string, now: number): number | undefined => {
    let due: number | undefined;
    for (const a of unwritten) {
      if (a.groupKey === endpointId && a.data.kind === "webhook_failed" && a.dueAt > now) due = Math.max(due ?? 0, a.dueAt);
    }
    return due ?? readOr(() => store.openWindowDueAt(endpointId, now), undefined);
  };

  return {
    /**
     * Writes a final failure to the outbox (synchronously; called on the
     * delivery path, so it is one small insert and never waits for Telegram).
     * When storage refuses the insert, the failure waits in memory (see above).
     */
    recordFailure(f: FinalFailure): void {
      const now = clock.now();
      const dueAt = openWindowDueAt(f.endpointId, now) ?? now + o.groupWindowMs;
      record({
        groupKey: f.endpointId,
        createdAt: now,
        dueAt,
        data: {
          kind: "webhook_failed",
          endpointId: f.endpointId,
          endpointName: endpoints.find(f.endpointId)?.name ?? f.endpointId,
          webhookId: f.webhookId,
          destinationId: f.destinationId,
          eventType: f.eventType,
          status: f.status,
          statusCode: f.statusCode,
          error: f.error,
          attempts: f.attempts,
        },
      });
    },
    /** Writes "a hub refuses this destination" to the outbox (the dispatcher calls it once per hold). */
    recordHeld(h: HeldDestination): void {
      const now = clock.now();
      record({
        groupKey: `held:${h.destinationId}`,
        createdAt: now,
        dueAt: now,
        data: {
          kind: "destination_held",
          destinationId: h.destinationId,
          endpointId: h.endpointId,
          endpointName: endpoints.find(h.endpointId)?.name ?? h.endpointId,
          hubId: h.hubId,
          url: h.url,
          error: h.error,
        },
      });
    },
    /** Starts the sender loop (and sends what was due before a restart). */
    start(): void {
      if (!stopped) return;
      stopped = false;
      for (const h of deps.hubs()) {
        const st = stateOf(h.id, h.bootstrap);
        if (!relay.isConnected(h.id)) st.downSince ??= clock.now();
      }
      try {
        // An outage reported before a restart that is over by now ends here.
        if (storage.status().healthy) endOutage();
      } catch (err) {
        log.error({ err }, "could not record a storage alert");
      }
      timer = setInterval(onTimer, o.pollIntervalMs);
      timer.unref();
      onTimer();
    },
    /** Stops the loop, aborts a send in progress and waits for it to end. */
    async stop(): Promise<void> {
      stopped = true;
      unsubscribe();
      unsubscribeStorage();
      unsubscribeQueues();
      if (timer) clearInterval(timer);
      abort?.abort(new Error("edge shutting down"));
      await running;
      // A last try at the mark of a message Telegram accepted, so it is not sent again after a restart.
      markPending();
    },
    /** Runs one pass now, after the one in progress if any (tests). */
    async tick(): Promise<void> {
      while (running) await running;
      await runPass();
    },
  };
}
