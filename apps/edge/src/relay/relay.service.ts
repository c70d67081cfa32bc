/**
 * The dispatcher: owns every destination's queue on the edge and feeds the
 * hubs. It is the I/O shell of the lane state machine (lane.ts): it reads
 * pending deliveries, sends what the machine decides on the stream of the
 * destination's hub, records results and keeps the timers.
 *
 * Each destination is a lane of its own, sent only on the stream of its own
 * hub: a destination that is down, failing or whose hub is offline never
 * delays another destination of the same webhook. Any number of hubs are
 * connected at once, one authenticated stream each; a hub's newer stream
 * replaces only its own older one.
 *
 * Nothing here must survive a restart: the queue state is in SQLite; a hub
 * reconnect or an edge restart starts its lanes again from their heads, and
 * the hub sees again only what was in flight (at least once, same webhook id).
 */
import { create } from "@bufbuild/protobuf";
import { backoffDelay } from "@hookly/proto/backoff";
import { type DeliveryResult, DeliveryOutcome, DeliveryResultSchema, DeliveryStartSchema } from "@hookly/proto/gen/stream_pb";
import { judgeOutcome } from "@hookly/proto/outcome";
import type { Clock } from "../clock.js";
import type { DestinationService } from "../destination/destination.service.js";
import type { DestinationRecord } from "../destination/destination.store.js";
import type { EndpointService } from "../endpoint/endpoint.service.js";
import { storageErrorCode } from "../errors.js";
import type { StorageReporter } from "../storage/storage.service.js";
import type { EdgeEvents } from "../events.js";
import { newId } from "../ids.js";
import type { Logger } from "../logger.js";
import type { PayloadFiles, PayloadReader } from "../payload/payload.files.js";
import type { HeaderSealer } from "../webhook/webhook.headers.js";
import type { AttemptNote } from "../queue/queue.monitor.js";
import type { QueueStore, QueuedDelivery, Settlement } from "../queue/queue.store.js";
import { withPolicyHeaders } from "../destination/destination.policy.js";
import {
  type Flight,
  type LaneLimits,
  type LaneState,
  markConcurrentDispatched,
  markDispatched,
  markPassed,
  newLane,
  onConcurrentResult,
  onResult,
  planConcurrent,
  planRefill,
  refillRequest,
  resetLane,
} from "./lane.js";

/** The edge's view of one connected hub stream. */
export interface HubLink {
  /** Stream id. */
  readonly id: string;
  /** Registry id (`hub_…`). */
  readonly hubId: string;
  /** Random per hub process: tells a re-dial of the same process from a second process with the same credential. */
  readonly instanceId: string;
  readonly hubVersion: string;
  readonly connectedAt: number;
  readonly remoteAddress: string;
  readonly transport: string;
  /** Last time anything arrived from the hub (edge clock). */
  lastSeenAt: number;
  /** Same, in real time (liveness is about the socket, not the queue). */
  lastArrivalMs: number;
  /** Queues a delivery (and its body, read and chunked by the link as it sends; the link closes it) for sending. */
  sendDelivery(start: ReturnType<typeof create<typeof DeliveryStartSchema>>, body: PayloadReader): void;
  /** Ends the stream. */
  close(reason: string): void;
}

/** A delivery that finally failed (for alerts). */
export interface FinalFailure {
  webhookId: string;
  endpointId: string;
  destinationId: string;
  hubId: string;
  eventType: string | null;
  status: "failed" | "dead_letter";
  attempts: number;
  statusCode: number;
  error: string;
}

/** A destination whose hub refuses its URL: its queue waits until the hub's allowlist is fixed. */
export interface HeldDestination {
  destinationId: string;
  endpointId: string;
  hubId: string;
  url: string;
  error: string;
}

/** Live state of one hub, for status. */
export interface HubLiveStatus {
  hubId: string;
  connected: boolean;
  /** When the current connection (or disconnection) began; the edge's start if never seen since. */
  since: number;
  lastSeenAt: number;
  version: string;
  inFlight: number;
  streamId: string;
  remoteAddress: string;
  transport: string;
}

/** One dispatch the edge waits on. */
interface Entry {
  lane: Lane;
  flight: Flight;
  delivery: QueuedDelivery;
  hubId: string;
}

