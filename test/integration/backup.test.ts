/**
 * Online backup: the CLI copies the database of a running edge that keeps
 * receiving; a new edge started from that backup (through `restore`) with a
 * hub delivers everything that was pending in it, in order — a consistent
 * snapshot is, per endpoint, a prefix of what was acknowledged.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import type { ReceivedRequest } from "../fakes/receiver.js";
import { distFile } from "../../scripts/bundle.js";
import { ROOT, TEST_SECRETS, childEdgeEnv, createEndpoint, freePort, spawnApp, tempDir, waitUntil } from "../harness.js";

const { track, receiver, cleanups } = useCleanups();

/** Runs `node apps/edge/dist/cli.js …args` (the built CLI) with `env`; resolves with its exit code and output. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [distFile("edge", "cli"), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

async function post(url: string, body: string): Promise<string> {
  const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const idOf = (r: ReceivedRequest) => String(r.headers["x-hookly-webhook-id"]);

describe("online backup", () => {
  it("a backup taken while the edge keeps receiving restores to an edge that delivers everything pending in it", async () => {
    const { dir, remove } = tempDir();
    cleanups.push(async () => remove());
    const port = await freePort();
    const env = childEdgeEnv(join(dir, "hookly.db"), port);
    const edge = track(spawnApp("edge", env));
    await edge.waitForLog(/edge listening/);
    const targets = [await receiver(), await receiver()];
    const eps = await Promise.all(targets.map((t) => createEndpoint(`http://127.0.0.1:${port}`, t.url)));

    // Pending webhooks (no hub), acknowledged in order per endpoint.
    const acked: string[][] = [[], []];
    // note: webhook 10 of each endpoint is over 1 MiB: its body is a payload file the backup must carry.
    for (let n = 0; n < 50; n++) {
      for (let i = 0; i < 2; i++)
        acked[i]!.push(await post(eps[i]!.ingestUrl, JSON.stringify({ n, pad: (n === 10 ? "z" : "y").repeat(n === 10 ? 3 << 20 : 2_000) })));
    }
    const beforeBackup = acked.map((a) => a.length);

    // Keep posting while the CLI takes the backup.
    let posting = true;
    const posters = eps.map(async (ep, i) => {
      for (let n = 50; posting; n++) acked[i]!.push(await post(ep.ingestUrl, JSON.stringify({ n, pad: "y".repeat(2_000) })));
    });
    await waitUntil(() => acked.every((a, i) => a.length > beforeBackup[i]! + 5), 5_000, "posting under way");
    const backupFile = join(dir, "backups", "hookly-backup.db");
    const backup = await cli(["backup", backupFile], env);
    await new Promise((r) => setTimeout(r, 100));
    posting = false;
    await Promise.all(posters);
    expect(backup.code, backup.stderr).toBe(0);
    const summary = /integrity ok; schema version \d+; 2 endpoints, (\d+) webhooks \((\d+) pending\)/.exec(backup.stdout);
    expect(summary, backup.stdout).not.toBeNull();
    const pendingInBackup = Number(summary![2]);
    expect(pendingInBackup).toBe(Number(summary![1]));
    expect(pendingInBackup).toBeGreaterThan(beforeBackup[0]! + beforeBackup[1]!);
    expect(pendingInBackup, "the edge kept receiving after the snapshot").toBeLessThan(acked[0]!.length + acked[1]!.length);
    expect(backup.stdout).toContain(`2 payload files (bodies over 1 MiB) in ${backupFile}-payloads`);
    // The backup refuses to overwrite itself.
    expect((await cli(["backup", backupFile], env)).code).toBe(1);

    expect(await edge.kill("SIGTERM")).toBe(0);

    // A new edge from the backup: restore into a fresh DATABASE_PATH, start, connect a hub.
    const port2 = await freePort();
    const env2 = childEdgeEnv(join(dir, "restored", "hookly.db"), port2);
    const restore = await cli(["restore", backupFile], env2);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout).toContain("2 payload files");
    expect(existsSync(env2.DATABASE_PATH!)).toBe(true);
    const edge2 = track(spawnApp("edge", env2));
    await edge2.waitForLog(/edge listening/);
    const hub = track(
      spawnApp("hub", {
        EDGE_URL: `http://127.0.0.1:${port2}`,
        HOME_HUB_SECRET: TEST_SECRETS.HOME_HUB_SECRET,
        HUB_ID: "backup-hub",
        HUB_RECONNECT_MAX_MS: "300",
      }),
    );

    await waitUntil(() => targets[0]!.requests.length + targets[1]!.requests.length >= pendingInBackup, 30_000, "backup's pending webhooks delivered");
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 2; i++) {
      const delivered = targets[i]!.requests.map(idOf);
      // A consistent snapshot: per endpoint, exactly a prefix of the acknowledged webhooks, in order.
      expect(delivered.length).toBeGreaterThanOrEqual(beforeBackup[i]!);
      expect(delivered).toEqual(acked[i]!.slice(0, delivered.length));
    }
    expect(targets[0]!.requests.length + targets[1]!.requests.length).toBe(pendingInBackup);
    for (let i = 0; i < 2; i++) expect((JSON.parse(targets[i]!.requests[10]!.body.toString()) as { pad: string }).pad.length).toBe(3 << 20);
    expect(await hub.kill("SIGTERM")).toBe(0);
    expect(await edge2.kill("SIGTERM")).toBe(0);
  });
});
