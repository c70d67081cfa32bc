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
 * - Sending: one message at a time, each with a timeout; a failure backs off
 *   exponentially (`retryInitialMs` … `retryMaxMs`) and is logged once per
 *   outage, with another line when Telegram recovers. Rows are marked sent
 *   right after Telegram accepts.
 *
 * note: the outbox is at least once. If the process dies between Telegram's
 * answer and the UPDATE that marks the rows sent (microseconds), or a send
 * times out after Telegram did accept it, that message is sent again after the
 * restart / the backoff.
 */
import type { Clock } from "../clock.js";
import type { EndpointService } from "../endpoint/endpoint.service.js";
import type { EdgeEvents } from "../events.js";
import type { Logger } from "../logger.js";
import type { FinalFailure, HeldDestination, RelayService } from "../relay/relay.service.js";
import { GROUP_SAMPLE_SIZE, renderDestinationHeld, renderFailureGroup, renderHubDown, renderHubUp } from "./notify.message.js";
import { hubGroup, type AlertRow, type AlertStore } from "./notify.store.js";

/** Sends one HTML message; rejects with an Error whose message is safe to log (no token). */
export type AlertSend = (html: string, signal: AbortSignal) => Promise<void>;

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
  /**
   * The hubs alerts are about, with their name and what waits for them; a
   * hub that never connected and has no destinations is not missed.
   */
  hubs: () => { id: string; name: string; bootstrap: boolean; everConnected: boolean; destinations: number; queued: number }[];
  baseUrl: string;
  send: AlertSend;
  options: NotifyOptions;
}) {
  const { store, clock, log, events, endpoints, relay, baseUrl, send } = deps;
  const o = {
    pollIntervalMs: 1000,
    sendTimeoutMs: 10_000,
    retryInitialMs: 1000,
    retryMaxMs: 300_000,
    keepSentMs: 7 * 86_400_000,
    ...deps.options,
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
      store.insert(st.group, now, now, { kind: "hub_up", downSince: since, hubId, hubName: info?.name ?? hubId, queued: info?.queued ?? 0 });
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
      store.insert(st.group, now, now, { kind: "hub_down", since: st.downSince, hubId: h.id, hubName: h.name, queued: h.queued });
    }
  };

  /** The message for a due row, and how to mark it (and its group) sent. */
  const prepare = (row: AlertRow, now: number): { text: string; markSent: () => void } | undefined => {
    if (row.kind === "webhook_failed") {
      const group = store.failureGroup(row.groupKey, now, GROUP_SAMPLE_SIZE);
      if (!group) return undefined;
      return { text: renderFailureGroup(group, baseUrl), markSent: () => store.markGroupSent(group, now, clock.now()) };
    }
    const text =
      row.kind === "hub_down"
        ? renderHubDown(row, now, baseUrl)
        : row.kind === "destination_held"
          ? renderDestinationHeld(row, baseUrl)
          : renderHubUp(row, row.createdAt, baseUrl);
    return { text, markSent: () => store.markSent(row.id, clock.now()) };
  };

  const sendWithTimeout = async (text: string): Promise<void> => {
    abort = new AbortController();
    const timeout = setTimeout(() => abort?.abort(new Error(`timed out after ${o.sendTimeoutMs} ms`)), o.sendTimeoutMs);
    try {
      await send(text, abort.signal);
    } finally {
      clearTimeout(timeout);
      abort = undefined;
    }
  };

  const onSendFailed = (err: unknown): void => {
    failures += 1;
    const delay = Math.min(o.retryMaxMs, o.retryInitialMs * 2 ** Math.min(failures - 1, 30));
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

  /** Sends every due message, oldest first, until none is due or a send fails. */
  const drain = async (): Promise<void> => {
    while (!stopped) {
      const now = clock.now();
      const row = store.nextDue(now);
      if (!row) return;
      const msg = prepare(row, now);
      if (!msg) continue;
      try {
        await sendWithTimeout(msg.text);
      } catch (err) {
        if (stopped) return;
        onSendFailed(err);
        return;
      }
      msg.markSent();
      onSent();
    }
  };

  /** One pass: hub check, purge, and (unless backing off) sending. */
  const pass = async (): Promise<void> => {
    const now = clock.now();
    checkHubs(now);
    if (now - lastPurge > 3_600_000) {
      lastPurge = now;
      store.purgeSent(now - o.keepSentMs);
    }
    if (performance.now() < retryAt) return;
    await drain();
  };

  const runPass = (): Promise<void> =>
    (running = pass()
      .catch((err: unknown) => log.error({ err }, "alert sender failed"))
      .finally(() => {
        running = undefined;
      }));
  const onTimer = (): void => {
    if (!running && !stopped) void runPass();
  };

  return {
    /**
     * Writes a final failure to the outbox (synchronously; called on the
     * delivery path, so it is one small insert and never waits for Telegram).
     */
    recordFailure(f: FinalFailure): void {
      const now = clock.now();
      const dueAt = store.openWindowDueAt(f.endpointId, now) ?? now + o.groupWindowMs;
      store.insert(f.endpointId, now, dueAt, {
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
      });
    },
    /** Writes "a hub refuses this destination" to the outbox (the dispatcher calls it once per hold). */
    recordHeld(h: HeldDestination): void {
      const now = clock.now();
      store.insert(`held:${h.destinationId}`, now, now, {
        kind: "destination_held",
        destinationId: h.destinationId,
        endpointId: h.endpointId,
        endpointName: endpoints.find(h.endpointId)?.name ?? h.endpointId,
        hubId: h.hubId,
        url: h.url,
        error: h.error,
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
      timer = setInterval(onTimer, o.pollIntervalMs);
      timer.unref();
      onTimer();
    },
    /** Stops the loop, aborts a send in progress and waits for it to end. */
    async stop(): Promise<void> {
      stopped = true;
      unsubscribe();
      if (timer) clearInterval(timer);
      abort?.abort(new Error("edge shutting down"));
      await running;
    },
    /** Runs one pass now, after the one in progress if any (tests). */
    async tick(): Promise<void> {
      while (running) await running;
      await runPass();
    },
  };
}
