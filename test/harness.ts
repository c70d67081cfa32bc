/**
 * The one fixture system of the tests: real edges and hubs, in-process on
 * port 0 or as child processes (for SIGKILL tests), an edge built without a
 * port for unit tests (AdminService in memory), an admin client, REST and
 * ingest callers, and polling with a deadline. Everything binds 127.0.0.1 only.
 */
import { type Code, ConnectError, createClient, createRouterTransport, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService, ProviderType } from "@hookly/proto/gen/admin_pb";
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pino } from "pino";
import { createAdminRpc } from "../apps/edge/src/admin/admin.rpc.js";
import { createApp, type App, type AppDeps } from "../apps/edge/src/app.js";
import type { ExtensionFactory } from "../apps/edge/src/core.js";
import type { Clock } from "../apps/edge/src/clock.js";
import { loadConfig } from "../apps/edge/src/config.js";
import { loadHubConfig } from "../apps/hub/src/config.js";
import { createHub, type Hub } from "../apps/hub/src/hub.js";
import { distFile } from "../scripts/bundle.js";

/** Fixed secrets for tests (never used outside them). */
export const TEST_SECRETS = {
  ENCRYPTION_KEY: "0123456789abcdef".repeat(4),
  HOME_HUB_SECRET: "hub-secret-for-tests-0123456789abcdef",
  ADMIN_TOKEN: "admin-token-for-tests-0123456789",
};

/** Repository root. */
export const ROOT = resolve(import.meta.dirname, "..");

