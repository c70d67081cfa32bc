/**
 * Edge entry point: the only place that reads the environment and listens.
 * SIGTERM/SIGINT start one graceful shutdown — stop accepting, let in-flight
 * ingest finish (its 2xx only after the commit), close the hub stream and the
 * database — and exit 0. Should that hang, the process exits 1 after
 * SHUTDOWN_TIMEOUT_MS (below the 30 s the compose files and units allow).
 */
import { createApp } from "./app.js";
import { SHUTDOWN_DRAIN_MS } from "./lifecycle.js";
import { ConfigError, loadConfig } from "./config.js";
import { defaultExtensions } from "./extensions.js";
import { createLogger } from "./logger.js";
import { buildWhenStorageAllows } from "./storage/storage.startup.js";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

const log = createLogger(config.logLevel, "edge");
// note: a disk that refuses writes at start (a migration needs room) is waited for, not exited on.
const extensions = await defaultExtensions(config);
const app = await buildWhenStorageAllows(() => createApp(config, { log, extensions }), {
  port: config.port,
  host: config.host,
  log,
});
await app.listen();

/** Longest a graceful shutdown may take. */
const SHUTDOWN_TIMEOUT_MS = SHUTDOWN_DRAIN_MS + 10_000;

const shutdown = new AbortController();
shutdown.signal.addEventListener(
  "abort",
  () => {
    const started = Date.now();
    app.log.info({ signal: shutdown.signal.reason }, "shutting down");
    setTimeout(() => {
      app.log.error({ afterMs: SHUTDOWN_TIMEOUT_MS }, "shutdown did not finish in time; exiting");
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    app.close().then(
      () => {
        app.log.info({ ms: Date.now() - started }, "shut down cleanly");
        process.exit(0);
      },
      (err: unknown) => {
        app.log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  },
  { once: true },
);
// note: a repeated signal (Ctrl-C reaches npm/tsx and the edge alike) joins the shutdown under way.
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => shutdown.abort(signal));
