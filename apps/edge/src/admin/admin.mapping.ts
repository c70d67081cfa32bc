/**
 * What the admin RPC and the REST routes share: the one mapping between the
 * protobuf enums and the lower-case strings stored in the database (which are
 * also the REST API's strings), the settings object, and the status snapshot.
 */
import { DeliveryStatus, ProviderType, WebhookStatus } from "@hookly/proto/gen/admin_pb";
import type { Settings } from "../core.js";
import type { StorageService, StorageStatus } from "../storage/storage.service.js";
import type { DestinationFilter } from "../destination/destination.filter.js";
import type { DestinationService, DestinationView } from "../destination/destination.service.js";
import type { EndpointService } from "../endpoint/endpoint.service.js";
import { AppError } from "../errors.js";
import type { HubService, HubView } from "../hub/hub.service.js";
import type { RelayService } from "../relay/relay.service.js";
import type { ProviderType as ProviderName } from "../verify/verify.service.js";
import type { StatusCounts, WebhookService, WebhookStatusName } from "../webhook/webhook.service.js";
import type { DeliveryStatusName } from "../webhook/webhook.store.js";

/** The edge's non-secret settings (built in app.ts). */
export type AdminSettings = Settings;

/** What the admin layers read from the relay. */
export type HubStatusSource = Pick<RelayService, "hubStatus" | "hubLive" | "heldDestinations">;

const PROVIDERS: [ProviderType, ProviderName][] = [
  [ProviderType.GENERIC, "generic"],
  [ProviderType.STRIPE, "stripe"],
  [ProviderType.GITHUB, "github"],
  [ProviderType.TELEGRAM, "telegram"],
];

const STATUSES: [WebhookStatus, WebhookStatusName][] = [
  [WebhookStatus.PENDING, "pending"],
  [WebhookStatus.DELIVERED, "delivered"],
  [WebhookStatus.FAILED, "failed"],
  [WebhookStatus.DEAD_LETTER, "dead_letter"],
  [WebhookStatus.PARTIAL, "partial"],
  [WebhookStatus.FILTERED, "filtered"],
];

const DELIVERY_STATUSES: [DeliveryStatus, DeliveryStatusName][] = [
  [DeliveryStatus.PENDING, "pending"],
  [DeliveryStatus.DELIVERED, "delivered"],
  [DeliveryStatus.FAILED, "failed"],
  [DeliveryStatus.DEAD_LETTER, "dead_letter"],
  [DeliveryStatus.FILTERED, "filtered"],
];

/** The protobuf DeliveryStatus of a delivery status string. */
export function deliveryStatusToProto(s: DeliveryStatusName): DeliveryStatus {
  return DELIVERY_STATUSES.find(([, n]) => n === s)?.[0] ?? DeliveryStatus.UNSPECIFIED;
}

/** A filter from its wire form (equals as JSON text); undefined when none was given. */
export function filterFromWire(f: { eventTypes: string[]; jsonPath: string; equalsJson: string } | undefined): DestinationFilter | undefined {
  if (!f) return undefined;
  let equals: DestinationFilter["equals"];
  if (f.equalsJson.trim()) {
    try {
      equals = JSON.parse(f.equalsJson) as DestinationFilter["equals"];
    } catch {
      throw new AppError("invalid_argument", "filter equals_json is not JSON (a string needs quotes: \"paid\")");
    }
  }
  return { eventTypes: f.eventTypes, jsonPath: f.jsonPath || undefined, equals };
}

/** A destination with what the dispatcher knows of it. */
export interface DestinationSnapshot extends DestinationView {
  held: { since: number; error: string } | null;
}

/** A hub with its live connection and its destinations' queues. */
export interface HubSnapshot extends HubView {
  connected: boolean;
  since: number;
  inFlight: number;
  queueDepth: number;
  destinations: number;
}

/** A destination and its held state. */
export function destinationSnapshot(d: DestinationView, relay: HubStatusSource): DestinationSnapshot {
  return { ...d, held: relay.heldDestinations().get(d.id) ?? null };
}

/** Every hub (bootstrap first) with its live state and queue depth. */
export function hubSnapshots(deps: { hubs: HubService; destinations: DestinationService; relay: HubStatusSource }): HubSnapshot[] {
  const perHub = deps.destinations.perHub();
  return deps.hubs.list().map((h) => {
    const live = deps.relay.hubLive(h.id);
    const mine = perHub.get(h.id);
    return {
      ...h,
      connected: live.connected,
      since: live.since || (live.connected ? h.lastConnectedAt ?? 0 : h.lastDisconnectedAt ?? h.createdAt),
      // note: kept after a disconnect: the live value while connected, the registry's otherwise.
      lastSeenAt: Math.max(live.lastSeenAt, h.lastSeenAt ?? 0) || null,
      version: live.version || h.version,
      inFlight: live.inFlight,
      queueDepth: mine?.pending ?? 0,
      destinations: mine?.destinations ?? 0,
    };
  });
}