interface Lane {
  destinationId: string;
  hubId: string;
  /** Its policy is concurrent: each delivery on its own (lane.ts, planConcurrent). */
  concurrent: boolean;
  state: LaneState;
  entries: Map<string, Entry>;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
  /** Set while the hub refuses this destination's URL. */
  held: { since: number; error: string } | undefined;
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
  /**
   * Whether attempts keep the start of the destination's answer the hub
   * reports (RESPONSE_EXCERPTS). Off, nobody with API access can read back
   * what a LAN service answered. Default on.
   */
  responseExcerpts?: boolean;
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

/** First wait before dispatch tries again after the database refused delivery results (ms); doubles per failure. */
export const STORAGE_RETRY_INITIAL_MS = 1_000;
/** Longest wait between such tries (ms); the storage probe finding the disk writable again cuts it short. */
export const STORAGE_RETRY_MAX_MS = 5_000;

/** Joins the destination URL and the webhook's original query string. */
export function destinationWithQuery(destination: string, query: string): string {
  if (!query) return destination;
  const url = new URL(destination);
  url.search = url.search ? `${url.search.slice(1)}&${query}` : query;
  return url.toString();
}

/** Creates the dispatcher. Call start() to begin its timers. */
export function createRelayService(deps: {
  /** Opens the sealed secret headers of a webhook for its forward (webhook/webhook.headers.ts). */
  headers: Pick<HeaderSealer, "open">;
  store: QueueStore;
  endpoints: EndpointService;
  destinations: DestinationService;
  clock: Clock;
  events: EdgeEvents;
  log: Logger;
  options: RelayOptions;
  onFinalFailure?: (f: FinalFailure) => void;
  onHeld?: (h: HeldDestination) => void;
  /** How long a hub's stream counts as alive without a message (for telling a second process from a re-dial). */
  hubDeadAfterMs?: number;
  /** Where storage errors of dispatch (and its recovery) are reported; it logs the outage once. */
  storage: StorageReporter;
  /** Where bodies over 1 MiB are read from. */
  files: Pick<PayloadFiles, "reader">;
  /** Runs with each periodic sweep (after retention), for housekeeping of other features (the audit trail's). */
  onSweep?: () => void;
  /** Told of every attempt recorded (queue/queue.monitor.ts: is a queue stuck?). */
  onAttempt?: (a: AttemptNote) => void;
}) {
  const { store, endpoints, destinations, clock, events, log, options } = deps;
  const limits: LaneLimits = { window: options.dispatchWindow, windowBytes: options.dispatchWindowBytes };
  const backoff = { initialMs: options.backoffInitialMs, maxMs: options.backoffMaxMs };
  const links = new Map<string, HubLink>();
  /** Per hub: when it last connected or disconnected, and what it last said (kept after a disconnect). */
  const lastKnown = new Map<string, { since: number; lastSeenAt: number; version: string }>();
  const lanes = new Map<string, Lane>();
  const deliveries = new Map<string, Entry>();
  let sweepTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  /** Until a hub connects, "disconnected since" is when this edge started. */
  const startedAt = clock.now();
  /**
   * Set while the database refuses to record delivery results (disk full, I/O
   * error…): dispatch waits until `retryAt`, then tries again; the first
   * result recorded ends it. Real time: it is about the disk, not the queue.
   */
  let storageFault: { since: number; code: string; retryAt: number; failures: number } | undefined;
  let resumeTimer: NodeJS.Timeout | undefined;

  const laneOf = (d: DestinationRecord): Lane => {
    let lane = lanes.get(d.id);
    if (!lane) {
      lane = {
        destinationId: d.id,
        hubId: d.hubId,
        concurrent: d.policy.ordering === "concurrent",
        state: newLane(),
        entries: new Map(),
        timer: undefined,
        timerAt: 0,
        held: undefined,
      };
      lanes.set(d.id, lane);
    }
    return lane;
  };

  /** Voids everything in flight on a lane: it restarts from its head. */
  const voidLane = (lane: Lane): void => {
    resetLane(lane.state);
    forgetEntries(lane);
  };
  const forgetEntries = (lane: Lane): void => {
    for (const id of lane.entries.keys()) deliveries.delete(id);
    lane.entries.clear();
  };

  const dropLane = (destinationId: string): void => {
    const lane = lanes.get(destinationId);
    if (!lane) return;
    voidLane(lane);
    if (lane.timer) clearTimeout(lane.timer);
    lanes.delete(destinationId);
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
      safely("retry timer", () => pump(lane.destinationId));
    }, delay);
    lane.timer.unref();
  };

  const deadLetter = (
    w: { seq: number; id: string; endpointId: string; destinationId: string; eventType: string | null },
    attempts: number,
    hubId: string,
  ): void => {
    if (!store.deadLetter(w.seq, clock.now())) return;
    log.warn({ webhookId: w.id, endpointId: w.endpointId, destinationId: w.destinationId }, "delivery dead-lettered");
    events.emit("webhook.updated", {
      endpointId: w.endpointId,
      webhookId: w.id,
      status: "dead_letter",
      destinationId: w.destinationId,
      hubId,
      delivery: { outcome: "dead_letter" },
    });
    deps.onFinalFailure?.({
      webhookId: w.id,
      endpointId: w.endpointId,
      destinationId: w.destinationId,
      hubId,
      eventType: w.eventType,
      status: "dead_letter",
      attempts,
      statusCode: 0,
      error: "not delivered before the dead-letter deadline",
    });
  };

  // Results that arrive in one event-loop turn are settled in one transaction, then
  // their lanes are pumped: one WAL write for many attempts instead of one each.
  let arrived: { from: HubLink; r: DeliveryResult }[] = [];
  let settling = false;
  /** A hub's result (or the edge's own, for a delivery it could not send) joins the next settle batch. */
  const receive = (from: HubLink, r: DeliveryResult): void => {
    if (links.get(from.hubId) !== from) return;
    arrived.push({ from, r });
    if (!settling) {
      settling = true;
      setImmediate(settleArrived);
    }
  };

  const dispatch = (lane: Lane, q: QueuedDelivery, dest: DestinationRecord, link: HubLink): boolean => {
    const body = store.body(q.webhookSeq);
    if (!body) return false;
    let reader: PayloadReader | undefined;
    let unreadable: string | undefined;
    try {
      reader = deps.files.reader(body.payload);
    } catch (err) {
      // note: the file was deleted or cannot be opened: this webhook can never be delivered; fail it
      // (permanently, like any invalid delivery) rather than hold its queue forever.
      log.error({ err, webhookId: q.id, file: body.payload.file }, "payload file missing or unreadable; the delivery fails");
      unreadable = `payload file unreadable (${(err as NodeJS.ErrnoException).code ?? "error"}): the stored body is gone`;
    }
    const deliveryId = newId("delivery");
    const flight = lane.concurrent ? markConcurrentDispatched(lane.state, q, deliveryId) : markDispatched(lane.state, q, deliveryId);
    const start = create(DeliveryStartSchema, {
      deliveryId,
      webhookId: q.id,
      endpointId: q.endpointId,
      destinationId: dest.id,
      epoch: BigInt(flight.epoch),
      attempt: flight.attempt,
      method: q.method,
      url: destinationWithQuery(dest.url, q.query),
      // note: the destination's policy headers replace the webhook's own of the same name.
      headers: withPolicyHeaders(deps.headers.open(body.headers), dest.policy.headers).map(([name, value]) => ({ name, value })),
      bodySize: BigInt(body.payload.size),
      signatureValid: q.signatureValid,
      eventType: q.eventType ?? "",
      timeoutMs: dest.policy.timeoutMs ?? 0,
      concurrency: dest.policy.concurrency,
    });
    const entry: Entry = { lane, flight, delivery: q, hubId: link.hubId };
    lane.entries.set(deliveryId, entry);
    deliveries.set(deliveryId, entry);
    if (reader) link.sendDelivery(start, reader);
    else
      receive(
        link,
        create(DeliveryResultSchema, { deliveryId, webhookId: q.id, outcome: DeliveryOutcome.INVALID, error: unreadable, startedAtMs: BigInt(Date.now()) }),
      );
    return true;
  };

  /**
   * A write (or read) of the dispatcher failed. Nothing is lost: what was in
   * flight stays pending in the database and is sent again (same webhook id)
   * once results can be recorded. Logged once per outage; anything that is
   * not a storage error is logged as unexpected, and the edge keeps running.
   */
  const onStoreError = (err: unknown, what: string): void => {
    const code = storageErrorCode(err);
    if (!code) {
      log.error({ err, what }, "dispatcher step failed; the queue sweep will pick the work up again");
      return;
    }
    const now = Date.now();
    const failures = (storageFault?.failures ?? 0) + 1;
    const backoffMs = backoffDelay({ initialMs: STORAGE_RETRY_INITIAL_MS, maxMs: STORAGE_RETRY_MAX_MS, attempt: failures });
    if (!storageFault) log.debug({ code, what }, "dispatch paused: delivery results cannot be recorded; what was in flight will be delivered again");
    storageFault = { since: storageFault?.since ?? now, code, retryAt: now + backoffMs, failures };
    deps.storage.failed("delivery", err);
    for (const lane of lanes.values()) voidLane(lane);
    scheduleResume(backoffMs);
  };
  const scheduleResume = (delayMs: number): void => {
    if (resumeTimer) clearTimeout(resumeTimer);
    resumeTimer = setTimeout(() => {
      resumeTimer = undefined;
      // note: the timer firing is the end of the wait. Node's timers may fire a millisecond before
      // Date.now() reaches retryAt; comparing the clock again here once left dispatch paused for good.
      if (storageFault) storageFault = { ...storageFault, retryAt: 0 };
      safely("resume after a storage fault", () => {
        pumpAll();
        // note: nothing was left to send (no hub, or nothing pending): no result waits to be recorded, so
        // the pause ends here; the next result that cannot be written starts it again.
        if (storageFault && deliveries.size === 0) {
          storageFault = undefined;
          deps.storage.succeeded("delivery");
        }
      });
    }, delayMs);
    resumeTimer.unref();
  };

  /** Runs a dispatcher step from a timer or an event: its errors never escape (they would end the process). */
  const safely = (what: string, step: () => void): void => {
    try {
      step();
    } catch (err) {
      onStoreError(err, what);
    }
  };

  /** Sends whatever the destination's lane may send now. */
  const pump = (destinationId: string): void => {
    if (stopped) return;
    if (storageFault && Date.now() < storageFault.retryAt) return;
    const dest = destinations.find(destinationId);
    if (!dest) {
      dropLane(destinationId);
      return;
    }
    const link = links.get(dest.hubId);
    if (!link || !dest.enabled || dest.muted) return;
    const endpoint = endpoints.find(dest.endpointId);
    if (!endpoint || endpoint.muted) return;
    const lane = laneOf(dest);
    const now = clock.now();
    if (lane.concurrent !== (dest.policy.ordering === "concurrent")) {
      // note: the ordering changed: what is in flight under the other rule is void; its results are ignored.
      voidLane(lane);
      lane.concurrent = dest.policy.ordering === "concurrent";
    }
    if (lane.concurrent) {
      pumpConcurrent(lane, dest, link, now);
      return;
    }
    for (;;) {
      const req = refillRequest(lane.state, limits);
      if (!req) return;
      const batch = store.pendingAfter(destinationId, req.after, req.limit);
      const plan = planRefill(lane.state, limits, batch, now);
      for (const step of plan.steps) {
        if (step.kind === "dead_letter") {
          deadLetter(step.item, step.item.attempts, dest.hubId);
          markPassed(lane.state, step.item.seq);
        } else if (!dispatch(lane, step.item, dest, link)) {
          return;
        }
      }
      if (plan.wakeAt !== undefined) {
        wakeAt(lane, plan.wakeAt);
        return;
      }
      if (!plan.more) return;
    }
  };

  /**
   * Sends what a concurrent destination may send now: due deliveries, up to the dispatch window in flight
   * (the hub forwards at most the policy's concurrency of them at once; the rest wait queued there).
   */
  const pumpConcurrent = (lane: Lane, dest: DestinationRecord, link: HubLink, now: number): void => {
    const limit = Math.max(dest.policy.concurrency, limits.window);
    for (;;) {
      const room = limit - lane.state.inflight.size;
      if (room <= 0) return;
      // note: enough rows to find `room` that are not in flight already.
      const batch = store.pendingDue(dest.id, now, room + lane.state.inflight.size);
      const plan = planConcurrent(lane.state, limit, batch, now, limits.windowBytes);
      let passed = 0;
      for (const step of plan.steps) {
        if (step.kind === "dead_letter") {
          deadLetter(step.item, step.item.attempts, dest.hubId);
          passed++;
        } else if (!dispatch(lane, step.item, dest, link)) {
          return;
        }
      }
      // note: dead letters freed rows of the batch: read again; otherwise wake for the earliest retry.
      if (passed > 0) continue;
      const next = store.nextDueAfter(dest.id, now);
      if (next !== undefined) wakeAt(lane, next);
      return;
    }
  };

  const pumpAll = (): void => {
    for (const id of store.destinationsWithPending()) pump(id);
  };

  const pumpHub = (hubId: string): void => {
    const pending = new Set(store.destinationsWithPending());
    for (const d of destinations.ofHub(hubId)) if (pending.has(d.id)) pump(d.id);
  };

  /** Moves every overdue pending delivery that is not in flight to dead_letter. */
  const sweep = (): void => {
    const now = clock.now();
    const inflight = new Set([...deliveries.values()].map((e) => e.delivery.seq));
    for (const w of store.dueForDeadLetter(now)) {
      if (!inflight.has(w.seq)) deadLetter({ ...w, eventType: null }, 0, destinations.find(w.destinationId)?.hubId ?? "");
    }
    if (options.retentionMs > 0) {
      const purged = store.purge(now - options.retentionMs);
      if (purged > 0) log.info({ purged }, "purged settled webhooks past retention");
    }
    store.purgeNonces(now);
    deps.onSweep?.();
  };

  /** Applies one result; true when it wrote an attempt (false for a stale or skipped one). */
  const settle = (entry: Entry, r: DeliveryResult, toPump: Set<string>): boolean => {
    const { lane, delivery: q } = entry;
    const now = clock.now();
    deliveries.delete(r.deliveryId);
    lane.entries.delete(r.deliveryId);
    const verdict = judgeOutcome(r.outcome, r.statusCode);
    const ctx = { now, retryAfterSeconds: r.retryAfterSeconds, backoff, maxAttempts: destinations.find(lane.destinationId)?.policy.maxAttempts };
    const decision = lane.concurrent ? onConcurrentResult(lane.state, r.deliveryId, verdict, ctx) : onResult(lane.state, r.deliveryId, verdict, ctx);
    if (decision.kind === "stale") return false;
    if (decision.kind === "restart") {
      // note: the hub refused to overtake a failure we have not seen; everything in flight is void.
      forgetEntries(lane);
      wakeAt(lane, decision.wakeAt);
      return false;
    }
    if (decision.kind === "again") {
      // note: the hub had no room for the body (a concurrent lane): that one is sent again shortly, no attempt made.
      wakeAt(lane, decision.wakeAt);
      return false;
    }
    const error =
      r.outcome === DeliveryOutcome.RESPONSE
        ? r.statusCode >= 200 && r.statusCode < 300
          ? ""
          : `HTTP ${r.statusCode}`
        : r.error || OUTCOME_NAMES[r.outcome] || "unknown outcome";
    const settlement: Settlement =
      decision.kind === "retry"
        ? { status: "retry", at: now, nextAttemptAt: decision.nextAttemptAt, error }
        : decision.kind === "give_up"
          ? { status: "gave_up", at: now, error: `gave up after ${decision.flight.attempt} attempts (the destination's max_attempts): ${error}` }
          : decision.status === "delivered"
            ? { status: "delivered", at: now, replayOf: q.replayOf }
            : { status: "failed", at: now, error };
    const applied = store.settle(
      {
        id: newId("attempt"),
        webhookSeq: q.webhookSeq,
        deliverySeq: q.seq,
        number: decision.flight.attempt,
        startedAt: Number(r.startedAtMs) || now,
        durationMs: r.durationMs,
        statusCode: r.statusCode,
        outcome: OUTCOME_NAMES[r.outcome] ?? "unknown",
        error: error || null,
        responseExcerpt: options.responseExcerpts === false ? null : r.responseExcerpt || null,
      },
      settlement,
    );
    const ids = { endpointId: q.endpointId, destinationId: lane.destinationId, hubId: entry.hubId };
    const outcome = settlement.status === "gave_up" ? "dead_letter" : settlement.status;
    if (applied) {
      try {
        deps.onAttempt?.({
          destinationId: lane.destinationId,
          endpointId: q.endpointId,
          outcome,
          webhookId: q.id,
          eventType: q.eventType,
          statusCode: r.statusCode,
          error,
          responseExcerpt: options.responseExcerpts === false ? null : r.responseExcerpt || null,
          at: now,
        });
      } catch (err) {
        log.error({ err }, "attempt listener failed");
      }
    }
    events.emit("webhook.updated", {
      ...ids,
      webhookId: q.id,
      status: outcome === "retry" ? "pending" : outcome,
      delivery: { outcome, receivedAt: q.receivedAt },
    });
    if (decision.kind === "give_up") {
      // note: a strict lane was reset (the hub blocks the rest of its epoch); a concurrent one only lost this flight.
      if (!lane.concurrent) forgetEntries(lane);
      log.warn({ ...ids, webhookId: q.id, attempt: decision.flight.attempt, error }, "delivery given up: its destination's attempts are used up");
      if (applied) {
        deps.onFinalFailure?.({
          ...ids,
          webhookId: q.id,
          eventType: q.eventType,
          status: "dead_letter",
          attempts: decision.flight.attempt,
          statusCode: r.statusCode,
          error: settlement.status === "gave_up" ? settlement.error : error,
        });
      }
      toPump.add(lane.destinationId);
      return true;
    }
    if (decision.kind === "retry") {
      if (!lane.concurrent) forgetEntries(lane);
      // note: a concurrent lane's other slots go on now; this one waits for its retry time.
      else toPump.add(lane.destinationId);
      const retryAt = new Date(decision.nextAttemptAt).toISOString();
      if (decision.held) {
        if (!lane.held) {
          const dest = destinations.find(lane.destinationId);
          log.warn({ ...ids, webhookId: q.id, error, url: dest?.url }, "the hub refuses this destination; its queue waits until the hub's allowlist allows it");
          deps.onHeld?.({ ...ids, url: dest?.url ?? "", error });
        }
        lane.held = { since: lane.held?.since ?? now, error };
      } else if (applied) {
        log.info({ ...ids, webhookId: q.id, attempt: decision.flight.attempt, error, retryAt }, "delivery failed transiently; will retry");
      }
      // note: not applied: an operator settled it (skip) while this attempt ran; the queue goes on at once.
      wakeAt(lane, applied ? decision.nextAttemptAt : now);
      return true;
    }
    if (lane.held) {
      log.info(ids, "the hub accepts this destination again");
      lane.held = undefined;
    }
    if (settlement.status === "failed") {
      log.warn({ ...ids, webhookId: q.id, attempt: decision.flight.attempt, error }, "delivery failed permanently");
      deps.onFinalFailure?.({
        ...ids,
        webhookId: q.id,
        eventType: q.eventType,
        status: "failed",
        attempts: decision.flight.attempt,
        statusCode: r.statusCode,
        error,
      });
    }
    toPump.add(lane.destinationId);
    return true;
  };

  const settleArrived = (): void => {
    settling = false;
    const batch = arrived;
    arrived = [];
    if (batch.length === 0) return;
    const toPump = new Set<string>();
    let recorded = 0;
    try {
      store.batch(() => {
        for (const { from, r } of batch) {
          if (links.get(from.hubId) !== from) continue;
          const entry = deliveries.get(r.deliveryId);
          // note: a hub can only answer for what was sent to it, and only for the webhook it was sent.
          if (!entry || entry.hubId !== from.hubId || entry.delivery.id !== r.webhookId) continue;
          if (settle(entry, r, toPump)) recorded++;
        }
      });
    } catch (err) {
      // note: the transaction rolled back but the lanes moved on in memory: onStoreError voids them all,
      // so they restart from what the database says is pending.
      onStoreError(err, "recording delivery results");
      return;
    }
    // note: any result written ends the pause, a retry as much as a delivery.
    if (storageFault && recorded > 0) {
      log.debug({ code: storageFault.code, pausedMs: Date.now() - storageFault.since }, "delivery results recorded again; dispatch resumed");
      storageFault = undefined;
    }
    if (recorded > 0) deps.storage.succeeded("delivery");
    for (const id of toPump) safely("dispatch", () => pump(id));
  };

  /** Lanes whose destination is on this hub. */
  const lanesOfHub = (hubId: string): Lane[] => [...lanes.values()].filter((l) => l.hubId === hubId);

  const unsubscribers = [
    // note: every insert (ingest and replay) commits through the ingest store, so "webhook.committed"
    // covers them all; should that listener ever fail, the sweep picks the webhooks up.
    events.on("webhook.committed", (e) => {
      for (const id of e.destinationIds) safely("dispatch", () => pump(id));
    }),
    // note: the storage probe found the disk writable: a paused dispatch tries again now, not at its backoff.
    events.on("storage.changed", (e) => {
      if (!e.writable || !storageFault) return;
      storageFault = { ...storageFault, retryAt: 0 };
      scheduleResume(0);
    }),
    events.on("endpoint.changed", (e) => {
      if (e.deleted) {
        for (const lane of [...lanes.values()]) if (!destinations.find(lane.destinationId)) dropLane(lane.destinationId);
        return;
      }
      for (const d of destinations.ofEndpoint(e.endpointId)) safely("dispatch", () => pump(d.id));
    }),
    events.on("destination.changed", (e) => {
      const lane = lanes.get(e.destinationId);
      const dest = destinations.find(e.destinationId);
      if (e.deleted || !dest) {
        dropLane(e.destinationId);
        return;
      }
      if (lane && lane.hubId !== dest.hubId) {
        // note: moved to another hub: what the old hub has in flight is void, its results are ignored.
        voidLane(lane);
        lane.hubId = dest.hubId;
      }
      // note: a lane whose timer waits for a retry looks again now (a new policy may change what is due).
      if (lane?.timer) {
        clearTimeout(lane.timer);
        lane.timer = undefined;
      }
      safely("dispatch", () => pump(e.destinationId));
    }),
    events.on("hub.registry", (e) => {
      if (e.revoked) links.get(e.hubId)?.close("hub revoked");
    }),
  ];

  const liveStatus = (hubId: string): HubLiveStatus => {
    const link = links.get(hubId);
    const known = lastKnown.get(hubId);
    let inFlight = 0;
    for (const e of deliveries.values()) if (e.hubId === hubId) inFlight++;
    return {
      hubId,
      connected: link !== undefined,
      since: link?.connectedAt ?? known?.since ?? startedAt,
      lastSeenAt: link?.lastSeenAt ?? known?.lastSeenAt ?? 0,
      version: link?.hubVersion ?? known?.version ?? "",
      inFlight,
      streamId: link?.id ?? "",
      remoteAddress: link?.remoteAddress ?? "",
      transport: link?.transport ?? "",
    };
  };

  return {
    /** Starts the sweep timer and a first pass. */
    start(): void {
      stopped = false;
      safely("queue sweep", sweep);
      sweepTimer = setInterval(() => {
        safely("queue sweep", sweep);
        safely("dispatch", pumpAll);
      }, options.sweepIntervalMs ?? 30_000);
      sweepTimer.unref();
    },
    /** Stops timers and forgets the hubs (the streams themselves are closed by their owners). */
    stop(): void {
      settleArrived();
      stopped = true;
      if (sweepTimer) clearInterval(sweepTimer);
      if (resumeTimer) clearTimeout(resumeTimer);
      for (const lane of lanes.values()) if (lane.timer) clearTimeout(lane.timer);
      for (const u of unsubscribers) u();
    },
    /** Runs the sweep and a dispatch pass now (tests with a moved clock call this). */
    tick(): void {
      sweep();
      pumpAll();
    },
    /**
     * Whether a new stream of `hubId` may take over. A re-dial of the same hub
     * process (same instance id), or any open while the current stream has gone
     * silent, replaces it; a second process with the same credential is refused
     * while the first is alive, so two processes never displace each other.
     */
    admit(hubId: string, instanceId: string): { ok: true } | { ok: false; reason: string } {
      const current = links.get(hubId);
      if (!current || !instanceId || !current.instanceId || current.instanceId === instanceId) return { ok: true };
      const silentMs = Date.now() - current.lastArrivalMs;
      if (silentMs > (deps.hubDeadAfterMs ?? 30_000)) return { ok: true };
      return {
        ok: false,
        reason: `hub ${hubId} is already connected from another process (${current.remoteAddress || "unknown address"}); two processes must not share one hub credential`,
      };
    },
    /** A hub stream is authenticated: it replaces only that hub's previous stream. */
    attach(next: HubLink): void {
      const previous = links.get(next.hubId);
      if (previous) {
        links.delete(next.hubId);
        previous.close("replaced by a newer connection of this hub");
      }
      const now = clock.now();
      for (const lane of lanesOfHub(next.hubId)) {
        voidLane(lane);
        // note: a destination the hub refused is retried at once: the hub may have come back with a fixed allowlist.
        if (lane.held) safely("retrying a held destination", () => store.retryNow(lane.destinationId, now));
      }
      links.set(next.hubId, next);
      lastKnown.set(next.hubId, { since: next.connectedAt, lastSeenAt: next.lastSeenAt, version: next.hubVersion });
      events.emit("hub.changed", { hubId: next.hubId, connected: true });
      safely("dispatch", () => pumpHub(next.hubId));
    },
    /** A hub stream ended; whatever it had in flight is sent again on its next stream. */
    detach(gone: HubLink): void {
      if (links.get(gone.hubId) !== gone) return;
      settleArrived(); // results that already arrived on this link still count
      links.delete(gone.hubId);
      lastKnown.set(gone.hubId, { since: clock.now(), lastSeenAt: gone.lastSeenAt, version: gone.hubVersion });
      for (const lane of lanesOfHub(gone.hubId)) voidLane(lane);
      events.emit("hub.changed", { hubId: gone.hubId, connected: false });
    },
    /**
     * An operator changed a delivery of this destination's queue (retry now,
     * skip, cancel): its lane looks at the queue again now, instead of at its
     * retry time.
     */
    nudge(destinationId: string): void {
      const lane = lanes.get(destinationId);
      if (lane?.timer) {
        clearTimeout(lane.timer);
        lane.timer = undefined;
      }
      safely("dispatch", () => pump(destinationId));
    },
    /** Whether the delivery (by seq) has been sent to its hub and not answered yet. */
    inFlight(deliverySeq: number): boolean {
      for (const e of deliveries.values()) if (e.delivery.seq === deliverySeq) return true;
      return false;
    },
    /** Why a destination's queue is not being sent now, if it is not: muted, disabled, its hub offline, or held. */
    stalled(destinationId: string): string | null {
      const dest = destinations.find(destinationId);
      if (!dest) return "the destination was deleted";
      if (!dest.enabled) return "the destination is disabled";
      if (dest.muted) return "the destination is muted";
      if (endpoints.find(dest.endpointId)?.muted) return "the endpoint is muted";
      if (!links.has(dest.hubId)) return "its hub is not connected";
      const held = lanes.get(destinationId)?.held;
      if (held) return `its hub refuses the destination (${held.error})`;
      return null;
    },
    /** A result arrived on `from`. Unknown or stale deliveries are ignored. */
    result: receive,
    /** Live state of one hub. */
    hubLive: liveStatus,
    /** Summary for the single-hub status fields: any hub connected, the first one's details. */
    hubStatus() {
      const first = [...links.values()][0];
      const s = first ? liveStatus(first.hubId) : [...lastKnown.keys()].map(liveStatus)[0];
      return {
        connected: links.size > 0,
        since: s?.since ?? startedAt,
        hubId: s?.hubId ?? "",
        hubVersion: s?.version ?? "",
        lastSeenAt: s?.lastSeenAt ?? 0,
        inFlight: deliveries.size,
      };
    },
    /** Destinations whose hub refuses their URL, with since when and why. */
    heldDestinations(): Map<string, { since: number; error: string }> {
      const out = new Map<string, { since: number; error: string }>();
      for (const l of lanes.values()) if (l.held) out.set(l.destinationId, l.held);
      return out;
    },
    /** Whether any hub is connected. */
    connected(): boolean {
      return links.size > 0;
    },
    /** Whether this hub is connected. */
    isConnected(hubId: string): boolean {
      return links.has(hubId);
    },
    /** Ends every hub stream (at shutdown); the hubs re-dial and get again whatever was in flight. */
    disconnect(reason: string): void {
      for (const link of [...links.values()]) link.close(reason);
    },
  };
}
