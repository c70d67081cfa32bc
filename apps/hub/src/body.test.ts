/**
 * The hub's streamed bodies: the pause rule on its own, then randomized runs
 * of a session (parts arriving, forwards reading, bodies discarded) that check
 * the invariants — every byte reaches its reader in order, reading is paused
 * only while a running forward holds bytes (so it can always go on), and the
 * bytes held past the budget are never more than what waits in lanes plus
 * one part.
 */
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../../test/random.js";
import { BodyBudget, admits, shouldPause } from "./body.js";

describe("shouldPause", () => {
  it("pauses only over the budget and only while a running forward holds bytes", () => {
    expect(shouldPause([{ held: 10, running: true }], 10)).toBe(false);
    expect(shouldPause([{ held: 11, running: true }], 10)).toBe(true);
    expect(shouldPause([{ held: 11, running: false }], 10)).toBe(false);
    expect(
      shouldPause(
        [
          { held: 0, running: true },
          { held: 50, running: false },
        ],
        10,
      ),
    ).toBe(false);
    expect(
      shouldPause(
        [
          { held: 1, running: true },
          { held: 50, running: false },
        ],
        10,
      ),
    ).toBe(true);
  });
});

describe("admits", () => {
  it("takes a body within the budget, and always one when nothing is claimed", () => {
    expect(admits(0, 10, 10)).toBe(true);
    expect(admits(4, 6, 10)).toBe(true);
    expect(admits(5, 6, 10)).toBe(false);
    expect(admits(0, 50, 10), "one body always goes, whatever its size").toBe(true);
    expect(admits(1, 50, 10)).toBe(false);
  });
});

describe("the budget's admission", () => {
  it("randomized: what small and streamed bodies claim never passes the budget, and room comes back as they end", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rand = mulberry32(seed);
      const max = 2 * 1024 * 1024 + Math.floor(rand() * 64 * 1024 * 1024);
      const budget = new BodyBudget(max);
      const small: number[] = [];
      const streamed: ReturnType<BodyBudget["open"]>[] = [];
      for (let step = 0; step < 300; step++) {
        const r = rand();
        if (r < 0.35) {
          const size = 1 + Math.floor(rand() * 1024 * 1024);
          const before = budget.committed;
          if (budget.reserve(size)) small.push(size);
          else expect(before + size, `seed ${seed}: refused with room`).toBeGreaterThan(max);
        } else if (r < 0.55) {
          const size = 1024 * 1024 + 1 + Math.floor(rand() * 200 * 1024 * 1024);
          if (budget.admitsStream(size)) streamed.push(budget.open(size, new Uint8Array(0)));
        } else if (r < 0.8 && small.length > 0) {
          budget.release(small.splice(Math.floor(rand() * small.length), 1)[0]!);
        } else if (streamed.length > 0) {
          streamed.splice(Math.floor(rand() * streamed.length), 1)[0]!.discard();
        }
        expect(budget.committed, `seed ${seed}: claims past the budget`).toBeLessThanOrEqual(max);
      }
      for (const size of small) budget.release(size);
      for (const body of streamed) body.discard();
      expect(budget.committed).toBe(0);
    }
  });
});

