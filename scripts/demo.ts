/**
 * `npm start`: a complete local Hookly on this machine — an edge on
 * http://localhost:8080 (embedded SQLite under ./data), a hub connected to it,
 * and a demo LAN service that prints what it receives. Creates a demo endpoint
 * and prints the curl to try. Secrets are generated once into data/demo.env.
 */
import { ProviderType } from "@hookly/proto/gen/admin_pb";
import { execSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join, resolve } from "node:path";
import { pino } from "pino";
import { createApp } from "../apps/edge/src/app.js";
import { defaultExtensions } from "../apps/edge/src/extensions.js";
import { loadConfig } from "../apps/edge/src/config.js";
import { loadHubConfig } from "../apps/hub/src/config.js";
import { createHub } from "../apps/hub/src/hub.js";

const root = resolve(import.meta.dirname, "..");
const dataDir = join(root, "data");
mkdirSync(dataDir, { recursive: true });
const port = Number(process.env.PORT ?? 8080);
const targetPort = Number(process.env.DEMO_TARGET_PORT ?? 4000);

// Secrets: generated once, kept in data/demo.env so restarts keep the same database usable.
const secretsFile = join(dataDir, "demo.env");
if (!existsSync(secretsFile)) {
  writeFileSync(
    secretsFile,
    [
      `ENCRYPTION_KEY=${randomBytes(32).toString("hex")}`,
      `HOME_HUB_SECRET=${randomBytes(32).toString("base64url")}`,
      `ADMIN_TOKEN=${randomBytes(24).toString("base64url")}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
}
const secrets = Object.fromEntries(
  readFileSync(secretsFile, "utf8")
    .split("\n")
    .filter((l) => l.includes("="))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
) as Record<string, string>;

if (!existsSync(join(root, "ui", "build", "index.html"))) {
  console.log("Building the web UI once (about half a minute)…");
  execSync("npm run build -w @hookly/ui", { cwd: root, stdio: "inherit" });
}

// The demo LAN service: prints every webhook it receives.
const target = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    console.log(
      `\n\u001b[32m▶ LAN service received\u001b[0m ${req.method} ${req.url}  webhook=${req.headers["x-hookly-webhook-id"]} attempt=${req.headers["x-hookly-attempt"]} verified=${req.headers["x-hookly-verified"]}\n  ${body.toString("utf8").slice(0, 500)}`,
    );
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
});
await new Promise<void>((r) => target.listen(targetPort, "127.0.0.1", r));

const env = {
  ...secrets,
  PORT: String(port),
  HOST: process.env.HOST ?? "127.0.0.1",
  BASE_URL: process.env.BASE_URL ?? `http://localhost:${port}`,
  DATABASE_PATH: process.env.DATABASE_PATH ?? join(dataDir, "hookly.db"),
  LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
};
const config = loadConfig({ ...process.env, ...env });
const app = await createApp(config, { log: pino({ level: config.logLevel, name: "edge" }), extensions: await defaultExtensions(config) });
await app.listen();

const hub = createHub(
  loadHubConfig({ EDGE_URL: `http://127.0.0.1:${port}`, HOME_HUB_SECRET: secrets.HOME_HUB_SECRET, HUB_ID: "demo-hub", LOG_LEVEL: env.LOG_LEVEL }),
);
await hub.start();

const demoDestination = `http://127.0.0.1:${targetPort}/webhook`;
const existing = app.endpoints.list().find((e) => e.name === "demo");
const endpoint = existing ?? app.endpoints.create({ name: "demo", providerType: "generic", destinationUrl: demoDestination });
void ProviderType;

console.log(`
\u001b[1mHookly is running.\u001b[0m
  edge + UI   ${config.baseUrl}        (sign in with the admin token below)
  hub         connected to it from "home", forwarding to the demo LAN service
  LAN service ${demoDestination}   (prints what it receives, below)
  database    ${config.databasePath}

  admin token ${secrets.ADMIN_TOKEN}     (also in data/demo.env)

Send a webhook:
  curl -X POST ${endpoint.ingestUrl} -H 'content-type: application/json' -d '{"hello":"world"}'

List what arrived:
  curl -H 'authorization: Bearer ${secrets.ADMIN_TOKEN}' ${config.baseUrl}/api/webhooks

Ctrl-C stops everything.
`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await hub.stop();
  await app.close();
  target.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
