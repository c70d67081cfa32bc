/**
 * Endpoint rules: validation, secrets sealed at rest, ingest URLs. Used by the
 * admin RPC, the REST routes and the MCP tools alike.
 */
import type { Clock } from "../clock.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { AppError } from "../errors.js";
import type { EdgeEvents } from "../events.js";
import { isId, newId } from "../ids.js";
import type { ProviderType } from "../verify/verify.service.js";
import type { Logger } from "../logger.js";
import { checkSecrets, decodeSecrets, encodeSecrets, isLegacy } from "./endpoint.secrets.js";
import { MAX_DEDUP_WINDOW_MS } from "../ingest/ingest.dedup.js";
import type { DestinationInput, DestinationService } from "../destination/destination.service.js";
import type { DestinationRecord } from "../destination/destination.store.js";
import type { EndpointRecord, EndpointStore } from "./endpoint.store.js";

/** Provider types an endpoint may have. */
export const PROVIDER_TYPES: readonly ProviderType[] = ["generic", "stripe", "github", "telegram"];

/** An endpoint as the API shows it: never the secret. */
export interface EndpointView {
  id: string;
  name: string;
  providerType: ProviderType;
  /** URL of its first destination (the one most endpoints have). */
  destinationUrl: string;
  destinations: DestinationRecord[];
  eventTypeHeader: string | null;
  muted: boolean;
  hasSignatureSecret: boolean;
  /** How many signature secrets it holds (more than one during a rotation); never the secrets. */
  signatureSecretCount: number;
  /** Opt-in deduplication window (ms); 0: off, every webhook is delivered. */
  dedupWindowMs: number;
  ingestUrl: string;
  createdAt: number;
  updatedAt: number;
}

/** Fields to create an endpoint with: `destinationUrl` (one destination) or `destinations`. */
export interface EndpointInput {
  name: string;
  providerType: ProviderType;
  /** Signature secrets, each exactly as the provider shows it; any of them verifies (several during a rotation). */
  signatureSecrets?: readonly string[];
  destinationUrl?: string;
  /** Hub of the `destinationUrl` destination (default: the bootstrap or only hub). */
  hubId?: string;
  destinations?: DestinationInput[];
  eventTypeHeader?: string | null;
  muted?: boolean;
  /** Deduplication window in ms (0: off). */
  dedupWindowMs?: number;
}

/** Fields to change; undefined means unchanged, an empty secret list removes them; `destinationUrl` changes the first destination. */
export type EndpointPatch = Partial<Omit<EndpointInput, "destinations" | "hubId">>;

/** Endpoint operations. */
export type EndpointService = ReturnType<typeof createEndpointService>;

function checkName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw new AppError("invalid_argument", "name is required");
  if (trimmed.length > 200) throw new AppError("invalid_argument", "name is longer than 200 characters");
  return trimmed;
}

function checkProvider(p: string): ProviderType {
  if (!(PROVIDER_TYPES as readonly string[]).includes(p)) {
    throw new AppError("invalid_argument", `provider_type must be one of ${PROVIDER_TYPES.join(", ")}`);
  }
  return p as ProviderType;
}

/** Validates a deduplication window: 0 (off) to MAX_DEDUP_WINDOW_MS, whole seconds. */
function checkDedupWindow(ms: number | undefined): number {
  const v = ms ?? 0;
  if (!Number.isInteger(v) || v < 0 || v > MAX_DEDUP_WINDOW_MS || v % 1000 !== 0) {
    throw new AppError("invalid_argument", `dedup_window_ms must be whole seconds, from 0 (off) to ${MAX_DEDUP_WINDOW_MS} (7 days)`);
  }
  return v;
}

/** Validates an event type header name (generic endpoints). */
function checkEventTypeHeader(value: string | null | undefined): string | null {
  const v = value?.trim() ?? "";
  if (!v) return null;
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/.test(v)) throw new AppError("invalid_argument", "event_type_header is not a header name");
  return v.toLowerCase();
}

