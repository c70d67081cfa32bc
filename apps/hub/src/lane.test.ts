import { describe, expect, it } from "vitest";
import type { ForwardResult } from "./forward/forward.js";
import { Lane, type LaneJob } from "./lane.js";

const ok: ForwardResult = {
  outcome: "response",
  statusCode: 200,
  durationMs: 1,
  error: "",
  retryAfterSeconds: 0,
  startedAtMs: 0,
  responseExcerpt: "",
};

function job(id: string, run: () => Promise<ForwardResult>): LaneJob {
  return { deliveryId: `d-${id}`, webhookId: id, epoch: 1n, body: Promise.resolve(new Uint8Array()), run: () => run() };
}

describe("Lane.finish", () => {
  it("lets the running job finish and report, drops the waiting ones, takes no new ones", async () => {
    const reported: string[] = [];
    const lane = new Lane((j, r) => reported.push(`${j.webhookId}:${r === "skipped" ? "skipped" : r.statusCode}`));
    let release!: () => void;
    const started: string[] = [];
    const slow = () =>
      new Promise<ForwardResult>((resolve) => {
        started.push("a");
        release = () => resolve(ok);
      });
    lane.push(job("a", slow));
    lane.push(
      job("b", async () => {
        started.push("b");
        return ok;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(["a"]);

    let finished = false;
    const done = lane.finish().then(() => (finished = true));
    lane.push(
      job("c", async () => {
        started.push("c");
        return ok;
      }),
    );
    await new Promise((r) => setTimeout(r, 10));
    expect(finished).toBe(false);
    release();
    await done;
    expect(reported).toEqual(["a:200"]);
    expect(started).toEqual(["a"]);
    expect(lane.size).toBe(0);
  });

  it("resolves at once when nothing runs", async () => {
    const lane = new Lane(() => undefined);
    await lane.finish();
    expect(lane.size).toBe(0);
  });
});

describe("a refused job", () => {
  it("is skipped in its turn and blocks its epoch: later jobs of that epoch are skipped, a newer epoch runs", async () => {
    const reported: string[] = [];
    const lane = new Lane((j, r) => reported.push(`${j.webhookId}:${r === "skipped" ? "skipped" : r.statusCode}`));
    const at = (id: string, epoch: bigint, refused = false): LaneJob => ({ ...job(id, async () => ok), epoch, refused: () => refused });
    lane.push(at("a", 1n));
    lane.push(at("b", 1n, true));
    expect(lane.refusing(1n)).toBe(false);
    lane.refuse(1n);
    expect(lane.refusing(1n)).toBe(true);
    expect(lane.refusing(2n)).toBe(false);
    lane.push(at("c", 1n));
    lane.push(at("b", 2n));
    lane.push(at("c", 2n));
    for (let i = 0; i < 20 && reported.length < 5; i++) await new Promise((r) => setImmediate(r));
    expect(reported).toEqual(["a:200", "b:skipped", "c:skipped", "b:200", "c:200"]);
  });
});

describe("a concurrent lane", () => {
  it("runs up to its concurrency at once, taking jobs in order, and every job ends", async () => {
    const reported: string[] = [];
    const lane = new Lane((j) => reported.push(j.webhookId));
    let running = 0;
    let peak = 0;
    const started: string[] = [];
    const releases: (() => void)[] = [];
    for (let i = 0; i < 10; i++) {
      // note: one at a time, with the loop turning in between, as deliveries arrive from the stream.
      await new Promise((r) => setImmediate(r));
      lane.push({
        ...job(`w${i}`, () => {
          started.push(`w${i}`);
          running++;
          peak = Math.max(peak, running);
          return new Promise<ForwardResult>((resolve) =>
            releases.push(() => {
              running--;
              resolve(ok);
            }),
          );
        }),
        epoch: BigInt(i + 1),
        concurrency: 4,
      });
      await new Promise((r) => setImmediate(r));
      // Each delivery that arrives while fewer than 4 run starts at once.
      expect(started.length, `after ${i + 1} arrived`).toBe(Math.min(i + 1, 4));
    }
    for (let i = 0; i < 20 && started.length < 4; i++) await new Promise((r) => setImmediate(r));
    expect(started).toEqual(["w0", "w1", "w2", "w3"]);
    for (let round = 0; round < 100 && reported.length < 10; round++) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(peak).toBe(4);
    expect(started).toEqual(Array.from({ length: 10 }, (_, i) => `w${i}`));
    expect(reported).toHaveLength(10);
    expect(lane.size).toBe(0);
  });
});
