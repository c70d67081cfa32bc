/**
 * The composition root: createApp builds the whole edge from a config —
 * database, services, extensions, Connect and HTTP routes, server — and
 * returns it, not yet listening. It only constructs and connects modules:
 * the guard lives in auth/auth.guard.ts, the HTTP dispatch in
 * server/dispatch.ts, health in server/health.http.ts, listen and close in
 * lifecycle.ts, and the types features build on in core.ts (no feature
 * imports this module). Only main.ts reads the environment and binds the
 * port; tests build apps with temp databases, port 0 and an injected clock.
 */
import { createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AdminService } from "@hookly/proto/gen/admin_pb";
import { StreamService } from "@hookly/proto/gen/stream_pb";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminRoutes } from "./admin/admin.http.js";
import { createAdminRpc } from "./admin/admin.rpc.js";
import { createAuthGuard } from "./auth/auth.guard.js";
import { adminTokenAuthenticator, composeAuthenticators } from "./auth/auth.service.js";
import { systemClock, type Clock } from "./clock.js";
import type { EdgeConfig } from "./config.js";
import type { Core, ExtensionFactory, Settings } from "./core.js";
import { createSecretBox } from "./crypto/secret-box.js";
import { startCheckpointer } from "./db/checkpointer.js";
import { openDatabase, type Db } from "./db/db.js";
import { createDestinationService } from "./destination/destination.service.js";
import { createDestinationStore } from "./destination/destination.store.js";
import { createEndpointService } from "./endpoint/endpoint.service.js";
import { createEndpointStore } from "./endpoint/endpoint.store.js";
import { EdgeEvents } from "./events.js";
import { createHubService } from "./hub/hub.service.js";
import { createHubStore } from "./hub/hub.store.js";
import { ingestRoutes } from "./ingest/ingest.http.js";
import { createIngestService } from "./ingest/ingest.service.js";
import { createPayloadFiles, payloadDirOf } from "./payload/payload.files.js";
import { createPayloadService } from "./payload/payload.service.js";
import { createPayloadStore } from "./payload/payload.store.js";
import { createIngestStore } from "./ingest/ingest.store.js";
import { UI_BUILD_DIR } from "./install.js";
import { createLifecycle } from "./lifecycle.js";
import { createLogger, type Logger } from "./logger.js";
import { createQueueMonitor } from "./queue/queue.monitor.js";
import { createQueueControl } from "./queue/queue.service.js";
import { createQueueStore } from "./queue/queue.store.js";
import { createAuditService } from "./audit/audit.service.js";
import { createAuditStore } from "./audit/audit.store.js";
import { createNonceStore, createStreamService, peerKey } from "./relay/relay.rpc.js";
import { createRelayService, type FinalFailure, type HeldDestination } from "./relay/relay.service.js";
import { createHttpDispatch } from "./server/dispatch.js";
import { healthRoutes } from "./server/health.http.js";
import { Router, clientAddress } from "./server/http.js";
import type { DualServerOptions } from "./server/listener.js";
import { createStaticHandler } from "./server/static.js";
import { createStorageService } from "./storage/storage.service.js";
import { createStorageStore } from "./storage/storage.store.js";
import { EDGE_VERSION } from "./version.js";
import { createHeaderSealer, createHeaderSealingJob } from "./webhook/webhook.headers.js";
import { createHeaderSealingStore } from "./webhook/webhook.headers.store.js";
import { createSearchIndexer } from "./webhook/webhook.search.js";
import { createStatsService } from "./stats/stats.service.js";
import { createStatsStore } from "./stats/stats.store.js";
import { createWebhookService } from "./webhook/webhook.service.js";

/** Things tests (and feature modules) may inject. */
export interface AppDeps {
  clock?: Clock;
  log?: Logger;
  /** Feature modules, built once the core exists. */
  extensions?: ExtensionFactory[];
  /** The listener's connection deadlines (sniffing, idle HTTP/2 sessions); tests shorten them. Default: listener.ts's. */
  deadlines?: Pick<DualServerOptions, "sniffTimeoutMs" | "h2IdleSessionMs">;
}

/** A built edge. */
export type App = Awaited<ReturnType<typeof createApp>>;

