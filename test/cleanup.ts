/**
 * Per-test teardown shared by the tests that start edges, hubs and targets: what a test starts is
 * registered here and released after it, last registered first — except
 * hubs started with `hub()`, which stop after everything else.
 */
import { afterEach } from "vitest";
import type { Hub } from "../apps/hub/src/hub.js";
import { startReceiver, type Receiver } from "./fakes/receiver.js";
import { join } from "node:path";
import { childEdgeEnv, freePort, spawnApp, startEdge, startHub, tempDir, type Spawned, type TestEdge } from "./harness.js";

/** An edge child process and where it keeps its database. */
export interface ChildEdge {
  edge: Spawned;
  port: number;
  url: string;
  /** The database file; pass it (and the port) back to start the edge again on the same data. */
  db: string;
}

/** Registers the afterEach teardown; call once per test file, at top level. */
export function useCleanups() {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  return {
    /** Teardown steps, run from the last pushed; `unshift` to run one after all others. */
    cleanups,
    /** A child process, SIGKILLed after the test. */
    track(p: Spawned): Spawned {
      cleanups.push(() => p.kill("SIGKILL"));
      return p;
    },
    /**
     * An edge child process, once it listens: on a fresh database in a temp folder (removed after
     * the test) and a free port, or on `opts.db` and `opts.port` to restart one. SIGKILLed after the test.
     */
    async childEdge(opts: { db?: string; port?: number; env?: Record<string, string> } = {}): Promise<ChildEdge> {
      let db = opts.db;
      if (!db) {
        const tmp = tempDir();
        cleanups.push(async () => tmp.remove());
        db = join(tmp.dir, "hookly.db");
      }
      const port = opts.port ?? (await freePort());
      const edge = spawnApp("edge", childEdgeEnv(db, port, opts.env));
      cleanups.push(() => edge.kill("SIGKILL"));
      await edge.waitForLog(/edge listening/, 30_000);
      return { edge, port, url: `http://127.0.0.1:${port}`, db };
    },
    /** A recording LAN target. */
    async receiver(): Promise<Receiver> {
      const r = await startReceiver();
      cleanups.push(() => r.close());
      return r;
    },
    /** An in-process edge. */
    async edge(opts: Parameters<typeof startEdge>[0] = {}): Promise<TestEdge> {
      const e = await startEdge(opts);
      cleanups.push(() => e.close());
      return e;
    },
    /** An in-process hub, stopped after everything else. */
    async hub(url: string, env: Record<string, string> = {}): Promise<Hub> {
      const h = await startHub(url, env);
      cleanups.unshift(() => h.stop());
      return h;
    },
  };
}
