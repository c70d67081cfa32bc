/**
 * Test fixture of the admin tests: a real edge on a temp SQLite file and port
 * 0, a movable clock, an AdminService client over HTTP/1.1 with the admin
 * token, and small REST and ingest callers. Not imported by the edge itself.
 */
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "@hookly/proto/gen/admin_pb";
import { createHmac } from "node:crypto";
import http from "node:http";
import type { Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp, type App } from "../app.js";
import { loadConfig } from "../config.js";
import { createLogger } from "../logger.js";

/** The admin token of every test edge. */
export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

/** A running test edge. */
export interface TestEdge {
  app: App;
  baseUrl: string;
  /** AdminService as the admin. */
  client: Client<typeof AdminService>;
  /** The injected clock: set `clock.ms` to move time. */
  clock: { ms: number; now(): number };
  /** A REST call (no keep-alive); JSON in and out; `token: null` sends no Authorization. */
  api(
    method: string,
    path: string,
    opts?: { body?: unknown; rawBody?: string; token?: string | null },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** POSTs a webhook to /h/<endpointId>; resolves with the new webhook id. */
  ingest(endpointId: string, body: string | Uint8Array, headers?: Record<string, string>, query?: string): Promise<string>;
  /** Stops the edge and removes its files; throws when a client connection was still open. */
  close(): Promise<void>;
}

/** Starts an edge on a temp database, listening on 127.0.0.1:0. */
export async function startTestEdge(env: Record<string, string> = {}): Promise<TestEdge> {
  const dir = mkdtempSync(join(tmpdir(), "hookly-admin-"));
  const config = loadConfig({
    ENCRYPTION_KEY: "0123456789abcdef".repeat(4),
    HOME_HUB_SECRET: "hub-secret-0123456789abcdef-0123456789",
    ADMIN_TOKEN,
    DATABASE_PATH: join(dir, "edge.db"),
    LOG_LEVEL: "silent",
    UI_DIR: join(dir, "no-ui"),
    ...env,
  });
  const clock = {
    ms: Date.parse("2025-03-01T12:00:00.000Z"),
    now() {
      return this.ms;
    },
  };
  const app = await createApp(config, { log: createLogger("silent", "test"), clock });
  const port = await app.listen(0, "127.0.0.1");
  const baseUrl = `http://127.0.0.1:${port}`;
  const open = new Set<Socket>();
  app.server.tcp.on("connection", (socket: Socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  });
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${ADMIN_TOKEN}`);
    return next(req);
  };
  const client = createClient(AdminService, testTransport(baseUrl, [auth]));

  return {
    app,
    baseUrl,
    client,
    clock,
    async api(method, path, opts = {}) {
      const headers: Record<string, string> = { connection: "close" };
      const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined = opts.rawBody;
      if (opts.body !== undefined) body = JSON.stringify(opts.body);
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(baseUrl + path, { method, headers, body });
      const textBody = await res.text();
      return { status: res.status, body: textBody ? JSON.parse(textBody) : undefined, headers: res.headers };
    },
    async ingest(endpointId, body, headers = {}, query = "") {
      const res = await fetch(`${baseUrl}/h/${endpointId}${query ? `?${query}` : ""}`, {
        method: "POST",
        headers: { "content-type": "application/json", connection: "close", ...headers },
        body,
      });
      if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    },
    async close() {
      // note: like connect-node's server helper, teardown fails on a connection left open (a leaked stream).
      const deadline = Date.now() + 2_000;
      while (open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const leaked = open.size;
      await app.close();
      rmSync(dir, { recursive: true, force: true });
      if (leaked > 0) throw new Error(`${leaked} connection(s) still open at teardown`);
    },
  };
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
