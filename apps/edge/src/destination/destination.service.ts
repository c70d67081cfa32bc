/**
 * Destination rules: validation, the hub each one goes to, routing of a new
 * webhook to an endpoint's destinations (filters), and a cache of both for
 * ingest and the dispatcher, dropped on every change made here.
 */
import type { Clock } from "../clock.js";
import { AppError } from "../errors.js";
import type { EdgeEvents } from "../events.js";
import type { HubService } from "../hub/hub.service.js";
import { isId, newId } from "../ids.js";
import { checkFilter, filterVerdict, type DestinationFilter, type JsonBody } from "./destination.filter.js";
import { checkPolicy, type PolicyInput } from "./destination.policy.js";
import type { DestinationQueueStats, DestinationRecord, DestinationStore } from "./destination.store.js";

/** Most destinations one endpoint may have. */
export const MAX_DESTINATIONS_PER_ENDPOINT = 20;

/** Fields to create a destination with. */
export interface DestinationInput {
  /** Default: the bootstrap hub (or the only hub). */
  hubId?: string | undefined;
  url: string;
  name?: string | undefined;
  enabled?: boolean | undefined;
  muted?: boolean | undefined;
  filter?: DestinationFilter | null | undefined;
  /** How its queue is sent (destination.policy.ts); fields left out keep their current (or default) value. */
  policy?: PolicyInput | null | undefined;
}

/** What the API shows for a policy header's value, and what a caller sends back to keep it. */
export const KEPT_HEADER_VALUE = "[redacted]";

/** Fields to change; undefined means unchanged, a null filter removes it. */
export type DestinationPatch = Partial<DestinationInput>;

/** A destination as the API shows it, with its queue. */
export interface DestinationView extends DestinationRecord {
  queue: DestinationQueueStats;
}

/** Where a new webhook goes: one entry per enabled destination. */
export interface Route {
  destinationId: string;
  /** Why the filter (or the unverified rule) dropped it; null when it is queued. */
  filteredBecause: string | null;
  /** Queued but held out of the queue until released (an unverified webhook at a destination that holds those). */
  held?: boolean;
  /** How long it may stay pending from its arrival (ms), when the destination's policy sets a maximum age. */
  maxAgeMs?: number | null;
}

/** Destination operations. */
export type DestinationService = ReturnType<typeof createDestinationService>;

