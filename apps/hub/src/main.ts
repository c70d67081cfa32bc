/**
 * Hub entry point: the only place that reads the environment.
 * SIGTERM/SIGINT stop the hub gracefully (running forwards finish, bounded by
 * STOP_GRACE_MS) and exit 0.
 */
import { ConfigError, loadHubConfig } from "./config.js";
import { createHub } from "./hub.js";

let config: ReturnType<typeof loadHubConfig>;
try {
  config = loadHubConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

const hub = createHub(config);
await hub.start();

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  hub.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
