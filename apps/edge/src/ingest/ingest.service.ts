/**
 * Ingest: find the endpoint, check the provider signature on the raw bytes,
 * store durably. An invalid signature is stored and marked, never rejected.
 */
import type { Clock } from "../clock.js";
import { eventTypeOf, lazyJson } from "../destination/destination.filter.js";
import type { DestinationService } from "../destination/destination.service.js";
import type { EndpointService } from "../endpoint/endpoint.service.js";
import { AppError, STORAGE_RETRY_AFTER_S, isForeignKeyViolation } from "../errors.js";
import type { EdgeEvents } from "../events.js";
import { newId } from "../ids.js";
import type { Logger } from "../logger.js";
import type { StorageReporter } from "../storage/storage.service.js";
import { verifySignature } from "../verify/verify.service.js";
import type { IngestStore } from "./ingest.store.js";

/** One request as it arrived on an ingest URL. */
export interface IncomingWebhook {
  endpointId: string;
  method: string;
  query: string;
  /** [name, value] pairs in arrival order, original case. */
  headers: [string, string][];
  body: Uint8Array;
  sourceIp: string | null;
}

/** Ingest operations. */
export type IngestService = ReturnType<typeof createIngestService>;

/** Builds a case-insensitive header lookup that joins repeats with ", " as Node does. */
export function headerLookup(headers: readonly [string, string][]): (name: string) => string | undefined {
  const map = new Map<string, string>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const prev = map.get(key);
    map.set(key, prev === undefined ? value : `${prev}, ${value}`);
  }
  return (name) => map.get(name.toLowerCase());
}

/** Creates the ingest service. */
export function createIngestService(deps: {
  endpoints: EndpointService;
  destinations: DestinationService;
  store: IngestStore;
  clock: Clock;
  events: EdgeEvents;
  log: Logger;
  deadLetterAfterMs: number;
  /** Storage health: refuses ingest while the disk is low or refuses writes, and learns of failures. */
  storage: StorageReporter & { ingestRefusal(): string | undefined };
}) {
  const { endpoints, destinations, store, clock, events, log, deadLetterAfterMs, storage } = deps;
  /** The 503 for a webhook arriving now, while storage refuses new ones. */
  const refusal = (): AppError | undefined => {
    const why = storage.ingestRefusal();
    return why === undefined ? undefined : new AppError("unavailable", `${why}; retry later`, { retryAfterS: STORAGE_RETRY_AFTER_S });
  };
  return {
    /**
     * Why a webhook arriving now would be refused (503 with Retry-After), or
     * undefined: the ingest route asks before reading a body it cannot store.
     */
    refusal,
    /**
     * Stores a webhook and resolves with its id once it is on disk.
     * Throws AppError not_found for an unknown endpoint, unavailable (with
     * Retry-After) while storage refuses new webhooks or cannot write.
     *
     * note: while refused, nothing is tried: the storage service probes the
     * disk and lifts the refusal within seconds of it taking writes again.
     */
    /** Whether an endpoint with this id exists (checked before a body is read; accept checks again). */
    knows(endpointId: string): boolean {
      return endpoints.find(endpointId) !== undefined;
    },
    async accept(input: IncomingWebhook): Promise<{ webhookId: string; signatureValid: boolean }> {
      const endpoint = endpoints.find(input.endpointId);
      if (!endpoint) throw new AppError("not_found", "no endpoint with this id");
      const refused = refusal();
      if (refused) throw refused;
      const receivedAt = clock.now();
      const header = headerLookup(input.headers);
      let secrets: string[];
      try {
        secrets = endpoints.secrets(endpoint);
      } catch (err) {
        // note: a secret that cannot be decrypted (wrong ENCRYPTION_KEY) must not lose the webhook.
        log.error({ err, endpointId: endpoint.id }, "cannot decrypt endpoint secret; storing webhook unverified");
        secrets = [];
      }
      const verdict = verifySignature({
        provider: endpoint.providerType,
        secrets,
        header,
        body: input.body,
        now: new Date(receivedAt),
      });
      const json = lazyJson(input.body);
      const eventType = eventTypeOf({ provider: endpoint.providerType, header, json, eventTypeHeader: endpoint.eventTypeHeader });
      const routes = destinations.route(endpoint.id, eventType, json);
      const id = newId("webhook");
      let seq: number;
      try {
        seq = await store.insert({
          id,
          endpointId: endpoint.id,
          receivedAt,
          method: input.method,
          query: input.query,
          headers: input.headers,
          payload: input.body,
          contentType: header("content-type") ?? null,
          sourceIp: input.sourceIp,
          signatureValid: verdict.ok,
          signatureReason: verdict.ok ? null : verdict.reason,
          eventType,
          routes,
          deliverBy: receivedAt + deadLetterAfterMs,
          replayOf: null,
        });
      } catch (err) {
        if (isForeignKeyViolation(err)) {
          throw new AppError("not_found", "no endpoint with this id");
        }
        // note: a storage error is logged once per outage by the storage service, not per request.
        if (!storage.failed("ingest", err)) log.error({ err, endpointId: endpoint.id }, "cannot store webhook; answering 503 so the provider retries");
        throw new AppError("unavailable", "webhook could not be stored; retry later", { cause: err, retryAfterS: STORAGE_RETRY_AFTER_S });
      }
      storage.succeeded("ingest");
      const destinationIds = routes.filter((r) => r.filteredBecause === null).map((r) => r.destinationId);
      events.emit("webhook.received", { endpointId: endpoint.id, webhookId: id, seq, destinationIds, signatureValid: verdict.ok });
      return { webhookId: id, signatureValid: verdict.ok };
    },
  };
}
