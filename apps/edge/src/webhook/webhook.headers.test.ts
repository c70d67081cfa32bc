import { describe, expect, it } from "vitest";
import { createSecretBox } from "../crypto/secret-box.js";
import { REDACTED, createHeaderSealer, isSealed, resealHeaders } from "./webhook.headers.js";

const KEY = "ab".repeat(32);
const OTHER = "cd".repeat(32);
const received: [string, string][] = [
  ["Content-Type", "application/json"],
  ["X-Telegram-Bot-Api-Secret-Token", "tg-secret"],
  ["AUTHORIZATION", "Bearer provider-token"],
  ["Cookie", "session=abc"],
  ["X-Api-Key", "extra-secret"],
  ["X-Request-Id", "r-1"],
];

describe("secret-bearing headers", () => {
  it("seal the default names and the configured ones (any case), keep the rest and the order", () => {
    const sealer = createHeaderSealer(createSecretBox([KEY]), ["x-api-key"]);
    const stored = sealer.seal(received);
    expect(stored.map(([n]) => n)).toEqual(received.map(([n]) => n));
    expect(stored.map(([, v]) => isSealed(v))).toEqual([false, true, true, true, true, false]);
    expect(JSON.stringify(stored)).not.toMatch(/tg-secret|provider-token|session=abc|extra-secret/);
    // Sealing twice changes nothing (a replay copies stored headers).
    expect(sealer.seal(stored)).toEqual(stored);
  });

  it("show sealed values redacted, and open them whole for the forward", () => {
    const sealer = createHeaderSealer(createSecretBox([KEY]), ["x-api-key"]);
    const stored = sealer.seal(received);
    expect(sealer.redact(stored)).toEqual(received.map(([n, v]) => [n, ["Content-Type", "X-Request-Id"].includes(n) ? v : REDACTED]));
    expect(sealer.open(stored)).toEqual(received);
  });

  it("never take a received value for a sealed one: header values cannot hold the NUL that marks them", () => {
    expect(isSealed("hookly-sealed:abc")).toBe(false);
    expect(isSealed("\u0000hookly-sealed:abc")).toBe(true);
  });

  it("bind a sealed value to its header's name, and leave out (and report) what no configured key opens", () => {
    const unreadable: string[] = [];
    const stored = createHeaderSealer(createSecretBox([OTHER]), []).seal([["Authorization", "Bearer t"]]);
    expect(createHeaderSealer(createSecretBox([KEY]), [], (n) => unreadable.push(n)).open(stored)).toEqual([]);
    expect(unreadable).toEqual(["Authorization"]);
    // Moved under another name, a sealed value does not open either.
    const moved: [string, string][] = [["Cookie", stored[0]![1]]];
    expect(createHeaderSealer(createSecretBox([OTHER]), [], (n) => unreadable.push(n)).open(moved)).toEqual([]);
  });

  it("re-seal with the current key after a rotation", () => {
    const stored = createHeaderSealer(createSecretBox([OTHER]), []).seal(received);
    const rotating = createSecretBox([KEY, OTHER]);
    const fresh = resealHeaders(rotating, stored)!;
    expect(
      createHeaderSealer(createSecretBox([KEY]), [])
        .open(fresh)
        .filter(([n]) => n !== "X-Api-Key"),
    ).toEqual(received.filter(([n]) => n !== "X-Api-Key"));
    expect(resealHeaders(rotating, fresh)).toBeUndefined();
  });
});
