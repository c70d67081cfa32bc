import { describe, expect, it } from "vitest";
import { EnvelopeError, EnvelopeOpener, EnvelopeSealer, deriveSessionKey, signStreamOpen, verifyStreamOpen } from "./stream-auth.js";

const SECRET = "s".repeat(40);
const key = deriveSessionKey(SECRET, "hub-nonce-0123456789", new Uint8Array(16).fill(7), "str_a");
const frame = (s: string) => new TextEncoder().encode(s);

describe("stream open", () => {
  const now = 1_700_000_000_000;
  const seen = new Set<string>();
  const claim = (n: string) => {
    if (seen.has(n)) return false;
    seen.add(n);
    return true;
  };
  const headersOf = (h: Record<string, string>) => (name: string) => h[name];

  it("accepts a fresh open and refuses its replay", () => {
    const h = signStreamOpen(SECRET, "hub-1", now);
    expect(verifyStreamOpen([SECRET], headersOf(h), now, claim)).toMatchObject({ ok: true, hubId: "hub-1" });
    expect(verifyStreamOpen([SECRET], headersOf(h), now, claim)).toMatchObject({ ok: false, reason: /nonce/ });
  });

  it.each([
    ["wrong secret", signStreamOpen("x".repeat(40), "hub-1", now), now, /does not match/],
    ["5 min + 1 s old", signStreamOpen(SECRET, "hub-1", now - 301_000), now, /outside/],
    ["5 min + 1 s ahead", signStreamOpen(SECRET, "hub-1", now + 301_000), now, /outside/],
    ["tampered hub id", { ...signStreamOpen(SECRET, "hub-1", now), "hookly-hub-id": "hub-2" }, now, /does not match/],
  ])("refuses %s", (_n, h, at, reason) => {
    expect(verifyStreamOpen([SECRET], headersOf(h), at, () => true)).toMatchObject({ ok: false, reason });
  });

  it("accepts any of several secrets (rotation) and rejects before touching the nonce store", () => {
    const h = signStreamOpen(SECRET, "hub-1", now);
    let claims = 0;
    expect(
      verifyStreamOpen(["y".repeat(40)], headersOf(h), now, () => {
        claims++;
        return true;
      }).ok,
    ).toBe(false);
    expect(claims).toBe(0);
    expect(verifyStreamOpen(["y".repeat(40), SECRET], headersOf(h), now, () => true)).toMatchObject({ ok: true, secret: SECRET });
  });
});

describe("envelopes", () => {
  it("round-trips in order", () => {
    const s = new EnvelopeSealer(key, "edge-to-hub", "str_a");
    const o = new EnvelopeOpener(key, "edge-to-hub", "str_a");
    for (const text of ["a", "b", "c"]) expect(new TextDecoder().decode(o.open(s.seal(frame(text))))).toBe(text);
  });

  it("refuses forged, reordered, replayed, cross-stream and reflected messages", () => {
    const s = new EnvelopeSealer(key, "edge-to-hub", "str_a");
    const one = s.seal(frame("one"));
    const two = s.seal(frame("two"));
    const fresh = () => new EnvelopeOpener(key, "edge-to-hub", "str_a");
    expect(() => fresh().open({ ...one, frame: frame("evil") })).toThrow(EnvelopeError);
    expect(() => fresh().open(two)).toThrow(/out of order/);
    const o = fresh();
    o.open(one);
    expect(() => o.open(one)).toThrow(/out of order/);
    expect(() => new EnvelopeOpener(key, "edge-to-hub", "str_b").open(one)).toThrow(/authentication/);
    expect(() => new EnvelopeOpener(key, "hub-to-edge", "str_a").open(one)).toThrow(/authentication/);
    const otherKey = deriveSessionKey(SECRET, "other-nonce-0123456789", new Uint8Array(16), "str_a");
    expect(() => new EnvelopeOpener(otherKey, "edge-to-hub", "str_a").open(one)).toThrow(/authentication/);
  });
});