/** Creates the endpoint service. */
export function createEndpointService(deps: {
  store: EndpointStore;
  destinations: DestinationService;
  box: SecretBox;
  clock: Clock;
  events: EdgeEvents;
  baseUrl: string;
}) {
  const { store, destinations, box, clock, events, baseUrl } = deps;
  // note: ingest looks its endpoint up on every request; keep records (and opened secrets)
  // in memory, dropped on every change made through this service.
  const cache = new Map<string, { record: EndpointRecord | undefined; secrets?: string[] }>();
  const forget = (id: string) => cache.delete(id);

  const sealSecrets = (id: string, secrets: readonly string[] | undefined): string | null => {
    const list = checkSecrets(secrets ?? []);
    return list.length === 0 ? null : box.seal(encodeSecrets(list), id);
  };
  // note: the count shown in views, without opening the secrets on every list (a cache of its own: views are not hot).
  const counts = new Map<string, { sealed: string; count: number }>();
  const secretCount = (e: EndpointRecord): number => {
    if (e.sealedSecret === null) return 0;
    const hit = counts.get(e.id);
    if (hit?.sealed === e.sealedSecret) return hit.count;
    let count = 0;
    try {
      count = decodeSecrets(box.open(e.sealedSecret, e.id)).length;
    } catch {
      // note: a secret sealed under a key this edge no longer has; ingest logs it. Shown as present, uncounted.
      return 1;
    }
    counts.set(e.id, { sealed: e.sealedSecret, count });
    return count;
  };

  const view = (e: EndpointRecord): EndpointView => {
    const list = destinations.ofEndpoint(e.id);
    return {
      id: e.id,
      name: e.name,
      providerType: e.providerType,
      destinationUrl: list[0]?.url ?? "",
      destinations: list,
      eventTypeHeader: e.eventTypeHeader,
      muted: e.muted,
      hasSignatureSecret: e.sealedSecret !== null,
      signatureSecretCount: secretCount(e),
      dedupWindowMs: e.dedupWindowMs,
      ingestUrl: `${baseUrl}/h/${e.id}`,
      createdAt: e.createdAt,
      updatedAt: e.updatedAt,
    };
  };

  const mustGet = (id: string): EndpointRecord => {
    const found = isId("endpoint", id) ? store.get(id) : undefined;
    if (!found) throw new AppError("not_found", `endpoint ${JSON.stringify(id)} not found`);
    return found;
  };

  return {
    view,
    create(input: EndpointInput): EndpointView {
      const id = newId("endpoint");
      const now = clock.now();
      const record: EndpointRecord = {
        id,
        name: checkName(input.name ?? ""),
        providerType: checkProvider(input.providerType),
        sealedSecret: sealSecrets(id, input.signatureSecrets),
        eventTypeHeader: checkEventTypeHeader(input.eventTypeHeader),
        muted: input.muted ?? false,
        dedupWindowMs: checkDedupWindow(input.dedupWindowMs),
        createdAt: now,
        updatedAt: now,
      };
      if (input.destinations?.length && input.destinationUrl) {
        throw new AppError("invalid_argument", "give destination_url or destinations, not both");
      }
      const dests = destinations.prepare(
        id,
        input.destinations?.length ? input.destinations : input.destinationUrl ? [{ url: input.destinationUrl, hubId: input.hubId }] : [],
      );
      store.atomically(() => {
        store.insert(record);
        destinations.insertPrepared(dests);
      });
      forget(id);
      events.emit("endpoint.changed", { endpointId: id });
      return view(record);
    },
    get(id: string): EndpointView {
      return view(mustGet(id));
    },
    /** The stored record, for ingest (unknown ids → undefined, no throw). */
    find(id: string): EndpointRecord | undefined {
      if (!isId("endpoint", id)) return undefined;
      let hit = cache.get(id);
      if (!hit) {
        hit = { record: store.get(id) };
        if (cache.size > 10_000) cache.clear();
        cache.set(id, hit);
      }
      return hit.record;
    },
    list(): EndpointView[] {
      return store.list().map(view);
    },
    update(id: string, patch: EndpointPatch): EndpointView {
      const current = mustGet(id);
      const next: EndpointRecord = {
        ...current,
        name: patch.name !== undefined ? checkName(patch.name) : current.name,
        providerType: patch.providerType !== undefined ? checkProvider(patch.providerType) : current.providerType,
        sealedSecret: patch.signatureSecrets !== undefined ? sealSecrets(id, patch.signatureSecrets) : current.sealedSecret,
        eventTypeHeader: patch.eventTypeHeader !== undefined ? checkEventTypeHeader(patch.eventTypeHeader) : current.eventTypeHeader,
        muted: patch.muted ?? current.muted,
        dedupWindowMs: patch.dedupWindowMs !== undefined ? checkDedupWindow(patch.dedupWindowMs) : current.dedupWindowMs,
        updatedAt: clock.now(),
      };
      const first = destinations.ofEndpoint(id)[0];
      if (patch.destinationUrl !== undefined && first) destinations.update(first.id, { url: patch.destinationUrl });
      store.update(next);
      forget(id);
      events.emit("endpoint.changed", { endpointId: id });
      return view(next);
    },
    delete(id: string): void {
      mustGet(id);
      store.delete(id);
      forget(id);
      destinations.forgetEndpoint(id);
      events.emit("endpoint.changed", { endpointId: id, deleted: true });
    },
    /** The endpoint's secrets in clear, for signature checks. */
    secrets(e: EndpointRecord): string[] {
      if (!e.sealedSecret) return [];
      const hit = cache.get(e.id);
      if (hit?.record === e && hit.secrets) return hit.secrets;
      const opened = decodeSecrets(box.open(e.sealedSecret, e.id));
      if (hit?.record === e) hit.secrets = opened;
      return opened;
    },
    webhookCount(id: string): number {
      return store.webhookCount(mustGet(id).id);
    },
    /**
     * Re-seals secrets stored before lists (one string split on separators)
     * as a list, read by the legacy rule (endpoint.secrets.ts); logs each
     * endpoint changed and how many secrets it now has. Values this edge
     * cannot open (another ENCRYPTION_KEY) are left as they are. Returns how
     * many were re-sealed.
     */
    upgradeLegacySecrets(log: Logger): number {
      let upgraded = 0;
      for (const e of store.list()) {
        if (e.sealedSecret === null) continue;
        let plain: string;
        try {
          plain = box.open(e.sealedSecret, e.id);
        } catch {
          continue;
        }
        if (!isLegacy(plain)) continue;
        const list = decodeSecrets(plain);
        store.update({ ...e, sealedSecret: list.length ? box.seal(encodeSecrets(list), e.id) : null });
        forget(e.id);
        upgraded += 1;
        log.info({ endpointId: e.id, secrets: list.length }, "signature secrets re-stored as a list");
      }
      return upgraded;
    },
  };
}
