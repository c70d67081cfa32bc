/**
 * createApp builds the whole edge from a config and returns it, not yet
 * listening. Only main.ts reads the environment and binds the port; tests
 * build apps with temp databases, port 0 and an injected clock.
 */
import { Code, ConnectError, createContextValues, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AdminService } from "@hookly/proto/gen/admin_pb";
import { StreamService } from "@hookly/proto/gen/stream_pb";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createAdminRpc } from "./admin/admin.rpc.js";
import { adminRoutes } from "./admin/admin.http.js";
import { restJson } from "./admin/admin.mapping.js";
import {
  adminTokenAuthenticator,
  composeAuthenticators,
  principalKey,
  secretEquals,
  type Authenticator,
  type Principal,
} from "./auth/auth.service.js";
import { systemClock, type Clock } from "./clock.js";
import type { EdgeConfig } from "./config.js";
import { createSecretBox, type SecretBox } from "./crypto/secret-box.js";
import { startCheckpointer } from "./db/checkpointer.js";
import { openDatabase, type Db } from "./db/db.js";
import { createDestinationService, type DestinationService } from "./destination/destination.service.js";
import { createDestinationStore } from "./destination/destination.store.js";
import { createEndpointService, type EndpointService } from "./endpoint/endpoint.service.js";
import { createEndpointStore } from "./endpoint/endpoint.store.js";
import { AppError } from "./errors.js";
import { EdgeEvents } from "./events.js";
import { createHubService, type HubService } from "./hub/hub.service.js";
import { createHubStore } from "./hub/hub.store.js";
import { ingestRoutes } from "./ingest/ingest.http.js";
import { createIngestService } from "./ingest/ingest.service.js";
import { createIngestStore } from "./ingest/ingest.store.js";
import { createLogger, type Logger } from "./logger.js";
import { createQueueStore } from "./queue/queue.store.js";
import { createNonceStore, createStreamService, peerKey } from "./relay/relay.rpc.js";
import { createRelayService, type FinalFailure, type HeldDestination, type RelayService } from "./relay/relay.service.js";
import { Router, sendError, sendJson, type NodeRequest, type NodeResponse, type Route } from "./server/http.js";
import { createDualServer, type DualServer } from "./server/listener.js";
import { createStaticHandler } from "./server/static.js";
import { createStorageService, type StorageService } from "./storage/storage.service.js";
import { createStorageStore } from "./storage/storage.store.js";
import { createWebhookService, type WebhookService } from "./webhook/webhook.service.js";

/** The edge's version, reported to hubs and in the status API. */
export const EDGE_VERSION = "0.2.0";

/** What a feature module (auth, MCP, alerts, metrics) can plug into the edge. */
export interface Extension {
  /** Extra ways to authenticate (sessions, API tokens), tried after the admin token. */
  authenticators?: Authenticator[];
  /** Extra HTTP routes, matched before the UI. */
  routes?: Route[];
  /** Extra AdminService methods (merged over the core ones). */
  adminRpc?: Partial<ServiceImpl<typeof AdminService>>;
  /** Called when a delivery finally fails (4xx or dead letter). */
  onFinalFailure?: (f: FinalFailure) => void;
  /** Called when a hub starts refusing a destination's URL (its queue waits). */
  onHeld?: (h: HeldDestination) => void;
  /** Called once listening. */
  start?: () => void | Promise<void>;
  /** Called at shutdown, before the database closes. */
  close?: () => void | Promise<void>;
  /** Changes to the read-only settings the UI shows. */
  settings?: Partial<Settings>;
}

/** The edge's core services, handed to extensions. */
export interface Core {
  config: EdgeConfig;
  db: Db;
  log: Logger;
  clock: Clock;
  events: EdgeEvents;
  box: SecretBox;
  endpoints: EndpointService;
  destinations: DestinationService;
  hubs: HubService;
  webhooks: WebhookService;
  relay: RelayService;
  /** Storage health: report storage errors of a write path here; read whether writes are refused. */
  storage: StorageService;
  /** The non-secret settings GetSettings reports (extensions' `settings` are merged in once all are built). */
  settings: Settings;
  /**
   * The API's composed authenticator (ADMIN_TOKEN, then the extensions'), for
   * extension routes that authenticate by themselves (e.g. /mcp). Call it only
   * while handling a request: it is bound once every extension is built.
   */
  authenticate: Authenticator;
}

/** Builds an extension from the core services. */
export type ExtensionFactory = (core: Core) => Extension;

/** Non-secret settings shown by GetSettings. */
export interface Settings {
  baseUrl: string;
  retentionDays: number;
  deadLetterAfterHours: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  maxPayloadBytes: number;
  githubSignIn: boolean;
  telegramAlerts: boolean;
  edgeVersion: string;
}

/** Things tests (and feature modules) may inject. */
export interface AppDeps {
  clock?: Clock;
  log?: Logger;
  /** Feature modules, built once the core exists. */
  extensions?: ExtensionFactory[];
}

