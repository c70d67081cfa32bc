/**
 * Edge entry point: the only place that reads the environment and listens.
 * SIGTERM/SIGINT close the server, the hub stream and the database once.
 */
import { createApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { defaultExtensions } from "./extensions.js";

let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

const app = await createApp(config, { extensions: defaultExtensions(config) });
await app.listen();

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  app.log.info({ signal }, "shutting down");
  app.close().then(
    () => process.exit(0),
    (err: unknown) => {
      app.log.error({ err }, "shutdown failed");
      process.exit(1);
    },
  );
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
