import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../test/random.js";
import { MAX_BODY_WINDOW_BYTES, MIN_BODY_WINDOW_BYTES, bodyWindowFor, nextGrant, parseBodyWindow } from "./body-window.js";

const MiB = 1024 * 1024;

describe("body windows", () => {
  it.each([
    [2 * MiB, MIN_BODY_WINDOW_BYTES],
    [16 * MiB, 2 * MiB],
    [64 * MiB, MAX_BODY_WINDOW_BYTES],
    [16 * 1024 * MiB, MAX_BODY_WINDOW_BYTES],
  ])("a hub with %i bytes of room asks for %i", (room, window) => {
    expect(bodyWindowFor(room)).toBe(window);
  });

  it.each([
    [undefined, Number.POSITIVE_INFINITY],
    [null, Number.POSITIVE_INFINITY],
    ["", Number.POSITIVE_INFINITY],
    ["lots", Number.POSITIVE_INFINITY],
    ["-5", Number.POSITIVE_INFINITY],
    ["1e9", Number.POSITIVE_INFINITY],
    ["100", MIN_BODY_WINDOW_BYTES],
    [String(8 * MiB), 8 * MiB],
  ])("the edge reads the header %s as %s", (value, window) => {
    expect(parseBodyWindow(value)).toBe(window);
  });

  it.each([
    ["no grant while more than half a window is still allowed", 8, 3, 8, 100, false, undefined],
    ["a grant once half a window or less is allowed", 8, 4, 8, 100, false, 12],
    ["never past the body's end", 96, 92, 8, 100, false, 100],
    ["nothing once the whole body is granted", 100, 100, 8, 100, false, undefined],
    ["a finished forward grants the rest at once", 8, 1, 8, 100, true, 100],
  ] as const)("%s", (_, granted, consumed, window, size, finished, want) => {
    expect(nextGrant(granted, consumed, window, size, finished)).toBe(want);
  });

  it("keeps the edge's allowance within one window of what was taken, and never leaves a body stuck", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = mulberry32(seed);
      const window = 1 + Math.floor(rnd() * 64);
      const size = 1 + Math.floor(rnd() * 2000);
      let granted = Math.min(size, window);
      let sent = 0;
      let consumed = 0;
      let grants = 0;
      for (let step = 0; consumed < size; step++) {
        const where = `seed ${seed}, step ${step}`;
        expect(step, where).toBeLessThan(100_000);
        // The edge sends what it may; the forward takes some of what has arrived.
        sent += Math.floor(rnd() * (granted - sent + 1));
        consumed += Math.floor(rnd() * (sent - consumed + 1));
        const g = nextGrant(granted, consumed, window, size);
        if (g !== undefined) {
          expect(g, where).toBeGreaterThan(granted);
          granted = g;
          grants += 1;
        }
        expect(granted - consumed, where).toBeLessThanOrEqual(window);
        expect(sent, where).toBeLessThanOrEqual(granted);
        // No deadlock: with everything granted taken, there is always a grant (or the body is whole).
        if (consumed === granted) expect(granted === size, where).toBe(true);
      }
      expect(grants, `seed ${seed}`).toBeLessThanOrEqual(Math.ceil((2 * size) / window) + 1);
    }
  });
});
