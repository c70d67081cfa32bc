/**
 * deploy/Caddyfile for real, when a `caddy` binary is installed (skipped
 * otherwise): Caddy terminates TLS (its internal CA, for localhost) and
 * proxies to the edge's single port; a provider's HTTP/1.1 POST and the hub's
 * HTTP/2 stream both get through, webhooks are delivered in order, and an
 * edge restart behind Caddy is bridged (lb_try_duration) without a 502.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import { startReceiver, type Receiver } from "../fakes/receiver.js";
import { ROOT, TEST_SECRETS, createEndpoint, freePort, spawnApp, tempDir, waitUntil } from "../harness.js";

const hasCaddy = spawnSync("caddy", ["version"], { stdio: "ignore" }).status === 0;

const { track, cleanups } = useCleanups();

/** POSTs over HTTPS with HTTP/1.1, trusting `ca`. */
function postH1(url: string, body: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: "POST", ca, headers: { "content-type": "application/json" }, agent: false }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.once("error", reject);
    req.end(body);
  });
}

describe.skipIf(!hasCaddy)("deploy/Caddyfile with a real Caddy", () => {
  it("carries provider HTTP/1.1 and the hub's HTTP/2 stream to the edge's one port, and bridges an edge restart", async () => {
    const { dir, remove } = tempDir();
    cleanups.push(async () => remove());
    const edgePort = await freePort();
    const httpsPort = await freePort();
    const httpPort = await freePort();
    const adminPort = await freePort();
    const edgeEnv = {
      ...TEST_SECRETS,
      PORT: String(edgePort),
      HOST: "127.0.0.1",
      BASE_URL: `https://localhost:${httpsPort}`,
      DATABASE_PATH: join(dir, "hookly.db"),
      TRUST_PROXY: "true",
    };
    let edge = track(spawnApp("edge", edgeEnv));
    await edge.waitForLog(/edge listening/);

    // The committed Caddyfile, imported under test-only global options (ports, no trust-store changes).
    const caddyfile = join(dir, "Caddyfile");
    writeFileSync(
      caddyfile,
      `{\n\tadmin localhost:${adminPort}\n\tskip_install_trust\n\thttp_port ${httpPort}\n\thttps_port ${httpsPort}\n}\n\nimport ${join(ROOT, "deploy", "Caddyfile")}\n`,
    );
    const caddy: ChildProcess = spawn("caddy", ["run", "--config", caddyfile, "--adapter", "caddyfile"], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: dir,
        XDG_DATA_HOME: join(dir, "xdg-data"),
        XDG_CONFIG_HOME: join(dir, "xdg-config"),
        HOOKLY_DOMAIN: `localhost:${httpsPort}`,
        HOOKLY_UPSTREAM: `127.0.0.1:${edgePort}`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let caddyLog = "";
    caddy.stdout!.on("data", (d: Buffer) => (caddyLog += d.toString()));
    caddy.stderr!.on("data", (d: Buffer) => (caddyLog += d.toString()));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          if (caddy.exitCode !== null) return resolve();
          caddy.once("exit", () => resolve());
          caddy.kill("SIGTERM");
        }),
    );
    const rootCert = join(dir, "xdg-data", "caddy", "pki", "authorities", "local", "root.crt");
    await waitUntil(() => existsSync(rootCert), 20_000, `Caddy's internal CA (log: ${caddyLog.slice(-500)})`);
    const ca = readFileSync(rootCert);
    const publicUrl = `https://localhost:${httpsPort}`;
    await waitUntil(
      async () => {
        try {
          return (await postH1(`${publicUrl}/h/ep_doesnotexist0000000`, "{}", ca)).status === 404;
        } catch {
          return false;
        }
      },
      20_000,
      "Caddy serving HTTPS",
    );

    const target: Receiver = await startReceiver();
    cleanups.push(() => target.close());
    const ep = await createEndpoint(`http://127.0.0.1:${edgePort}`, target.url);
    const ingest = `${publicUrl}/h/${ep.id}`;

    // A provider over HTTPS + HTTP/1.1, before any hub: stored.
    const first = await postH1(ingest, JSON.stringify({ n: 0 }), ca);
    expect(first.status, first.body).toBe(202);

    // The hub dials https:// through Caddy (TLS, ALPN h2) — the bidi stream must get through.
    const hub = track(
      spawnApp("hub", {
        EDGE_URL: publicUrl,
        HOME_HUB_SECRET: TEST_SECRETS.HOME_HUB_SECRET,
        HUB_ID: "caddy-hub",
        HUB_RECONNECT_MAX_MS: "300",
        NODE_EXTRA_CA_CERTS: rootCert,
      }),
    );
    await hub.waitForLog(/connected to edge/);
    await target.waitFor(1, { timeoutMs: 10_000 });
    expect(edge.output()).toMatch(/hub connected/);

    // More while connected.
    for (let n = 1; n < 5; n++) expect((await postH1(ingest, JSON.stringify({ n }), ca)).status).toBe(202);
    await target.waitFor(5, { timeoutMs: 10_000 });
    expect(target.requests.map((r) => JSON.parse(r.body.toString()).n)).toEqual([0, 1, 2, 3, 4]);

    // Restart the edge behind Caddy: a POST sent while it is down waits (lb_try_duration) instead of a 502.
    expect(await edge.kill("SIGTERM")).toBe(0);
    const during = postH1(ingest, JSON.stringify({ n: 5 }), ca);
    await new Promise((r) => setTimeout(r, 300));
    edge = track(spawnApp("edge", edgeEnv));
    const answered = await during;
    expect(answered.status, answered.body).toBe(202);
    await target.waitFor(6, { timeoutMs: 15_000 });
    expect(target.requests.at(-1)!.body.toString()).toBe(JSON.stringify({ n: 5 }));
    expect(await hub.kill("SIGTERM")).toBe(0);
  });
});