describe("streamed bodies", () => {
  it("hand every part to their reader in order, and drop what arrives after a discard", async () => {
    const budget = new BodyBudget(1000);
    const body = budget.open(10, new Uint8Array([0, 1]));
    body.push(new Uint8Array([2, 3, 4]));
    const read: number[] = [];
    const reader = (async () => {
      for await (const part of body) read.push(...part);
    })();
    body.push(new Uint8Array([5, 6, 7, 8, 9]));
    await reader;
    expect(read).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(budget.held).toBe(0);

    const other = budget.open(6, new Uint8Array(3));
    other.discard();
    other.push(new Uint8Array(3));
    expect(other.complete).toBe(true);
    expect(budget.held).toBe(0);
  });

  it("fail the reader when the stream ends mid-body", async () => {
    const budget = new BodyBudget(1000);
    const body = budget.open(10, new Uint8Array(4));
    const reader = (async () => {
      for await (const _ of body) {
        // reads until the stream fails
      }
    })();
    budget.failAll(new Error("stream ended"));
    await expect(reader).rejects.toThrow(/stream ended/);
  });

  it("randomized: order kept, progress always possible while paused, held bytes bounded", async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = mulberry32(seed);
      const max = 64 + Math.floor(rand() * 256);
      const budget = new BodyBudget(max);
      const part = 16;
      type Sim = { size: number; sent: number; got: number[]; body: ReturnType<BodyBudget["open"]>; reading: boolean; discardAt: number };
      const sims: Sim[] = [];
      let maxQueuedHeld = 0;
      for (let step = 0; step < 600; step++) {
        const r = rand();
        if (r < 0.15 && sims.length < 6) {
          const size = 1 + Math.floor(rand() * 400);
          const first = Math.min(size, part);
          const body = budget.open(
            size,
            Uint8Array.from({ length: first }, (_, i) => i % 251),
          );
          sims.push({ size, sent: first, got: [], body, reading: false, discardAt: rand() < 0.2 ? Math.floor(rand() * size) : -1 });
        } else if (r < 0.6) {
          // the stream: only while not paused (the session stops reading then)
          if (budget.paused()) {
            const drainable = sims.some((s) => s.reading && s.body.held > 0);
            expect(drainable, `seed ${seed}: paused with nothing a running forward could write`).toBe(true);
            continue;
          }
          const s = sims.find((x) => x.sent < x.size);
          if (!s) continue;
          const n = Math.min(part, s.size - s.sent);
          s.body.push(Uint8Array.from({ length: n }, (_, i) => (s.sent + i) % 251));
          s.sent += n;
        } else {
          // a forward: starts reading, reads what is there, or ends early
          const s = sims[Math.floor(rand() * sims.length)];
          if (!s) continue;
          if (!s.reading) {
            s.reading = true;
            const it = s.body[Symbol.asyncIterator]();
            void (async () => {
              for (;;) {
                const next = await it.next().catch(() => ({ done: true, value: undefined }));
                if (next.done) return;
                s.got.push(...next.value!);
                if (s.discardAt >= 0 && s.got.length >= s.discardAt) {
                  await it.return?.();
                  return;
                }
              }
            })();
          }
          await new Promise((r) => setImmediate(r));
        }
        const queued = sims.filter((s) => !s.reading).reduce((n, s) => n + s.body.held, 0);
        maxQueuedHeld = Math.max(maxQueuedHeld, queued);
        expect(budget.held, `seed ${seed}: held past budget + queued + one part`).toBeLessThanOrEqual(max + queued + part);
        for (const s of sims.filter((x) => x.sent === x.size && x.got.length === x.size && x.reading)) sims.splice(sims.indexOf(s), 1);
      }
      // finish: everything sent and read
      for (const s of sims) {
        if (!s.reading) {
          s.reading = true;
          void (async () => {
            for await (const p of s.body) s.got.push(...p);
          })().catch(() => undefined);
        }
      }
      for (let guard = 0; guard < 10_000 && sims.some((s) => s.sent < s.size); guard++) {
        await new Promise((r) => setImmediate(r));
        const s = sims.find((x) => x.sent < x.size);
        if (!s || budget.paused()) continue;
        const n = Math.min(part, s.size - s.sent);
        s.body.push(Uint8Array.from({ length: n }, (_, i) => (s.sent + i) % 251));
        s.sent += n;
      }
      await new Promise((r) => setImmediate(r));
      for (const s of sims) {
        expect(s.sent, `seed ${seed}: the stream got stuck`).toBe(s.size);
        const want = Array.from({ length: s.size }, (_, i) => i % 251);
        if (s.discardAt < 0) expect(s.got, `seed ${seed}: bytes in order`).toEqual(want);
        else expect(s.got, `seed ${seed}: a prefix up to the early end`).toEqual(want.slice(0, s.got.length));
      }
      expect(budget.held).toBe(0);
    }
  });

  it("grant the edge more of a body as its forward takes the parts, and the rest at once when nobody will", async () => {
    const MiB = 1024 * 1024;
    // A 2 MiB budget: each body's window is 1 MiB (proto/src/body-window.ts).
    const budget = new BodyBudget(2 * MiB);
    expect(budget.window).toBe(MiB);
    const part = 256 * 1024;
    const grants: number[] = [];
    const body = budget.open(4 * MiB, new Uint8Array(part), (until) => grants.push(until));
    for (let i = 1; i < 4; i++) body.push(new Uint8Array(part));
    expect(grants, "nothing granted before the forward takes anything").toEqual([]);
    const reading = body[Symbol.asyncIterator]();
    await reading.next();
    await reading.next();
    // Half the window taken: the edge may send up to one window past it.
    expect(grants).toEqual([MiB / 2 + MiB]);
    await reading.next();
    await reading.next();
    expect(grants).toEqual([MiB / 2 + MiB, 2 * MiB]);
    // The forward ends early (its destination answered): the edge may send the rest, which is dropped on arrival.
    await reading.return?.(undefined);
    expect(grants.at(-1)).toBe(4 * MiB);
    body.push(new Uint8Array(part));
    expect(budget.held).toBe(0);

    const skipped = budget.open(4 * MiB, new Uint8Array(part), (until) => grants.push(until));
    skipped.discard();
    expect(grants.at(-1)).toBe(4 * MiB);
  });
});
