/**
 * The edge's server and its lifecycle: one port for everything (see
 * server/listener.ts), `listen` (start the timers, bind, start the
 * extensions) and the one shutdown sequence main.ts and the tests run.
 */
import type { Checkpointer } from "./db/checkpointer.js";
import type { Db } from "./db/db.js";
import type { Extension } from "./core.js";
import type { IngestStore } from "./ingest/ingest.store.js";
import type { Logger } from "./logger.js";
import type { PayloadService } from "./payload/payload.service.js";
import type { RelayService } from "./relay/relay.service.js";
import { sendJson, type NodeRequest, type NodeResponse } from "./server/http.js";
import { continueIfAsked, createDualServer, type DualServer, type DualServerOptions } from "./server/listener.js";
import type { StorageService } from "./storage/storage.service.js";

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

/** Strict-Transport-Security sent on every response when BASE_URL is https: a year, this host only (the edge does not own its parent domain). */
export const HSTS = "max-age=31536000";

/** The edge's server with listen and close. */
export interface Lifecycle {
  server: DualServer;
  /** Binds the port and starts the timers and extensions; resolves with the port. */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, lets requests finish, ends streams, flushes pending inserts, closes the database. Idempotent. */
  close(): Promise<void>;
}

/** Creates the server around `handler` and the sequence that starts and stops everything. */
export function createLifecycle(deps: {
  handler: (req: NodeRequest, res: NodeResponse) => void;
  relay: RelayService;
  storage: Pick<StorageService, "start" | "stop">;
  extensions: readonly Extension[];
  ingestStore: Pick<IngestStore, "close">;
  checkpointer: Checkpointer;
  payloads: Pick<PayloadService, "start" | "close">;
  /** One-time background jobs of an upgrade (sealing older webhooks' secret headers). */
  upgrades: { start(): void; stop(): void };
  db: Db;
  log: Logger;
  baseUrl: string;
  /** Connections one source address may hold open at once (0: no cap). */
  maxConnectionsPerSource: number;
  /** Connection deadlines other than the defaults (tests). */
  deadlines?: Pick<DualServerOptions, "sniffTimeoutMs" | "h2IdleSessionMs"> | undefined;
  /** Runs last, once the database is closed. */
  onClosed?: (() => void) | undefined;
  /** Timers of the core that start with listen() and stop first at close() (the queue monitor's). */
  timers?: { start(): void; stop(): void }[];
}): Lifecycle {
  const { relay, storage, extensions, ingestStore, checkpointer, payloads, upgrades, db, log } = deps;
  // Requests being answered, so shutdown can let them finish: ingest answers 202 only after its commit.
  // Long-lived streams (the hub's, the UI's WatchEvents) are kept apart: they never "finish".
  let activeRequests = 0;
  const streams = new Set<NodeResponse>();
  // note: HSTS only when the public URL is https (TLS ends at the proxy in front); over http a browser ignores it anyway.
  const hsts = deps.baseUrl.startsWith("https://");
  const server = createDualServer(
    (req, res) => {
      if (hsts) res.setHeader("strict-transport-security", HSTS);
      if (/^application\/(connect\+|grpc)/.test(String(req.headers["content-type"] ?? ""))) {
        // note: Connect reads its own bodies; a client waiting for 100 Continue is told to go on now.
        continueIfAsked(req);
        streams.add(res);
        res.once("close", () => streams.delete(res));
      } else {
        activeRequests++;
        res.once("close", () => activeRequests--);
      }
      try {
        deps.handler(req, res);
      } catch (err) {
        // note: the last line of defence: a request must never take the process down with it.
        log.error({ err, method: req.method, url: req.url?.slice(0, 200) }, "request handler threw");
        if (!res.headersSent) sendJson(res, 500, { error: { code: "internal", message: "internal error" } });
        else res.destroy();
      }
    },
    {
      ...deps.deadlines,
      maxConnectionsPerSource: deps.maxConnectionsPerSource,
      onConnectionRefused: (source, open) =>
        log.warn({ source, open, cap: deps.maxConnectionsPerSource }, "connections refused: this source already holds MAX_CONNECTIONS_PER_SOURCE"),
    },
  );
  let closing: Promise<void> | undefined;

  return {
    server,
    async listen(port, host) {
      // note: first, before anything is received: it deletes uploads a crash left half-done.
      payloads.start();
      upgrades.start();
      storage.start();
      relay.start();
      for (const t of deps.timers ?? []) t.start();
      const bound = await server.listen(port, host);
      for (const ext of extensions) await ext.start?.();
      log.info({ port: bound, host, baseUrl: deps.baseUrl }, "edge listening");
      return bound;
    },
    close() {
      closing ??= (async () => {
        // 1. No new deliveries to the hub; no new connections; idle keep-alives and h2 sessions (GOAWAY) wind down.
        relay.stop();
        for (const t of deps.timers ?? []) t.stop();
        storage.stop();
        upgrades.stop();
        const payloadsClosed = payloads.close();
        const serverClosed = server.close(SHUTDOWN_DRAIN_MS + 2_000);
        // 2. In-flight requests finish (ingest commits, then answers 2xx); the hub's results for what it has
        //    already started are still recorded, so those are not delivered twice after a restart.
        await Promise.all([until(() => activeRequests === 0, SHUTDOWN_DRAIN_MS), until(() => relay.hubStatus().inFlight === 0, SHUTDOWN_HUB_RESULTS_MS)]);
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
        await payloadsClosed;
        await checkpointer.stop();
        db.close();
        deps.onClosed?.();
      })();
      return closing;
    },
  };
}