/** Validates a destination URL: absolute http(s), no credentials, no fragment. */
export function checkDestinationUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new AppError("invalid_argument", `destination_url "${value}" is not an absolute URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new AppError("invalid_argument", "destination_url must use http or https");
  }
  if (url.username || url.password) {
    throw new AppError("invalid_argument", "destination_url must not contain credentials");
  }
  if (url.hash) throw new AppError("invalid_argument", "destination_url must not contain a fragment");
  return url.toString();
}

function checkName(name: string | undefined): string {
  const trimmed = (name ?? "").trim();
  if (trimmed.length > 100) throw new AppError("invalid_argument", "destination name is longer than 100 characters");
  return trimmed;
}

/** Creates the destination service. */
export function createDestinationService(deps: {
  store: DestinationStore;
  hubs: HubService;
  clock: Clock;
  events: EdgeEvents;
  /** Recomputes the status of webhooks whose deliveries changed outside the dispatcher. */
  recomputeWebhooks: (webhookSeqs: number[]) => void;
  /** DEAD_LETTER_AFTER: how long a delivery may stay pending when its policy sets no maximum age. */
  deadLetterAfterMs: number;
}) {
  const { store, hubs, clock, events } = deps;
  // note: ingest routes every webhook and the dispatcher looks its lanes up on every pump; keep both in memory.
  const byEndpoint = new Map<string, DestinationRecord[]>();
  const byId = new Map<string, DestinationRecord | undefined>();
  const forget = (d: { id: string; endpointId: string }) => {
    byEndpoint.delete(d.endpointId);
    byId.delete(d.id);
  };

  const ofEndpoint = (endpointId: string): DestinationRecord[] => {
    let list = byEndpoint.get(endpointId);
    if (!list) {
      list = store.ofEndpoint(endpointId);
      if (byEndpoint.size > 10_000) byEndpoint.clear();
      byEndpoint.set(endpointId, list);
    }
    return list;
  };

  const mustGet = (id: string): DestinationRecord => {
    const found = isId("destination", id) ? store.get(id) : undefined;
    if (!found) throw new AppError("not_found", `destination ${JSON.stringify(id)} not found`);
    return found;
  };

  // note: policy header values are secrets of the LAN service: never shown again once set.
  const view = (d: DestinationRecord): DestinationView => ({
    ...d,
    policy: { ...d.policy, headers: d.policy.headers.map(([name]) => [name, KEPT_HEADER_VALUE]) },
    queue: store.queueStats(d.id),
  });

  /** A new record for `endpointId` (not stored). */
  const build = (endpointId: string, input: DestinationInput, position: number): DestinationRecord => {
    const now = clock.now();
    return {
      id: newId("destination"),
      endpointId,
      hubId: input.hubId ? hubs.checkUsable(input.hubId) : hubs.defaultHubId(),
      url: checkDestinationUrl(input.url ?? ""),
      name: checkName(input.name),
      enabled: input.enabled ?? true,
      muted: input.muted ?? false,
      filter: checkFilter(input.filter),
      policy: checkPolicy(input.policy ?? undefined),
      position,
      createdAt: now,
      updatedAt: now,
    };
  };

  return {
    view,
    /**
     * Validates destinations for a new endpoint and returns the records to
     * insert with it (in one transaction, by the endpoint service).
     */
    prepare(endpointId: string, inputs: readonly DestinationInput[]): DestinationRecord[] {
      if (inputs.length === 0) throw new AppError("invalid_argument", "an endpoint needs at least one destination (destination_url or destinations)");
      if (inputs.length > MAX_DESTINATIONS_PER_ENDPOINT) {
        throw new AppError("invalid_argument", `an endpoint has at most ${MAX_DESTINATIONS_PER_ENDPOINT} destinations`);
      }
      return inputs.map((input, i) => build(endpointId, input, i));
    },
    /** Stores records made by prepare (inside the caller's transaction). */
    insertPrepared(records: readonly DestinationRecord[]): void {
      for (const d of records) store.insert(d);
      for (const d of records) forget(d);
    },
    /** Adds a destination to an existing endpoint. */
    create(endpointId: string, input: DestinationInput): DestinationView {
      const existing = ofEndpoint(endpointId);
      if (existing.length >= MAX_DESTINATIONS_PER_ENDPOINT) {
        throw new AppError("invalid_argument", `an endpoint has at most ${MAX_DESTINATIONS_PER_ENDPOINT} destinations`);
      }
      const d = build(endpointId, input, store.nextPosition(endpointId));
      store.insert(d);
      forget(d);
      events.emit("destination.changed", { endpointId, destinationId: d.id });
      return view(d);
    },
    get(id: string): DestinationView {
      return view(mustGet(id));
    },
    /** The record, cached (undefined when unknown; no throw). */
    find(id: string): DestinationRecord | undefined {
      if (!byId.has(id)) {
        if (byId.size > 10_000) byId.clear();
        byId.set(id, isId("destination", id) ? store.get(id) : undefined);
      }
      return byId.get(id);
    },
    /** An endpoint's destinations in order (cached). */
    ofEndpoint,
    /** Destinations on one hub. */
    ofHub(hubId: string): DestinationRecord[] {
      return store.ofHub(hubId);
    },
    all(): DestinationRecord[] {
      return store.all();
    },
    /** Per hub: its destinations and the deliveries waiting in their queues (one query). */
    perHub(): Map<string, { destinations: number; pending: number }> {
      return store.perHub();
    },
    update(id: string, patch: DestinationPatch): DestinationView {
      const current = mustGet(id);
      const next: DestinationRecord = {
        ...current,
        hubId: patch.hubId !== undefined && patch.hubId !== current.hubId ? hubs.checkUsable(patch.hubId) : current.hubId,
        url: patch.url !== undefined ? checkDestinationUrl(patch.url) : current.url,
        name: patch.name !== undefined ? checkName(patch.name) : current.name,
        enabled: patch.enabled ?? current.enabled,
        muted: patch.muted ?? current.muted,
        filter: patch.filter !== undefined ? checkFilter(patch.filter) : current.filter,
        // note: a null policy resets it to the default; header values sent back redacted keep theirs.
        policy: patch.policy === null ? checkPolicy(undefined) : checkPolicy(patch.policy, current.policy, KEPT_HEADER_VALUE),
        updatedAt: clock.now(),
      };
      store.update(next);
      if (next.policy.maxAgeMs !== current.policy.maxAgeMs) store.reAge(id, next.policy.maxAgeMs ?? deps.deadLetterAfterMs);
      forget(next);
      events.emit("destination.changed", { endpointId: next.endpointId, destinationId: id });
      return view(next);
    },
    /** Deletes a destination and its queue; an endpoint keeps at least one. */
    delete(id: string): void {
      const d = mustGet(id);
      if (ofEndpoint(d.endpointId).length <= 1) {
        throw new AppError("failed_precondition", "an endpoint keeps at least one destination: add another first, or delete the endpoint");
      }
      const touched = store.delete(id);
      forget(d);
      deps.recomputeWebhooks(touched);
      events.emit("destination.changed", { endpointId: d.endpointId, destinationId: id, deleted: true });
    },
    /** Drops an endpoint's cached destinations (it was deleted). */
    forgetEndpoint(endpointId: string): void {
      for (const d of byEndpoint.get(endpointId) ?? []) byId.delete(d.id);
      byEndpoint.delete(endpointId);
    },
    /**
     * Where a new webhook of `endpointId` goes: every enabled destination,
     * filtered or queued; an unverified one (`signatureValid` false) as each
     * destination's policy says: delivered, held, or dropped (stored as filtered).
     */
    route(endpointId: string, eventType: string | null, json: JsonBody, signatureValid = true): Route[] {
      return ofEndpoint(endpointId)
        .filter((d) => d.enabled)
        .map((d) => {
          const p = d.policy;
          const filtered = filterVerdict(d.filter, eventType, json);
          if (filtered !== null || signatureValid || p.unverified === "deliver")
            return { destinationId: d.id, filteredBecause: filtered, maxAgeMs: p.maxAgeMs };
          if (p.unverified === "drop")
            return { destinationId: d.id, filteredBecause: "unverified: this destination drops webhooks whose signature did not check out" };
          return { destinationId: d.id, filteredBecause: null, held: true, maxAgeMs: p.maxAgeMs };
        });
    },
  };
}