/** The provider string of a protobuf ProviderType; undefined for UNSPECIFIED or unknown numbers. */
export function providerFromProto(p: ProviderType): ProviderName | undefined {
  return PROVIDERS.find(([e]) => e === p)?.[1];
}

/** The protobuf ProviderType of a provider string. */
export function providerToProto(p: ProviderName): ProviderType {
  return PROVIDERS.find(([, s]) => s === p)?.[0] ?? ProviderType.UNSPECIFIED;
}

/** The status string of a protobuf WebhookStatus; undefined for UNSPECIFIED or unknown numbers. */
export function statusFromProto(s: WebhookStatus): WebhookStatusName | undefined {
  return STATUSES.find(([e]) => e === s)?.[1];
}

/** The protobuf WebhookStatus of a status string. */
export function statusToProto(s: WebhookStatusName): WebhookStatus {
  return STATUSES.find(([, n]) => n === s)?.[0] ?? WebhookStatus.UNSPECIFIED;
}

/** One endpoint's queue on the status page. */
export interface QueueSnapshot {
  endpointId: string;
  name: string;
  depth: number;
  oldestPendingAt: number | null;
  muted: boolean;
}

/** Everything GetStatus and `GET /api/status` report. */
export interface StatusSnapshot {
  hub: ReturnType<RelayService["hubStatus"]>;
  hubs: HubSnapshot[];
  queues: QueueSnapshot[];
  /** Webhooks received in the last 24 h, by current status. */
  last24h: StatusCounts;
  oldestPendingAt: number | null;
  edgeVersion: string;
  /** Whether the database takes writes, and the room left. */
  storage: StorageStatus;
}

/** Collects the status page: hub link, every endpoint's queue, last-24 h counts. */
export function statusSnapshot(deps: {
  endpoints: EndpointService;
  webhooks: WebhookService;
  hubs: HubService;
  destinations: DestinationService;
  relay: HubStatusSource;
  settings: AdminSettings;
  storage: Pick<StorageService, "status">;
}): StatusSnapshot {
  const stats = new Map(deps.webhooks.queueStats().map((q) => [q.endpointId, q]));
  const hubs = hubSnapshots(deps);
  const summary = deps.relay.hubStatus();
  const shown = hubs.find((h) => h.id === summary.hubId) ?? hubs.find((h) => h.bootstrap);
  return {
    // note: the one-hub summary keeps its last-seen after a disconnect (from the registry).
    hub: { ...summary, lastSeenAt: shown?.lastSeenAt ?? summary.lastSeenAt, hubId: summary.hubId || shown?.id || "" },
    hubs,
    queues: deps.endpoints.list().map((e) => ({
      endpointId: e.id,
      name: e.name,
      depth: stats.get(e.id)?.pending ?? 0,
      oldestPendingAt: stats.get(e.id)?.oldestPendingAt ?? null,
      muted: e.muted,
    })),
    last24h: deps.webhooks.counts(),
    oldestPendingAt: deps.webhooks.oldestPendingAt(),
    edgeVersion: deps.settings.edgeVersion,
    storage: deps.storage.status(),
  };
}

/** Fields holding a time (ms since the epoch) that REST shows as ISO-8601: `…At`, `since`, `deliverBy`. */
const isTimeKey = (key: string) => key.endsWith("At") || key === "since" || key === "deliverBy";

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/^last24h$/, "last_24h");

/** A JSON value derived from a view: what {@link restJson} returns. */
export type RestJson = null | boolean | number | string | RestJson[] | { [key: string]: RestJson };

/**
 * The REST form of a service view, derived instead of restated: keys in
 * snake_case, times (`…At`, `since`, `deliverBy`; 0 or null = never) as
 * ISO-8601 strings, undefined fields left out, nested objects and arrays
 * alike. Bytes are not views' business: callers encode them.
 */
export function restJson(value: unknown, key = ""): RestJson {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return isTimeKey(key) ? (value ? new Date(value).toISOString() : null) : value;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map((v) => restJson(v));
  if (typeof value === "object") {
    const out: { [key: string]: RestJson } = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[snake(k)] = restJson(v, k);
    return out;
  }
  return null;
}