/** A built edge. */
export type App = Awaited<ReturnType<typeof createApp>>;

/** Shutdown: how long in-flight requests (a large upload, say) may take to finish. */
export const SHUTDOWN_DRAIN_MS = 10_000;
/** Shutdown: how long to wait for the hub's results of deliveries it already has. */
export const SHUTDOWN_HUB_RESULTS_MS = 2_000;

/** Resolves once `done()` holds or `timeoutMs` passed, polling every 20 ms. */
function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = () => (done() || Date.now() >= deadline ? resolve() : setTimeout(check, 20));
    check();
  });
}

/** The client address a trusted proxy reports (first of X-Forwarded-For). */
function forwardedFor(value: string | string[] | undefined): string | undefined {
  const first = (Array.isArray(value) ? value[0] : value)?.split(",")[0]?.trim();
  return first || undefined;
}

const DEFAULT_UI_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "ui", "build");

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
    store: createDestinationStore(db),
    hubs,
    clock,
    events,
    recomputeWebhooks: (seqs) => queueStore.recompute(seqs),
  });
  const endpoints = createEndpointService({
    store: createEndpointStore(db),
    destinations,
    box,
    clock,
    events,
    baseUrl: config.baseUrl,
  });
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
  const ingest = createIngestService({
    endpoints,
    destinations,
    store: ingestStore,
    clock,
    events,
    log,
    deadLetterAfterMs: config.deadLetterAfterMs,
    storage,
  });
  const finalFailureListeners: ((f: FinalFailure) => void)[] = [];
  const heldListeners: ((h: HeldDestination) => void)[] = [];
  const relay = createRelayService({
    store: queueStore,
    endpoints,
    destinations,
    hubDeadAfterMs: config.hubDeadAfterMs,
    storage,
    clock,
    events,
    log,
    options: {
      dispatchWindow: config.dispatchWindow,
      dispatchWindowBytes: config.dispatchWindowBytes,
      backoffInitialMs: config.backoffInitialMs,
      backoffMaxMs: config.backoffMaxMs,
      retentionMs: config.retentionMs,
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
  const webhooks = createWebhookService({
    db,
    clock,
    events,
    endpoints,
    destinations,
    ingestStore,
    deadLetterAfterMs: config.deadLetterAfterMs,
  });
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

  const authenticate = composeAuthenticators([
    adminTokenAuthenticator(config.adminToken),
    ...extensions.flatMap((e) => e.authenticators ?? []),
  ]);

  /** Throws unless the caller is authenticated (and, for cookie sessions, sent the CSRF token). */
  const requirePrincipal = (header: (name: string) => string | null | undefined, stateChanging: boolean): Principal => {
    const p = authenticate(header);
    if (!p) throw new AppError("unauthenticated", "sign in, or send Authorization: Bearer <token>");
    if (p.via === "session" && stateChanging && !secretEquals(header("x-hookly-csrf") ?? "", p.csrfToken ?? "")) {
      throw new AppError("permission_denied", "missing or wrong x-hookly-csrf header");
    }
    return p;
  };

  const authInterceptor: Interceptor = (next) => async (req) => {
    if (req.service.typeName === StreamService.typeName) return next(req);
    try {
      // note: every admin RPC is a POST; the CSRF header is required on all of them for cookie sessions.
      req.contextValues.set(principalKey, requirePrincipal((n) => req.header.get(n), true));
    } catch (err) {
      if (err instanceof AppError) {
        throw new ConnectError(err.message, err.code === "unauthenticated" ? Code.Unauthenticated : Code.PermissionDenied);
      }
      throw err;
    }
    return next(req);
  };

  const router = new Router();
  router.add(
    ...ingestRoutes(ingest, log, { maxPayloadBytes: config.maxPayloadBytes, trustProxy: config.trustProxy }),
    {
      method: "GET",
      path: "/healthz",
      handler: (_req, res) => sendJson(res, 200, { status: "ok" }),
    },
    {
      method: "GET",
      path: "/readyz",
      handler: (_req, res) => {
        try {
          db.prepare("SELECT count(*) FROM endpoint").get();
          const version = db.pragma("user_version", { simple: true });
          const health = storage.status();
          // note: not ready while a provider would get 503 or nothing can be delivered; a fault elsewhere
          // (admin writes, the checkpointer) is reported but leaves the edge ready.
          if (health.ingestRefused || health.deliveryPaused) {
            sendJson(res, 503, {
              status: "unavailable",
              reason: health.summary,
              schemaVersion: version,
              hubConnected: relay.connected(),
              storage: restJson(health),
            });
            return;
          }
          sendJson(res, 200, { status: "ready", schemaVersion: version, hubConnected: relay.connected(), storage: restJson(health) });
        } catch (err) {
          log.error({ err }, "readiness check failed");
          sendJson(res, 503, { status: "unavailable" });
        }
      },
    },
    ...extensions.flatMap((e) => e.routes ?? []),
  );
  const apiRouter = new Router().add(...adminRoutes({ endpoints, webhooks, hubs, destinations, relay, settings, storage }));
  const serveUi = createStaticHandler(config.uiDir ?? DEFAULT_UI_DIR);

  const fallback = (req: NodeRequest, res: NodeResponse): void => {
    const url = new URL(req.url ?? "/", "http://edge.invalid");
    const method = req.method ?? "GET";
    void (async () => {
      try {
        if (url.pathname.startsWith("/api/")) {
          const header = (n: string) => {
            const v = req.headers[n];
            return Array.isArray(v) ? v.join(", ") : v;
          };
          requirePrincipal(header, method !== "GET" && method !== "HEAD");
          const hit = apiRouter.match(method, url.pathname);
          if (hit === undefined) throw new AppError("not_found", `no route ${url.pathname}`);
          if (hit === "method") throw new AppError("invalid_argument", `${method} is not allowed on ${url.pathname}`);
          await hit.route.handler(req, res, hit.params, url);
          return;
        }
        const hit = router.match(method, url.pathname);
        if (hit === "method") {
          sendJson(res, 405, { error: { code: "method_not_allowed", message: `${method} is not allowed here` } });
          return;
        }
        if (hit) {
          await hit.route.handler(req, res, hit.params, url);
          return;
        }
        if ((method === "GET" || method === "HEAD") && serveUi?.(req, res, url.pathname)) return;
        sendJson(res, 404, { error: { code: "not_found", message: `nothing at ${url.pathname}` } });
      } catch (err) {
        storage.failed("admin", err);
        sendError(res, err, log, { path: url.pathname, method });
      }
    })();
  };

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
        Object.assign(createAdminRpc({ endpoints, webhooks, hubs, destinations, relay, settings, events, log, storage }), ...extensions.map((e) => e.adminRpc ?? {})),
      );
    },
    interceptors: [authInterceptor],
    // note: the hub registry records where each hub connects from and how.
    contextValues: (req) =>
      createContextValues().set(peerKey, {
        remoteAddress: (config.trustProxy ? forwardedFor(req.headers["x-forwarded-for"]) : undefined) ?? req.socket.remoteAddress ?? "",
        transport: `${req.httpVersion === "2.0" ? "h2c" : `HTTP/${req.httpVersion}`}${req.headers["x-forwarded-proto"] === "https" || req.headers["x-forwarded-for"] ? " via proxy" : ""}`,
      }),
    fallback,
  });

  // Requests being answered, so shutdown can let them finish: ingest answers 202 only after its commit.
  // Long-lived streams (the hub's, the UI's WatchEvents) are kept apart: they never "finish".
  let activeRequests = 0;
  const streams = new Set<NodeResponse>();
  const server: DualServer = createDualServer((req, res) => {
    if (/^application\/(connect\+|grpc)/.test(String(req.headers["content-type"] ?? ""))) {
      streams.add(res);
      res.once("close", () => streams.delete(res));
    } else {
      activeRequests++;
      res.once("close", () => activeRequests--);
    }
    handler(req, res);
  });
  let closing: Promise<void> | undefined;

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
    storage,
    settings,
    server,
    /** Binds the port and starts the queue timers; resolves with the port. */
    async listen(port = config.port, host = config.host): Promise<number> {
      storage.start();
      relay.start();
      const bound = await server.listen(port, host);
      for (const ext of extensions) await ext.start?.();
      log.info({ port: bound, host, baseUrl: config.baseUrl }, "edge listening");
      return bound;
    },
    /** Stops accepting, ends streams, flushes pending inserts, closes the database. */
    close(): Promise<void> {
      closing ??= (async () => {
        // 1. No new deliveries to the hub; no new connections; idle keep-alives and h2 sessions (GOAWAY) wind down.
        relay.stop();
        storage.stop();
        const serverClosed = server.close(SHUTDOWN_DRAIN_MS + 2_000);
        // 2. In-flight requests finish (ingest commits, then answers 2xx); the hub's results for what it has
        //    already started are still recorded, so those are not delivered twice after a restart.
        await Promise.all([
          until(() => activeRequests === 0, SHUTDOWN_DRAIN_MS),
          until(() => relay.hubStatus().inFlight === 0, SHUTDOWN_HUB_RESULTS_MS),
        ]);
        // 3. End the hub stream cleanly (the hub re-dials), cut the UI's event streams, close what is idle now.
        relay.disconnect("edge shutting down");
        await until(() => streams.size === 0, 500);
        for (const res of streams) res.destroy();
        server.h1.closeIdleConnections();
        await serverClosed;
        for (const ext of extensions) {
          try {
            await ext.close?.();
          } catch (err) {
            log.error({ err }, "extension failed to close");
          }
        }
        await ingestStore.close();
        await checkpointer.stop();
        db.close();
      })();
      return closing;
    },
  };
}
