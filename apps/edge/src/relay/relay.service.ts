/**
 * The dispatcher: owns every endpoint's queue on the edge and feeds the hub.
 *
 * Per endpoint ("lane"), webhooks go to the hub strictly in seq order, with up
 * to DISPATCH_WINDOW of them in flight (ordered pipelining) so the round trip
 * to the home network does not cap an endpoint's rate. The hub forwards one
 * lane's deliveries one after another. When an attempt fails transiently, the
 * lane's epoch is bumped: everything behind the failed webhook that is still
 * in flight becomes void (the hub answers SKIPPED without trying it) and the
 * lane restarts from the failed webhook when its retry is due. So webhook k+1
 * is never forwarded before k is delivered, failed or dead-lettered.
 *
 * Nothing here must survive a restart: the queue state is in SQLite; a hub
 * reconnect or an edge restart starts every lane again from its head, and the
 * hub sees again only what was in flight (at least once, same webhook id).
 */
import { create } from "@bufbuild/protobuf";
import { type DeliveryResult, DeliveryOutcome, DeliveryStartSchema, type DeliveryStart } from "@hookly/proto/gen/stream_pb";
import { judgeOutcome } from "@hookly/proto/outcome";
import type { Clock } from "../clock.js";
import type { EndpointService } from "../endpoint/endpoint.service.js";
import type { EdgeEvents } from "../events.js";
import { newId } from "../ids.js";
import type { Logger } from "../logger.js";
import { retryDelayMs, type QueueStore, type QueuedWebhook, type Settlement } from "../queue/queue.store.js";

/** The edge's view of one connected hub stream. */
export interface HubLink {
  /** Stream id. */
  readonly id: string;
  readonly hubId: string;
  readonly hubVersion: string;
  readonly connectedAt: number;
  /** Last time anything arrived from the hub. */
  lastSeenAt: number;
  /** Queues a delivery (and its body, chunked by the link) for sending. */
  sendDelivery(start: DeliveryStart, body: Buffer): void;
  /** Ends the stream. */
  close(reason: string): void;
}

/** A webhook that finally failed (for alerts). */
export interface FinalFailure {
  webhookId: string;
  endpointId: string;
  status: "failed" | "dead_letter";
  attempts: number;
  statusCode: number;
  error: string;
}

interface InFlight {
  deliveryId: string;
  lane: Lane;
  epoch: number;
  webhook: QueuedWebhook;
  attempt: number;
  bytes: number;
}

interface Lane {
  endpointId: string;
  epoch: number;
  /** Highest seq dispatched in this epoch; the next dispatch starts after it. */
  cursor: number;
  inflight: Map<string, InFlight>;
  inflightBytes: number;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
}

/** Dispatcher settings. */
export interface RelayOptions {
  dispatchWindow: number;
  dispatchWindowBytes: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** How often the dead-letter sweep and purge run (ms). */
  sweepIntervalMs?: number;
  retentionMs: number;
}

/** The relay service. */
export type RelayService = ReturnType<typeof createRelayService>;

const OUTCOME_NAMES: Record<number, string> = {
  [DeliveryOutcome.RESPONSE]: "response",
  [DeliveryOutcome.TIMEOUT]: "timeout",
  [DeliveryOutcome.CONNECTION_ERROR]: "connection_error",
  [DeliveryOutcome.DESTINATION_NOT_ALLOWED]: "destination_not_allowed",
  [DeliveryOutcome.SKIPPED]: "skipped",
  [DeliveryOutcome.INVALID]: "invalid",
};

/** Joins the endpoint's destination URL and the webhook's original query string. */
export function destinationWithQuery(destination: string, query: string): string {
  if (!query) return destination;
  const url = new URL(destination);
  url.search = url.search ? `${url.search.slice(1)}&${query}` : query;
  return url.toString();
}

