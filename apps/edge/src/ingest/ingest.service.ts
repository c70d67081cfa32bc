/**
 * Ingest: find the endpoint, check the provider signature on the raw bytes,
 * store durably. An invalid signature is stored and marked, never rejected.
 */
import { createHash } from "node:crypto";
import type { Clock } from "../clock.js";
import { eventTypeOf, lazyJson } from "../destination/destination.filter.js";
import { dedupKeyOf } from "./ingest.dedup.js";
import type { DestinationService } from "../destination/destination.service.js";
import type { EndpointService } from "../endpoint/endpoint.service.js";
import { AppError, STORAGE_RETRY_AFTER_S, isForeignKeyViolation } from "../errors.js";
import type { EdgeEvents } from "../events.js";
import { newId } from "../ids.js";
import type { Logger } from "../logger.js";
import type { StorageReporter } from "../storage/storage.service.js";
import type { HeaderSealer } from "../webhook/webhook.headers.js";
import { FILE_PAYLOAD_BYTES, type PayloadFiles, type PayloadRef, type PayloadSpool } from "../payload/payload.files.js";
import { startVerification } from "../verify/verify.service.js";
import type { IngestStore } from "./ingest.store.js";

/** One request as it arrived on an ingest URL, before its body. */
export interface IncomingRequest {
  endpointId: string;
  method: string;
  query: string;
  /** [name, value] pairs in arrival order, original case. */
  headers: [string, string][];
  sourceIp: string | null;
}

/** A request with its whole body. */
export interface IncomingWebhook extends IncomingRequest {
  body: Uint8Array;
}

/**
 * A webhook being received: feed its body in order, then commit (resolves
 * once it is on disk) or abandon (nothing of it is kept).
 */
