/**
 * Start-up on a disk that refuses writes. Opening the database applies the
 * pending migrations, and a migration needs room (006 rebuilds the webhook
 * table): on a full or read-only disk it fails, and an edge that exited then
 * would crash-loop under `restart: unless-stopped` without saying why.
 * Instead the edge binds its port in a waiting mode — /healthz answers, and
 * /readyz, ingest and everything else answer 503 with the reason and
 * Retry-After — and tries again every few seconds; once the database opens,
 * the waiting server closes and the real edge takes the port.
 *
 * note: nothing of the database can be served meanwhile: its schema is older
 * than this code. A database that is already migrated opens on a full disk
 * (opening writes nothing), and that edge starts normally, degraded.
 */
import http from "node:http";
import { STORAGE_RETRY_AFTER_S, storageErrorCode } from "../errors.js";
import type { Logger } from "../logger.js";

/** How often the waiting edge tries to open the database again. */
export const STARTUP_RETRY_MS = 5_000;

/** Codes that mean "the disk refuses writes now", worth waiting for (a wrong path is not). */
const WAIT_FOR = /^SQLITE_(FULL|IOERR|BUSY|READONLY|LOCKED)/;

/**
 * Resolves with `build()`'s result. While it fails with a storage error,
 * serves the waiting mode on `port`/`host` and retries every `retryMs`.
 * Any other error rejects at once (start-up stops, as before).
 */
export async function buildWhenStorageAllows<T>(
  build: () => Promise<T>,
  opts: { port: number; host: string; log: Logger; retryMs?: number; signal?: AbortSignal },
): Promise<T> {
  const retryMs = opts.retryMs ?? STARTUP_RETRY_MS;
  let waiting: http.Server | undefined;
  let since = 0;
  let reason = "";
  for (;;) {
    try {
      const built = await build();
      if (waiting) {
        await closeServer(waiting);
        opts.log.info({ waitedMs: Date.now() - since }, "storage takes writes again: the database is open, starting the edge");
      }
      return built;
    } catch (err) {
      const code = storageErrorCode(err);
      if (!code || !WAIT_FOR.test(code)) {
        if (waiting) await closeServer(waiting);
        throw err;
      }
      if (!waiting) {
        since = Date.now();
        reason = `the database cannot be opened or migrated: storage refuses writes (${code}); free space on its disk — the edge retries every ${Math.round(retryMs / 1000)} s`;
        waiting = await listenWaiting(opts.port, opts.host, () => ({ reason, since }));
        opts.log.error({ code, err: err instanceof Error ? err.message : String(err) }, `waiting for storage: ${reason}`);
      }
    }
    if (opts.signal?.aborted) {
      if (waiting) await closeServer(waiting);
      throw opts.signal.reason;
    }
    await new Promise((r) => setTimeout(r, retryMs));
  }
}

/** The waiting mode's HTTP server. */
function listenWaiting(port: number, host: string, state: () => { reason: string; since: number }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const { reason, since } = state();
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        "content-type": "application/json; charset=utf-8",
        "content-length": Buffer.byteLength(text),
        "cache-control": "no-store",
        ...(status === 503 ? { "retry-after": String(STORAGE_RETRY_AFTER_S) } : {}),
      });
      res.end(text);
    };
    // note: the body is not needed: answer and let Node discard it.
    req.resume();
    if (req.method === "GET" && path === "/healthz") return send(200, { status: "ok", storage: "waiting" });
    if (path === "/readyz") return send(503, { status: "unavailable", reason, since: new Date(since).toISOString() });
    send(503, { error: { code: "unavailable", message: `${reason}; retry later` } });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