/** Builds the edge: database, services, Connect routes, HTTP routes, server. */
export async function createApp(config: EdgeConfig, deps: AppDeps = {}) {
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? createLogger(config.logLevel, "edge");
  const db: Db = openDatabase(config.databasePath, { busyTimeoutMs: config.databaseBusyTimeoutMs });
  const events = new EdgeEvents();
  const storage = createStorageService({ store: createStorageStore(db), events, log, policy: { minFreeBytes: config.minFreeDiskBytes } });
  // note: a checkpoint failing for want of space is part of a storage outage, which logs its own start and end.
  let checkpointsFailingOnStorage = false;
  const checkpointer = startCheckpointer(db, {
    onError: (err) => {
      checkpointsFailingOnStorage = storage.failed("checkpoint", err);
      if (!checkpointsFailingOnStorage) log.warn({ err }, "background WAL checkpoints failing; SQLite's own checkpoint remains as a safety net");
    },
    onRecover: () => {
      storage.succeeded("checkpoint");
      if (!checkpointsFailingOnStorage) log.info("background WAL checkpoints working again");
      checkpointsFailingOnStorage = false;
    },
  });
  const box = createSecretBox(config.encryptionKeys);

  // note: bodies over 1 MiB live beside the database (payload/payload.files.ts); an in-memory database gets a
  // temporary directory that goes with it.
  const inMemory = config.databasePath === ":memory:";
  const files = createPayloadFiles(inMemory ? mkdtempSync(join(tmpdir(), "hookly-payloads-")) : payloadDirOf(config.databasePath));
  const payloads = createPayloadService({ files, store: createPayloadStore(db), log });
  const queueStore = createQueueStore(db);
  const hubs = createHubService({
    store: createHubStore(db),
    box,
    clock,
    events,
    log,
    bootstrapSecrets: config.hubSecrets,
    baseUrl: config.baseUrl,
    storage,
  });
  const destinations = createDestinationService({
    store: createDestinationStore(db, box),
    hubs,
    clock,
    events,
    recomputeWebhooks: (seqs) => queueStore.recompute(seqs),
    deadLetterAfterMs: config.deadLetterAfterMs,
  });
  const endpoints = createEndpointService({
    store: createEndpointStore(db),
    destinations,
    box,
    clock,
    events,
    baseUrl: config.baseUrl,
  });
  try {
    endpoints.upgradeLegacySecrets(log);
  } catch (err) {
    // note: a database that refuses writes now keeps the old form, which is still read correctly; tried again at the next start.
    if (!storage.failed("admin", err)) throw err;
  }
  const ingestStore = createIngestStore(db, {
    onBatch: (size, ms) => events.emit("ingest.batch", { size, ms }),
    onCommit: (destinationIds) => {
      try {
        events.emit("webhook.committed", { destinationIds });
      } catch (err) {
        log.error({ err }, "dispatch after an ingest commit failed; the queue sweep will pick the webhooks up");
      }
    },
  });
  // note: secret-bearing headers (Authorization, Telegram's secret token, …) are stored sealed, shown redacted, opened for the hub.
  const headerSealer = createHeaderSealer(box, config.secretHeaders, (name) =>
    log.warn({ header: name }, "a sealed header opens with no configured ENCRYPTION_KEY; it is not forwarded (run `hookly rotate-key` before dropping a key)"),
  );
  const headerSealing = createHeaderSealingJob({ store: createHeaderSealingStore(db), sealer: headerSealer, now: () => clock.now(), log });
  const ingest = createIngestService({
    headers: headerSealer,
    endpoints,
    destinations,
    store: ingestStore,
    clock,
    events,
    log,
    deadLetterAfterMs: config.deadLetterAfterMs,
    storage,
    files,
  });
  const finalFailureListeners: ((f: FinalFailure) => void)[] = [];
  const heldListeners: ((h: HeldDestination) => void)[] = [];
  const monitor = createQueueMonitor({ clock, events, log, thresholds: config.stuck });
  const relay = createRelayService({
    headers: headerSealer,
    store: queueStore,
    endpoints,
    destinations,
    hubDeadAfterMs: config.hubDeadAfterMs,
    storage,
    files,
    clock,
    events,
    log,
    options: {
      dispatchWindow: config.dispatchWindow,
      dispatchWindowBytes: config.dispatchWindowBytes,
      backoffInitialMs: config.backoffInitialMs,
      backoffMaxMs: config.backoffMaxMs,
      retentionMs: config.retentionMs,
      responseExcerpts: config.responseExcerpts,
    },
    onFinalFailure: (f) => {
      for (const l of finalFailureListeners) {
        try {
          l(f);
        } catch (err) {
          log.error({ err }, "final-failure listener failed");
        }
      }
    },
    onAttempt: (a) => monitor.attempted(a),
    // note: `audit` is built below; sweeps start with listen(), after it exists.
    onSweep: () => {
      const purged = audit.purge();
      if (purged > 0) log.info({ purged }, "purged audit entries past retention");
    },
    onHeld: (h) => {
      for (const l of heldListeners) {
        try {
          l(h);
        } catch (err) {
          log.error({ err }, "held-destination listener failed");
        }
      }
    },
  });
  const audit = createAuditService({ store: createAuditStore(db), clock, retentionMs: config.retentionMs });
  const webhooks = createWebhookService({
    headers: headerSealer,
    audit,
    db,
    clock,
    events,
    endpoints,
    destinations,
    ingestStore,
    deadLetterAfterMs: config.deadLetterAfterMs,
    files,
  });
  const searchIndex = createSearchIndexer({ db, files, log });
  const stats = createStatsService({ store: createStatsStore(db), events, clock, log });
  const queue = createQueueControl({ store: queueStore, audit, relay, webhooks, events, clock });
  const settings: Settings = {
    baseUrl: config.baseUrl,
    retentionDays: Math.round(config.retentionMs / 86_400_000),
    deadLetterAfterHours: Math.round(config.deadLetterAfterMs / 3_600_000),
    backoffInitialMs: config.backoffInitialMs,
    backoffMaxMs: config.backoffMaxMs,
    maxPayloadBytes: config.maxPayloadBytes,
    githubSignIn: false,
    telegramAlerts: false,
    edgeVersion: EDGE_VERSION,
  };

  const core: Core = {
    config,
    db,
    log,
    clock,
    events,
    box,
    endpoints,
    destinations,
    hubs,
    webhooks,
    relay,
    queue,
    audit,
    monitor,
    stats,
    storage,
    settings,
    // note: `authenticate` is composed below, once the extensions' authenticators exist.
    authenticate: (header) => authenticate(header),
  };
  const extensions = (deps.extensions ?? []).map((make) => make(core));
  for (const ext of extensions) {
    Object.assign(settings, ext.settings ?? {});
    if (ext.onFinalFailure) finalFailureListeners.push(ext.onFinalFailure);
    if (ext.onHeld) heldListeners.push(ext.onHeld);
  }

  const authenticate = composeAuthenticators([adminTokenAuthenticator(config.adminToken), ...extensions.flatMap((e) => e.authenticators ?? [])]);

  const guard = createAuthGuard(authenticate);

  const router = new Router();
  router.add(
    ...ingestRoutes(ingest, log, { maxPayloadBytes: config.maxPayloadBytes, maxInflightBytes: config.ingestMaxInflightBytes, trustProxy: config.trustProxy }),
    ...healthRoutes({ storage, relay, log }),
    ...extensions.flatMap((e) => e.routes ?? []),
  );
  const apiRouter = new Router().add(...adminRoutes({ endpoints, webhooks, hubs, destinations, relay, monitor, queue, audit, stats, settings, storage }));
  const serveUi = createStaticHandler(config.uiDir ?? UI_BUILD_DIR);

  const fallback = createHttpDispatch({ api: apiRouter, routes: router, guard, serveUi, storage, log });

  const handler = connectNodeAdapter({
    routes: (r) => {
      r.service(
        StreamService,
        createStreamService({
          relay,
          hubs,
          clock,
          log,
          claimNonce: createNonceStore(db, storage),
          options: {
            heartbeatMs: config.hubHeartbeatMs,
            deadAfterMs: config.hubDeadAfterMs,
            edgeVersion: EDGE_VERSION,
          },
        }),
      );
      r.service(
        AdminService,
        Object.assign(
          createAdminRpc({ endpoints, webhooks, hubs, destinations, relay, monitor, queue, audit, stats, settings, events, log, storage }),
          ...extensions.map((e) => e.adminRpc ?? {}),
        ),
      );
    },
    interceptors: [guard.interceptor],
    // note: the hub registry records where each hub connects from and how.
    contextValues: (req) =>
      createContextValues().set(peerKey, {
        remoteAddress: clientAddress(req, config.trustProxy) ?? "",
        transport: `${req.httpVersion === "2.0" ? "h2c" : `HTTP/${req.httpVersion}`}${req.headers["x-forwarded-proto"] === "https" || req.headers["x-forwarded-for"] ? " via proxy" : ""}`,
      }),
    fallback,
  });

  const lifecycle = createLifecycle({
    timers: [monitor, searchIndex, stats],
    handler,
    relay,
    storage,
    extensions,
    ingestStore,
    checkpointer,
    payloads,
    upgrades: headerSealing,
    db,
    log,
    baseUrl: config.baseUrl,
    onClosed: inMemory ? () => rmSync(files.dir, { recursive: true, force: true }) : undefined,
    maxConnectionsPerSource: config.maxConnectionsPerSource,
    deadlines: deps.deadlines,
  });

  return {
    config,
    db,
    log,
    clock,
    events,
    endpoints,
    destinations,
    hubs,
    ingest,
    webhooks,
    relay,
    queue,
    audit,
    monitor,
    searchIndex,
    stats,
    storage,
    payloads,
    settings,
    server: lifecycle.server,
    /** Binds the port and starts the timers and extensions; resolves with the port. */
    listen: (port = config.port, host = config.host): Promise<number> => lifecycle.listen(port, host),
    /** Stops accepting, lets requests finish, ends streams, flushes pending inserts, closes the database. */
    close: (): Promise<void> => lifecycle.close(),
  };
}