export interface Reception {
  /** Takes the next part of the body; when it returns a promise, wait for it before the next write. */
  write(chunk: Uint8Array): Promise<void> | undefined;
  /** Checks the signature over everything written and stores the webhook durably. */
  commit(): Promise<{ webhookId: string; signatureValid: boolean }>;
  /** Drops what was written (the request failed or was refused part-way). */
  abandon(): void;
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
  /** Where bodies over FILE_PAYLOAD_BYTES go. */
  files: PayloadFiles;
  /** Seals secret-bearing headers before they are stored (webhook/webhook.headers.ts). */
  headers: Pick<HeaderSealer, "seal">;
}) {
  const { endpoints, destinations, store, clock, events, log, deadLetterAfterMs, storage, files } = deps;
  /** Provider ids (by endpoint) of webhooks being committed now, so a repeat in the same group commit is caught. */
  const committing = new Map<string, string>();
  /** The 503 for a write that failed (database or payload file); logged once per outage by the storage service. */
  const unstored = (err: unknown, endpointId: string): AppError => {
    if (!storage.failed("ingest", err)) log.error({ err, endpointId }, "cannot store webhook; answering 503 so the provider retries");
    return new AppError("unavailable", "webhook could not be stored; retry later", { cause: err, retryAfterS: STORAGE_RETRY_AFTER_S });
  };
  /** The 503 for a webhook arriving now, while storage refuses new ones. */
  const refusal = (): AppError | undefined => {
    const why = storage.ingestRefusal();
    return why === undefined ? undefined : new AppError("unavailable", `${why}; retry later`, { retryAfterS: STORAGE_RETRY_AFTER_S });
  };
  /**
   * Starts receiving a webhook. The body is fed as it arrives: its
   * signature and SHA-256 are computed on the way, up to
   * FILE_PAYLOAD_BYTES of it is held for the row, and anything larger is
   * written to a payload file as it comes (the caller waits on write, so a
   * slow disk slows the upload, never fills memory).
   *
   * Throws AppError not_found for an unknown endpoint, unavailable (with
   * Retry-After) while storage refuses new webhooks; write and commit
   * reject with unavailable when the disk or database fails.
   *
   * note: while refused, nothing is tried: the storage service probes the
   * disk and lifts the refusal within seconds of it taking writes again.
   */
  const begin = (input: IncomingRequest): Reception => {
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
    const verification = startVerification({ provider: endpoint.providerType, secrets, header, now: new Date(receivedAt) });
    const hash = createHash("sha256");
    const id = newId("webhook");
    let held: Uint8Array[] = [];
    let size = 0;
    let spool: PayloadSpool | undefined;
    let state: "open" | "committing" | "done" = "open";
    const toSpool = (chunk: Uint8Array): Promise<void> =>
      spool!.write(chunk).catch((err: unknown) => {
        throw unstored(err, endpoint.id);
      });
    return {
      write(chunk) {
        if (state !== "open") throw new Error("reception already committed or abandoned");
        verification.update(chunk);
        hash.update(chunk);
        size += chunk.byteLength;
        if (spool) return toSpool(chunk);
        held.push(chunk);
        if (size <= FILE_PAYLOAD_BYTES) return undefined;
        spool = files.spool(id);
        const first = Buffer.concat(held);
        held = [];
        return toSpool(first);
      },
      async commit() {
        if (state !== "open") throw new Error("reception already committed or abandoned");
        state = "committing";
        const verdict = verification.finish();
        const sha256 = hash.digest("hex");
        let payload: PayloadRef;
        if (spool) {
          try {
            payload = { size, inline: Buffer.alloc(0), file: await spool.commit(), sha256 };
          } catch (err) {
            spool.abandon();
            state = "done";
            throw unstored(err, endpoint.id);
          }
        } else {
          // note: most bodies arrive in one chunk: no copy then (as readBody did).
          const only = held.length === 1 ? held[0]! : undefined;
          const inline = only ? Buffer.from(only.buffer, only.byteOffset, only.byteLength) : Buffer.concat(held, size);
          payload = { size, inline, file: null, sha256 };
        }
        held = [];
        // note: a body stored as a file is over PARSE_LIMIT_BYTES: never parsed for event types or filters.
        const json = payload.file === null ? lazyJson(payload.inline) : () => undefined;
        const eventType = eventTypeOf({ provider: endpoint.providerType, header, json, eventTypeHeader: endpoint.eventTypeHeader });
        // note: opt-in deduplication: a provider id seen within the window is stored, marked, and routed nowhere.
        const dedupKey = endpoint.dedupWindowMs > 0 ? (dedupKeyOf({ provider: endpoint.providerType, header, json }) ?? null) : null;
        const keyOfEndpoint = dedupKey === null ? undefined : `${endpoint.id}\u0000${dedupKey}`;
        const duplicateOf =
          keyOfEndpoint === undefined
            ? null
            : (committing.get(keyOfEndpoint) ?? store.earlierWithKey(endpoint.id, dedupKey!, receivedAt - endpoint.dedupWindowMs) ?? null);
        const routes = destinations
          .route(endpoint.id, eventType, json, verdict.ok)
          .map((r) =>
            duplicateOf === null ? r : { ...r, filteredBecause: `duplicate of ${duplicateOf} (same provider id within the endpoint's dedup window)` },
          );
        // note: a webhook being committed is not yet found by the query: an identical one in the same batch must see it.
        if (keyOfEndpoint !== undefined && duplicateOf === null) committing.set(keyOfEndpoint, id);
        let seq: number;
        try {
          seq = await store.insert({
            id,
            endpointId: endpoint.id,
            receivedAt,
            method: input.method,
            query: input.query,
            headers: deps.headers.seal(input.headers),
            payload,
            contentType: header("content-type") ?? null,
            sourceIp: input.sourceIp,
            signatureValid: verdict.ok,
            signatureReason: verdict.ok ? null : verdict.reason,
            eventType,
            routes,
            deliverBy: receivedAt + deadLetterAfterMs,
            replayOf: null,
            dedupKey,
            duplicateOf,
          });
        } catch (err) {
          // note: the row did not commit: its file goes too (a crash here leaves it to the start-up sweep).
          spool?.abandon();
          state = "done";
          if (isForeignKeyViolation(err)) throw new AppError("not_found", "no endpoint with this id");
          throw unstored(err, endpoint.id);
        } finally {
          if (keyOfEndpoint !== undefined && committing.get(keyOfEndpoint) === id) committing.delete(keyOfEndpoint);
        }
        state = "done";
        storage.succeeded("ingest");
        const destinationIds = routes.filter((r) => r.filteredBecause === null).map((r) => r.destinationId);
        events.emit("webhook.received", { endpointId: endpoint.id, webhookId: id, seq, destinationIds, signatureValid: verdict.ok });
        return { webhookId: id, signatureValid: verdict.ok };
      },
      abandon() {
        if (state !== "open") return;
        state = "done";
        held = [];
        spool?.abandon();
      },
    };
  };

  return {
    begin,
    /** Stores a webhook whose whole body is at hand: begin, one write, commit. */
    async accept(input: IncomingWebhook): Promise<{ webhookId: string; signatureValid: boolean }> {
      const reception = begin(input);
      try {
        await reception.write(input.body);
        return await reception.commit();
      } catch (err) {
        reception.abandon();
        throw err;
      }
    },
  };
}
