/**
 * Per-test teardown shared by the tests that start edges, hubs and targets: what a test starts is
 * registered here and released after it, last registered first — except
 * hubs started with `hub()`, which stop after everything else.
 */
import { afterEach } from "vitest";
import type { Hub } from "../apps/hub/src/hub.js";
import { startReceiver, type Receiver } from "./fakes/receiver.js";
import { startEdge, startHub, type Spawned, type TestEdge } from "./harness.js";

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