/** A clock tests move by hand: set `ms`, or `advance` it. */
export class TestClock implements Clock {
  constructor(public ms = Date.now()) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** A fixed start for tests that move the clock themselves: 2025-03-01 12:00 UTC. */
export const TEST_EPOCH = Date.parse("2025-03-01T12:00:00.000Z");

/** A fresh temp folder, removed by the returned function. */
export function tempDir(prefix = "hookly-test-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** How to build a test edge (in-process, listening or not). */
export interface EdgeOptions<C extends Clock = Clock> {
  /** Environment over the test secrets, a temp DATABASE_PATH and LOG_LEVEL (TEST_LOG_LEVEL, else silent). */
  env?: Record<string, string>;
  /** The edge's clock (default: the system clock); a {@link TestClock} to move time by hand. */
  clock?: C;
  /** An existing database file; default: one in a new temp folder, removed on close. */
  databasePath?: string;
  extensions?: ExtensionFactory[];
  /**
   * Retries within a test's patience: BACKOFF_INITIAL_MS 50 and BACKOFF_MAX_MS 400 (default true).
   * false keeps the configuration's defaults (what GetSettings reports to a real operator).
   */
  fastRetries?: boolean;
  /** Shorter connection deadlines (sniffing, idle HTTP/2 sessions). */
  deadlines?: AppDeps["deadlines"];
  /** The edge's logger (default: pino at TEST_LOG_LEVEL, else silent). */
  log?: AppDeps["log"];
}

/** The config and app of a test edge, not listening yet. */
async function buildApp<C extends Clock>(opts: EdgeOptions<C>) {
  const tmp = opts.databasePath ? undefined : tempDir();
  const config = loadConfig({
    ...TEST_SECRETS,
    DATABASE_PATH: opts.databasePath ?? join(tmp!.dir, "hookly.db"),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ...(opts.fastRetries === false ? {} : { BACKOFF_INITIAL_MS: "50", BACKOFF_MAX_MS: "400" }),
    ...opts.env,
  });
  const app = await createApp(config, {
    clock: opts.clock,
    log: opts.log ?? pino({ level: config.logLevel }),
    extensions: opts.extensions,
    deadlines: opts.deadlines,
  });
  return { app, clock: app.clock as C, removeFiles: () => tmp?.remove() };
}

/** A REST call's answer: the status, the JSON body (undefined when empty) and the headers. */
export interface ApiAnswer {
  status: number;
  /** Whatever JSON the route answered. */
  // biome-ignore lint/suspicious/noExplicitAny: a test reads the JSON it expects; every route answers differently.
  body: any;
  headers: Headers;
}

/** A running in-process edge, listening on 127.0.0.1. */
export interface TestEdge<C extends Clock = Clock> {
  app: App;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** The injected clock (or the system clock). */
  clock: C;
  /** AdminService as the admin, over HTTP/1.1 without keep-alive. */
  client: Client<typeof AdminService>;
  /** A REST call (no keep-alive); JSON in and out; `token: null` sends no Authorization, default the admin token. */
  api(method: string, path: string, opts?: { body?: unknown; rawBody?: string; token?: string | null }): Promise<ApiAnswer>;
  /** POSTs a webhook to /h/<endpointId> (JSON by default); resolves with the new webhook id, throws unless 202. */
  ingest(endpointId: string, body: string | Uint8Array, headers?: Record<string, string>, query?: string): Promise<string>;
  /** Stops the edge and removes its temp files (with `checkLeaks`, fails on a client connection still open). */
  close(): Promise<void>;
}

/**
 * Starts an edge in this process on 127.0.0.1 with a temp database (or `databasePath`), on
 * port 0 unless `port` is given (pick one with {@link freePort} when BASE_URL must match).
 * `checkLeaks`: like connect-node's server helper, close() waits up to 2 s for every client
 * connection to end and then fails if one is still open (a leaked stream); the callers then
 * use connections that close (the edge's `client`, `api` and `ingest` do).
 */
export async function startEdge<C extends Clock = Clock>(opts: EdgeOptions<C> & { port?: number; checkLeaks?: boolean } = {}): Promise<TestEdge<C>> {
  const { app, clock, removeFiles } = await buildApp(opts);
  const port = await app.listen(opts.port ?? 0, "127.0.0.1");
  const url = `http://127.0.0.1:${port}`;
  const open = new Set<Socket>();
  app.server.tcp.on("connection", (socket: Socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  });
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${TEST_SECRETS.ADMIN_TOKEN}`);
    return next(req);
  };
  return {
    app,
    url,
    port,
    clock,
    client: createClient(AdminService, testTransport(url, [auth])),
    async api(method, path, callOpts = {}) {
      const headers: Record<string, string> = { connection: "close" };
      const token = callOpts.token === undefined ? TEST_SECRETS.ADMIN_TOKEN : callOpts.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined = callOpts.rawBody;
      if (callOpts.body !== undefined) body = JSON.stringify(callOpts.body);
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
    async ingest(endpointId, body, headers = {}, query = "") {
      const res = await fetch(`${url}/h/${endpointId}${query ? `?${query}` : ""}`, {
        method: "POST",
        headers: { "content-type": "application/json", connection: "close", ...headers },
        body,
      });
      if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    },
    async close() {
      let leaked = 0;
      if (opts.checkLeaks) {
        const deadline = Date.now() + 2_000;
        while (open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        leaked = open.size;
      }
      await app.close();
      removeFiles();
      if (leaked > 0) throw new Error(`${leaked} connection(s) still open at teardown`);
    },
  };
}

/** An edge built in this process without a port, for unit tests: see {@link buildEdge}. */
export interface BuiltEdge<C extends Clock = Clock> {
  app: App;
  /** The injected clock (or the system clock). */
  clock: C;
  /** AdminService as the admin, in memory (createRouterTransport): no auth guard, no extensions' RPCs. */
  client: Client<typeof AdminService>;
  /** Stores a webhook as the ingest route does for a POST from 127.0.0.1 (JSON by default); resolves with its id. */
  ingest(endpointId: string, body: string | Uint8Array, headers?: Record<string, string>, query?: string): Promise<string>;
  /** Closes the database and removes the temp files. */
  close(): Promise<void>;
}

/**
 * Builds a whole edge in this process without listening: the AdminService
 * handlers over an in-memory Connect transport and ingest as a service call.
 * note: nothing was started — no relay, storage probe or extension timers (`listen` starts those);
 * authentication and the HTTP routes are integration tests (test/integration/).
 */
export async function buildEdge<C extends Clock = Clock>(opts: EdgeOptions<C> = {}): Promise<BuiltEdge<C>> {
  const { app, clock, removeFiles } = await buildApp(opts);
  const rpc = createAdminRpc(app);
  return {
    app,
    clock,
    client: createClient(
      AdminService,
      createRouterTransport(({ service }) => service(AdminService, rpc)),
    ),
    async ingest(endpointId, body, headers = {}, query = "") {
      const { webhookId } = await app.ingest.accept({
        endpointId,
        method: "POST",
        query,
        headers: Object.entries({ "content-type": "application/json", ...headers }),
        body: typeof body === "string" ? new TextEncoder().encode(body) : body,
        sourceIp: "127.0.0.1",
      });
      return webhookId;
    },
    async close() {
      await app.close();
      removeFiles();
    },
  };
}

/** Starts a hub in this process. */
export async function startHub(edgeUrl: string, env: Record<string, string> = {}): Promise<Hub> {
  const config = loadHubConfig({
    EDGE_URL: edgeUrl,
    HOME_HUB_SECRET: TEST_SECRETS.HOME_HUB_SECRET,
    HUB_ID: "test-hub",
    HUB_RECONNECT_MAX_MS: "500",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ...env,
  });
  const hub = createHub(config, { log: pino({ level: config.logLevel }) });
  await hub.start();
  return hub;
}

/** An AdminService client authenticated with the admin token. */
export function adminClient(baseUrl: string, token = TEST_SECRETS.ADMIN_TOKEN) {
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  return createClient(AdminService, createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [auth] }));
}

/**
 * A Connect transport over HTTP/1.1 without keep-alive.
 * note: the edge's close() waits (up to its grace period) for open connections;
 * idle keep-alive sockets would make every teardown take that long.
 */
export function testTransport(baseUrl: string, interceptors: Interceptor[] = []) {
  return createConnectTransport({
    baseUrl,
    httpVersion: "1.1",
    interceptors,
    nodeOptions: { agent: new http.Agent({ keepAlive: false }) },
  });
}

/** The X-Hub-Signature-256 header GitHub would send for `body`. */
export function githubSignature(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** A hub registered on an edge: what its operator pastes into the hub's environment. */
export interface HubCredentials {
  hubId: string;
  secret: string;
}

/** Registers a hub on the edge (CreateHub) and returns its credential. */
export async function createHubCredentials(baseUrl: string, name: string): Promise<HubCredentials> {
  const { credential } = await adminClient(baseUrl).createHub({ name });
  return { hubId: credential!.hub!.id, secret: credential!.secret };
}

/** The environment of a hub that dials with its own credential (no HOME_HUB_SECRET). */
export function registeredHubEnv(c: HubCredentials, extra: Record<string, string> = {}): Record<string, string> {
  return { HUB_ID: c.hubId, HUB_SECRET: c.secret, HOME_HUB_SECRET: "", ...extra };
}

/** Creates an endpoint and returns its id and ingest URL. */
export async function createEndpoint(
  baseUrl: string,
  destinationUrl: string,
  init: { name?: string; providerType?: ProviderType; signatureSecret?: string } = {},
): Promise<{ id: string; ingestUrl: string }> {
  const { endpoint } = await adminClient(baseUrl).createEndpoint({
    name: init.name ?? "test endpoint",
    providerType: init.providerType ?? ProviderType.GENERIC,
    signatureSecret: init.signatureSecret ?? "",
    destinationUrl,
  });
  return { id: endpoint!.id, ingestUrl: `${baseUrl}/h/${endpoint!.id}` };
}

/** Posts a webhook; throws unless the edge answered 2xx. Returns the webhook id. */
export async function postWebhook(
  ingestUrl: string,
  body: string | Uint8Array,
  headers: Record<string, string> = { "content-type": "application/json" },
): Promise<string> {
  const res = await fetch(ingestUrl, { method: "POST", body, headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`ingest answered ${res.status}: ${text}`);
  return (JSON.parse(text) as { id: string }).id;
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitUntil<T>(check: () => T | Promise<T>, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A child process running an app's built entry point (`apps/<app>/dist/main.js`, plain node). */
export interface Spawned {
  child: ChildProcess;
  /** Everything it printed. */
  output(): string;
  /** Resolves when a log line matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Spawns `node apps/<app>/dist/main.js`, the JavaScript production runs (built by
 * scripts/bundle.ts in the integration tests' global set-up), with the given environment (logs as JSON at info).
 * `opts.stdout`: a file descriptor to hand the child as its stdout instead of a pipe
 * (e.g. one open on /dev/full); `output()` and `waitForLog` then see stderr only.
 */
export function spawnApp(app: "edge" | "hub", env: Record<string, string>, opts: { stdout?: number } = {}): Spawned {
  const child = spawn(process.execPath, [distFile(app)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", opts.stdout ?? "pipe", "pipe"],
  });
  let out = "";
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const line = out.split("\n").find((l) => w.pattern.test(l));
      if (line) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout?.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    child,
    output: () => out,
    waitForLog(pattern, timeoutMs = 20_000) {
      const line = out.split("\n").find((l) => pattern.test(l));
      if (line) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${app} did not log ${pattern} within ${timeoutMs} ms:\n${out.slice(-3000)}`)), timeoutMs);
        waiters.push({
          pattern,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
      });
    },
    async kill(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Ports {@link freePort} handed out in this process: the kernel may offer a just-released port again. */
const portsHandedOut = new Set<number>();

/**
 * A free TCP port on 127.0.0.1 (for child processes that cannot report port 0),
 * never one this process was already given, so an edge and a hub's health port
 * asked for back to back cannot collide.
 */
export async function freePort(): Promise<number> {
  const net = await import("node:net");
  for (let tries = 0; tries < 20; tries++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => {
        const port = (s.address() as import("node:net").AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    if (!portsHandedOut.has(port)) {
      portsHandedOut.add(port);
      return port;
    }
  }
  throw new Error("freePort: the kernel kept offering ports already handed out");
}

/** Environment for an edge child process on `port` with the test secrets and fast timers. */
export function childEdgeEnv(dbPath: string, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...TEST_SECRETS,
    PORT: String(port),
    HOST: "127.0.0.1",
    BASE_URL: `http://127.0.0.1:${port}`,
    DATABASE_PATH: dbPath,
    BACKOFF_INITIAL_MS: "50",
    BACKOFF_MAX_MS: "500",
    HUB_HEARTBEAT_MS: "500",
    HUB_DEAD_AFTER_MS: "2000",
    ...extra,
  };
}

/** Environment for a hub child process dialling the edge on `port`. */
export function childHubEnv(port: number, hubId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    EDGE_URL: `http://127.0.0.1:${port}`,
    HOME_HUB_SECRET: TEST_SECRETS.HOME_HUB_SECRET,
    HUB_ID: hubId,
    HUB_RECONNECT_MAX_MS: "300",
    HUB_HEARTBEAT_MS: "500",
    HUB_DEAD_AFTER_MS: "2000",
    ...extra,
  };
}

/** The X-Hookly-Webhook-Id of a received request. */
export const webhookIdOf = (r: { headers: Record<string, string | string[] | undefined> }): string => String(r.headers["x-hookly-webhook-id"]);

/** The ConnectError code a call fails with, or "ok". */
export async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/** Waits until `target` has received every webhook in `ids` at least once; returns the first arrivals of those, in order. */
export async function waitForIds(
  target: { requests: readonly { headers: Record<string, string | string[] | undefined> }[] },
  ids: readonly string[],
  timeoutMs: number,
  what: string,
): Promise<string[]> {
  await waitUntil(
    () => {
      const got = new Set(target.requests.map(webhookIdOf));
      return ids.every((id) => got.has(id));
    },
    timeoutMs,
    `${what}: all ${ids.length} webhooks delivered`,
  );
  const wanted = new Set(ids);
  return firstArrivals(target.requests).filter((id) => wanted.has(id));
}

/** First arrival of each webhook id, in arrival order (duplicates dropped). */
export function firstArrivals(requests: readonly { headers: Record<string, string | string[] | undefined> }[]): string[] {
  const seen = new Set<string>();
  return requests.map(webhookIdOf).filter((id) => !seen.has(id) && seen.add(id));
}

/** Posts once; the webhook id on a 202, undefined on anything else (a refused connection included). */
export async function tryPost(url: string, body: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
    if (res.status !== 202) return undefined;
    return ((await res.json()) as { id: string }).id;
  } catch {
    return undefined; // the edge died mid-request: no 2xx, no promise made
  }
}