/** Creates the dispatcher. Call start() to begin its timers. */
export function createRelayService(deps: {
  store: QueueStore;
  endpoints: EndpointService;
  clock: Clock;
  events: EdgeEvents;
  log: Logger;
  options: RelayOptions;
  onFinalFailure?: (f: FinalFailure) => void;
}) {
  const { store, endpoints, clock, events, log, options } = deps;
  let link: HubLink | undefined;
  let lastChangeAt = clock.now();
  let lastHub: { hubId: string; hubVersion: string } | undefined;
  const lanes = new Map<string, Lane>();
  const deliveries = new Map<string, InFlight>();
  let sweepTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  const laneOf = (endpointId: string): Lane => {
    let lane = lanes.get(endpointId);
    if (!lane) {
      lane = { endpointId, epoch: 1, cursor: 0, inflight: new Map(), inflightBytes: 0, timer: undefined, timerAt: 0 };
      lanes.set(endpointId, lane);
    }
    return lane;
  };

  /** Voids everything in flight on a lane and restarts it from its head. */
  const resetLane = (lane: Lane): void => {
    for (const f of lane.inflight.values()) deliveries.delete(f.deliveryId);
    lane.inflight.clear();
    lane.inflightBytes = 0;
    lane.epoch += 1;
    lane.cursor = 0;
  };

  const wakeAt = (lane: Lane, at: number): void => {
    if (stopped) return;
    if (lane.timer && lane.timerAt <= at) return;
    if (lane.timer) clearTimeout(lane.timer);
    lane.timerAt = at;
    // note: capped so a moved (test) clock or a long backoff is re-checked at least every minute.
    const delay = Math.min(Math.max(at - clock.now(), 0), 60_000);
    lane.timer = setTimeout(() => {
      lane.timer = undefined;
      pump(lane.endpointId);
    }, delay);
    lane.timer.unref();
  };

  const deadLetter = (w: { seq: number; id: string; endpointId: string }, attempts: number): void => {
    if (!store.deadLetter(w.seq, clock.now())) return;
    log.warn({ webhookId: w.id, endpointId: w.endpointId }, "webhook dead-lettered");
    events.emit("webhook.updated", {
      endpointId: w.endpointId,
      webhookId: w.id,
      status: "dead_letter",
      delivery: { outcome: "dead_letter" },
    });
    deps.onFinalFailure?.({
      webhookId: w.id,
      endpointId: w.endpointId,
      status: "dead_letter",
      attempts,
      statusCode: 0,
      error: "not delivered before the dead-letter deadline",
    });
  };

  const dispatch = (lane: Lane, w: QueuedWebhook, destinationUrl: string, signatureValid: boolean): boolean => {
    const body = store.body(w.seq);
    if (!body || !link) return false;
    const deliveryId = newId("delivery");
    const start = create(DeliveryStartSchema, {
      deliveryId,
      webhookId: w.id,
      endpointId: w.endpointId,
      epoch: BigInt(lane.epoch),
      attempt: w.attempts + 1,
      method: w.method,
      url: destinationWithQuery(destinationUrl, w.query),
      headers: body.headers.map(([name, value]) => ({ name, value })),
      bodySize: BigInt(body.payload.length),
      signatureValid,
    });
    const f: InFlight = { deliveryId, lane, epoch: lane.epoch, webhook: w, attempt: w.attempts + 1, bytes: w.payloadSize };
    lane.inflight.set(deliveryId, f);
    lane.inflightBytes += f.bytes;
    lane.cursor = w.seq;
    deliveries.set(deliveryId, f);
    link.sendDelivery(start, body.payload);
    return true;
  };

  /** Sends whatever the lane may send now. */
  const pump = (endpointId: string): void => {
    if (!link || stopped) return;
    const lane = laneOf(endpointId);
    // note: refill once an eighth of the window has drained, in one query, instead of one
    // query per result; the hub keeps seven eighths queued, so a long round trip does not starve it.
    if (lane.inflight.size > options.dispatchWindow - Math.max(1, Math.floor(options.dispatchWindow / 8))) return;
    const endpoint = endpoints.find(endpointId);
    if (!endpoint) {
      lanes.delete(endpointId);
      return;
    }
    if (endpoint.muted) return;
    const now = clock.now();
    while (lane.inflight.size < options.dispatchWindow && (lane.inflight.size === 0 || lane.inflightBytes < options.dispatchWindowBytes)) {
      const room = options.dispatchWindow - lane.inflight.size;
      const batch = store.pendingAfter(endpointId, lane.cursor, room);
      if (batch.length === 0) return;
      for (const w of batch) {
        if (w.deliverBy <= now) {
          deadLetter(w, w.attempts);
          lane.cursor = w.seq;
          continue;
        }
        if (w.nextAttemptAt > now) {
          // note: only the head can be waiting for a retry; nothing behind it may overtake.
          wakeAt(lane, Math.min(w.nextAttemptAt, w.deliverBy));
          return;
        }
        if (lane.inflight.size > 0 && lane.inflightBytes + w.payloadSize > options.dispatchWindowBytes) return;
        if (!dispatch(lane, w, endpoint.destinationUrl, w.signatureValid)) return;
        if (lane.inflight.size >= options.dispatchWindow) return;
      }
    }
  };

  const pumpAll = (): void => {
    for (const id of store.endpointsWithPending()) pump(id);
  };

  /** Moves every overdue pending webhook that is not in flight to dead_letter. */
  const sweep = (): void => {
    const now = clock.now();
    const inflightSeqs = new Set([...deliveries.values()].map((f) => f.webhook.seq));
    for (const w of store.dueForDeadLetter(now)) {
      if (!inflightSeqs.has(w.seq)) deadLetter(w, 0);
    }
    if (options.retentionMs > 0) {
      const purged = store.purge(now - options.retentionMs);
      if (purged > 0) log.info({ purged }, "purged settled webhooks past retention");
    }
    store.purgeNonces(now);
  };

  const settle = (f: InFlight, r: DeliveryResult, toPump: Set<string>): void => {
    const verdict = judgeOutcome(r.outcome, r.statusCode);
    const lane = f.lane;
    lane.inflight.delete(f.deliveryId);
    lane.inflightBytes -= f.bytes;
    deliveries.delete(f.deliveryId);
    if (verdict === "skipped") {
      // note: the hub refused to overtake a webhook whose failure we have not seen; restart the lane.
      resetLane(lane);
      wakeAt(lane, clock.now() + 100);
      return;
    }
    const now = clock.now();
    const error =
      r.outcome === DeliveryOutcome.RESPONSE
        ? r.statusCode >= 200 && r.statusCode < 300
          ? ""
          : `HTTP ${r.statusCode}`
        : r.error || OUTCOME_NAMES[r.outcome] || "unknown outcome";
    let settlement: Settlement;
    if (verdict === "delivered") settlement = { status: "delivered", at: now };
    else if (verdict === "failed") settlement = { status: "failed", at: now, error };
    else {
      const delay = retryDelayMs(f.attempt, { initialMs: options.backoffInitialMs, maxMs: options.backoffMaxMs }, r.retryAfterSeconds);
      settlement = { status: "retry", at: now, nextAttemptAt: Math.min(now + delay, f.webhook.deliverBy), error };
    }
    store.settle(
      {
        id: newId("attempt"),
        webhookSeq: f.webhook.seq,
        number: f.attempt,
        startedAt: Number(r.startedAtMs) || now,
        durationMs: r.durationMs,
        statusCode: r.statusCode,
        outcome: OUTCOME_NAMES[r.outcome] ?? "unknown",
        error: error || null,
        responseExcerpt: r.responseExcerpt || null,
      },
      settlement,
    );
    events.emit("webhook.updated", {
      endpointId: lane.endpointId,
      webhookId: f.webhook.id,
      status: settlement.status === "retry" ? "pending" : settlement.status,
      delivery: { outcome: settlement.status, receivedAt: f.webhook.receivedAt },
    });
    if (settlement.status === "retry") {
      log.info(
        { webhookId: f.webhook.id, endpointId: lane.endpointId, attempt: f.attempt, error, retryAt: new Date(settlement.nextAttemptAt).toISOString() },
        "delivery failed transiently; will retry",
      );
      resetLane(lane);
      wakeAt(lane, settlement.nextAttemptAt);
      return;
    }
    if (settlement.status === "failed") {
      log.warn({ webhookId: f.webhook.id, endpointId: lane.endpointId, attempt: f.attempt, error }, "delivery failed permanently");
      deps.onFinalFailure?.({
        webhookId: f.webhook.id,
        endpointId: lane.endpointId,
        status: "failed",
        attempts: f.attempt,
        statusCode: r.statusCode,
        error,
      });
    }
    toPump.add(lane.endpointId);
  };

  // Results that arrive in one event-loop turn are settled in one transaction, then
  // their lanes are pumped: one WAL write for many attempts instead of one each.
  let arrived: { from: HubLink; r: DeliveryResult }[] = [];
  let settling = false;
  const settleArrived = (): void => {
    settling = false;
    const batch = arrived;
    arrived = [];
    if (batch.length === 0) return;
    const toPump = new Set<string>();
    store.batch(() => {
      for (const { from, r } of batch) {
        if (from !== link) continue;
        const f = deliveries.get(r.deliveryId);
        // note: checked here, not on arrival: an earlier result of the batch may have reset the lane.
        if (!f || f.epoch !== f.lane.epoch || f.webhook.id !== r.webhookId) continue;
        settle(f, r, toPump);
      }
    });
    for (const id of toPump) pump(id);
  };

  const unsubscribers = [
    events.on("webhook.committed", (e) => {
      for (const id of e.endpointIds) pump(id);
    }),
    // note: usually already dispatched on "webhook.committed"; the cursor says so without a query.
    events.on("webhook.received", (e) => {
      const lane = lanes.get(e.endpointId);
      if (!lane || lane.cursor < e.seq) pump(e.endpointId);
    }),
    events.on("endpoint.changed", (e) => {
      if (e.deleted) {
        const lane = lanes.get(e.endpointId);
        if (lane) {
          resetLane(lane);
          if (lane.timer) clearTimeout(lane.timer);
          lanes.delete(e.endpointId);
        }
        return;
      }
      pump(e.endpointId);
    }),
  ];

  return {
    /** Starts the sweep timer and a first pass. */
    start(): void {
      stopped = false;
      sweep();
      sweepTimer = setInterval(() => {
        try {
          sweep();
          pumpAll();
        } catch (err) {
          log.error({ err }, "queue sweep failed");
        }
      }, options.sweepIntervalMs ?? 30_000);
      sweepTimer.unref();
    },
    /** Stops timers and forgets the hub (the stream itself is closed by its owner). */
    stop(): void {
      settleArrived();
      stopped = true;
      if (sweepTimer) clearInterval(sweepTimer);
      for (const lane of lanes.values()) if (lane.timer) clearTimeout(lane.timer);
      for (const u of unsubscribers) u();
    },
    /** Runs the sweep and a dispatch pass now (tests with a moved clock call this). */
    tick(): void {
      sweep();
      pumpAll();
    },
    /** A hub stream is authenticated: it replaces any previous one. */
    attach(next: HubLink): void {
      const previous = link;
      link = undefined;
      if (previous) previous.close("replaced by a newer hub connection");
      for (const lane of lanes.values()) resetLane(lane);
      link = next;
      lastHub = { hubId: next.hubId, hubVersion: next.hubVersion };
      lastChangeAt = clock.now();
      events.emit("hub.changed", { connected: true });
      pumpAll();
    },
    /** A hub stream ended; whatever it had in flight is sent again to the next one. */
    detach(gone: HubLink): void {
      if (link !== gone) return;
      settleArrived(); // results that already arrived on this link still count
      link = undefined;
      lastChangeAt = clock.now();
      for (const lane of lanes.values()) resetLane(lane);
      events.emit("hub.changed", { connected: false });
    },
    /** A result arrived on `from`. Unknown or stale deliveries are ignored. */
    result(from: HubLink, r: DeliveryResult): void {
      if (from !== link) return;
      arrived.push({ from, r });
      if (!settling) {
        settling = true;
        setImmediate(settleArrived);
      }
    },
    /** Connection state for the status API. */
    hubStatus() {
      return {
        connected: link !== undefined,
        since: link?.connectedAt ?? lastChangeAt,
        hubId: link?.hubId ?? lastHub?.hubId ?? "",
        hubVersion: link?.hubVersion ?? lastHub?.hubVersion ?? "",
        lastSeenAt: link?.lastSeenAt ?? 0,
        inFlight: deliveries.size,
      };
    },
    /** Whether a hub is connected. */
    connected(): boolean {
      return link !== undefined;
    },
    /** Ends the hub stream (at shutdown); the hub re-dials and gets again whatever was in flight. */
    disconnect(reason: string): void {
      link?.close(reason);
    },
  };
}
