/**
 * What the admin RPC, the REST routes and the MCP tools share: the one rule
 * between views and messages (derived by reflection over the message types,
 * not restated per field), the lower-case enum strings stored in the database
 * (which are also the REST and MCP strings), the settings object, and the
 * status snapshot.
 */
import { create, isMessage, ScalarType, type DescEnum, type DescField, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs, TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import { ProviderTypeSchema, WebhookStatusSchema, type ProviderType, type WebhookStatus } from "@hookly/proto/gen/admin_pb";
import type { Settings } from "../core.js";
import type { StorageService, StorageStatus } from "../storage/storage.service.js";
import type { DestinationFilter } from "../destination/destination.filter.js";
import type { DestinationService, DestinationView } from "../destination/destination.service.js";
import { PROVIDER_TYPES, type EndpointService } from "../endpoint/endpoint.service.js";
import { AppError } from "../errors.js";
import type { HubService, HubView } from "../hub/hub.service.js";
import type { RelayService } from "../relay/relay.service.js";
import type { QueueControl } from "../queue/queue.service.js";
import type { QueueMonitor } from "../queue/queue.monitor.js";
import type { AuditService } from "../audit/audit.service.js";
import type { StatsService } from "../stats/stats.service.js";
import type { ProviderType as ProviderName } from "../verify/verify.service.js";
import type { StatusCounts, WebhookService } from "../webhook/webhook.service.js";
import { WEBHOOK_STATUSES, type WebhookStatusName } from "../webhook/webhook.store.js";

/** The edge's non-secret settings (built in app.ts). */
export type AdminSettings = Settings;

/** What the admin layers read from the relay. */
export type HubStatusSource = Pick<RelayService, "hubStatus" | "hubLive" | "heldDestinations">;

/**
 * An enum value as the database, REST and MCP name it: the value's name
 * without the enum's prefix, in lower case (WEBHOOK_STATUS_DEAD_LETTER →
 * `dead_letter`, PROVIDER_TYPE_GITHUB → `github`); undefined for a number
 * the enum does not have.
 */
export function enumName(desc: DescEnum, n: number): string | undefined {
  // note: protobuf-es strips the shared prefix into localName (the TS enum's key: DeliveryStatus.DEAD_LETTER).
  return desc.value[n]?.localName.toLowerCase();
}

/** The number of the enum value {@link enumName} calls `name`; undefined when none is. */
export function enumNumber(desc: DescEnum, name: string): number | undefined {
  return desc.values.find((v) => v.localName.toLowerCase() === name)?.number;
}

/** One of `names` by its enum number; undefined for UNSPECIFIED and unknown numbers. */
const namedValue = <N extends string>(desc: DescEnum, names: readonly N[], n: number): N | undefined => {
  const name = enumName(desc, n);
  return names.find((s) => s === name);
};

/** A filter from its wire form (equals as JSON text); undefined when none was given. */
export function filterFromWire(f: { eventTypes: string[]; jsonPath: string; equalsJson: string } | undefined): DestinationFilter | undefined {
  if (!f) return undefined;
  let equals: DestinationFilter["equals"];
  if (f.equalsJson.trim()) {
    try {
      equals = JSON.parse(f.equalsJson) as DestinationFilter["equals"];
    } catch {
      throw new AppError("invalid_argument", 'filter equals_json is not JSON (a string needs quotes: "paid")');
    }
  }
  return { eventTypes: f.eventTypes, jsonPath: f.jsonPath || undefined, equals };
}

/** A destination with what the dispatcher knows of it. */
export interface DestinationSnapshot extends DestinationView {
  held: { since: number; error: string } | null;
  /** Its deliveries keep failing (queue/queue.health.ts): since when, how often, the last error; null when healthy. */
  failing: {
    since: number | null;
    attempts: number;
    webhookId: string | null;
    statusCode: number;
    error: string;
    stuckSince: number | null;
  } | null;
}

/** A hub with its live connection and its destinations' queues. */
export interface HubSnapshot extends HubView {
  connected: boolean;
  since: number;
  inFlight: number;
  queueDepth: number;
  destinations: number;
}

/** A destination with its held state and queue health. */
export function destinationSnapshot(d: DestinationView, deps: { relay: HubStatusSource; monitor: Pick<QueueMonitor, "of"> }): DestinationSnapshot {
  const h = deps.monitor.of(d.id);
  const failing =
    h.failingSince === null && h.stuckSince === null
      ? null
      : {
          since: h.failingSince,
          attempts: h.attempts,
          webhookId: h.last?.webhookId ?? null,
          statusCode: h.last?.statusCode ?? 0,
          error: h.last?.error ?? "",
          stuckSince: h.stuckSince,
        };
  return { ...d, held: deps.relay.heldDestinations().get(d.id) ?? null, failing };
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
      since: live.since || (live.connected ? (h.lastConnectedAt ?? 0) : (h.lastDisconnectedAt ?? h.createdAt)),
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
  return namedValue(ProviderTypeSchema, PROVIDER_TYPES, p);
}

/** The protobuf ProviderType of a provider string. */
export function providerToProto(p: ProviderName): ProviderType {
  return enumNumber(ProviderTypeSchema, p) ?? 0;
}

/** The status string of a protobuf WebhookStatus; undefined for UNSPECIFIED or unknown numbers. */
export function statusFromProto(s: WebhookStatus): WebhookStatusName | undefined {
  return namedValue(WebhookStatusSchema, WEBHOOK_STATUSES, s);
}

/** The protobuf WebhookStatus of a status string. */
export function statusToProto(s: WebhookStatusName): WebhookStatus {
  return enumNumber(WebhookStatusSchema, s) ?? 0;
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

/** The services behind the admin API, one set for its RPC and REST faces. */
export interface AdminDeps {
  endpoints: EndpointService;
  webhooks: WebhookService;
  hubs: HubService;
  destinations: DestinationService;
  relay: HubStatusSource;
  monitor: Pick<QueueMonitor, "of">;
  queue: QueueControl;
  audit: AuditService;
  stats: Pick<StatsService, "view">;
  settings: AdminSettings;
  storage: Pick<StorageService, "status">;
}

/** Collects the status page: hub link, every endpoint's queue, last-24 h counts. */
export function statusSnapshot(deps: AdminDeps): StatusSnapshot {
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

/** A time (ms since the epoch) as ISO-8601; null for 0, null or undefined (never). */
export const iso = (ms: number | null | undefined): string | null => (ms ? new Date(ms).toISOString() : null);

/** Fields holding a time (ms since the epoch) that REST shows as ISO-8601: `…At`, `since`, `…Since`, `deliverBy`. */
const isTimeKey = (key: string) => key.endsWith("At") || key === "since" || key.endsWith("Since") || key === "deliverBy";

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/^last24h$/, "last_24h");

/** A JSON value derived from a view: what {@link restJson} returns. */
export type RestJson = null | boolean | number | string | RestJson[] | { [key: string]: RestJson };

/**
 * The REST form of a service view, derived instead of restated: keys in
 * snake_case, times (`…At`, `since`, `…Since`, `deliverBy`; 0 or null = never) as
 * ISO-8601 strings, undefined fields left out, nested objects and arrays
 * alike. Bytes are not views' business: callers encode them.
 */
export function restJson(value: unknown, key = ""): RestJson {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return isTimeKey(key) ? iso(value) : value;
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

// ── messages ↔ views and JSON, by reflection ────────────────────────────────

const isTimestamp = (m: DescMessage | undefined) => m?.typeName === TimestampSchema.typeName;
const LONG = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64]);

/** Replaces the JSON of a message met inside the one being rendered (a field's value); returns `json` to keep it. */
export type MessageJsonVisitor = (message: MessageShape<DescMessage>, json: { [key: string]: RestJson }) => RestJson;

/** One value of a field (an element, for a list or map) as JSON. */
function valueJson(field: DescField, value: unknown, visit: MessageJsonVisitor | undefined, singular: boolean): RestJson {
  if (value === undefined) return null;
  if (field.message) {
    if (isTimestamp(field.message)) return iso(timestampMs(value as Timestamp));
    const message = value as MessageShape<DescMessage>;
    const json = messageJson(field.message, message, visit);
    return visit ? visit(message, json) : json;
  }
  if (field.enum) return enumName(field.enum, value as number) ?? "unspecified";
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  // note: proto3 cannot tell an empty string from an unset one, so a lone "" is null (the views' nulls
  // come back: event_type, error_message, replay_of…); a list keeps its "" elements.
  if (value === "" && singular) return null;
  return value as string | number | boolean;
}

/**
 * A message as the JSON the MCP tools answer, derived from its type instead
 * of restated: proto field names (snake_case), times as ISO-8601 (null when
 * unset or 0), enums by {@link enumName} ("unspecified" for 0 and unknown
 * numbers), 64-bit integers as numbers, bytes as base64, an unset message or
 * optional field as null, "" as null (proto3 has no null string), nested
 * messages and lists alike; `visit` may replace any nested message's JSON.
 *
 * note: no oneofs or maps (admin.proto has none).
 */
export function messageJson<D extends DescMessage>(schema: D, message: MessageShape<D>, visit?: MessageJsonVisitor): { [key: string]: RestJson } {
  const out: { [key: string]: RestJson } = {};
  for (const field of schema.fields) {
    const value: unknown = (message as Record<string, unknown>)[field.localName];
    out[field.name] = field.fieldKind === "list" ? (value as unknown[]).map((v) => valueJson(field, v, visit, false)) : valueJson(field, value, visit, true);
  }
  return out;
}

/** One value of a field from a view: ms → Timestamp (0 = unset), lower-case names → enum numbers, numbers → bigint for 64-bit fields. */
function valueFrom(field: DescField, value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (field.message) {
    if (isTimestamp(field.message) && typeof value === "number") return value ? timestampFromMs(value) : undefined;
    return isMessage(value) ? value : messageFrom(field.message, value as object);
  }
  if (field.enum && typeof value === "string") return enumNumber(field.enum, value) ?? 0;
  if (field.scalar !== undefined && LONG.has(field.scalar) && typeof value === "number") return BigInt(value);
  return value;
}

/** The fields of a message type by their localName (the name views use). */
type FieldName<D extends DescMessage> = Exclude<keyof MessageShape<D>, "$typeName" | "$unknown"> & string;

/**
 * What {@link messageFrom} takes besides the view: a value for every field
 * the view has no key for (undefined: the default), and for any other field
 * the view holds differently. Values are view-like (ms, numbers, names) or
 * messages.
 */
export type MessageOverrides<D extends DescMessage, V> = { [K in Unmatched<D, V>]: unknown } & { [K in FieldName<D>]?: unknown };

/** The fields of a message type a view has no key for. */
type Unmatched<D extends DescMessage, V> = Exclude<FieldName<D>, keyof V>;

/**
 * A message from a service view, derived instead of restated: each field
 * takes the view's value of the same (camelCase) name, or its override;
 * null and undefined leave the default, ms become Timestamps (0 = unset),
 * lower-case names become enum values ({@link enumNumber}; unknown:
 * UNSPECIFIED), numbers become bigints for 64-bit fields, plain objects and
 * lists of them become nested messages by the same rule. The type demands an
 * override for every field the view lacks, so a new proto field without a
 * view field, or a renamed view field, fails to compile here.
 *
 * note: nested plain objects are not checked so; build them with their own
 * messageFrom call where that matters. No oneofs or maps (admin.proto has none).
 */
export function messageFrom<D extends DescMessage, V extends object>(
  schema: D,
  view: V,
  ...[overrides]: [Unmatched<D, V>] extends [never] ? [MessageOverrides<D, V>?] : [MessageOverrides<D, V>]
): MessageShape<D> {
  const given: Record<string, unknown> = overrides ?? {};
  const init: Record<string, unknown> = {};
  for (const field of schema.fields) {
    const raw = field.localName in given ? given[field.localName] : (view as Record<string, unknown>)[field.localName];
    const value = field.fieldKind === "list" ? (raw as unknown[] | null | undefined)?.map((v) => valueFrom(field, v)) : valueFrom(field, raw);
    if (value !== undefined) init[field.localName] = value;
  }
  return create(schema, init as MessageInitShape<D>);
}
