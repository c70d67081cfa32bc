import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSecretBox } from "./secret-box.js";

const OLD_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const NEW_KEY = "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f";
const ENDPOINT = "ep_01J0000000000000000000000";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

function keyIdOf(hex: string): string {
  return createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex").slice(0, 8);
}

/** Changes one character of part `index` (0 = version … 4 = ciphertext) to another base64url character. */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split(".");
  const part = parts[index]!;
  parts[index] = (part[0] === "A" ? "B" : "A") + part.slice(1);
  return parts.join(".");
}

describe("createSecretBox", () => {
  const box = createSecretBox([NEW_KEY]);

  it.each([
    { name: "a Stripe secret", plaintext: SECRET },
    { name: "the empty string", plaintext: "" },
    { name: "several secrets on lines", plaintext: "whsec_new\nwhsec_old" },
    { name: "non-ASCII text", plaintext: "clé secrète ✓ 😀" },
    { name: "a long value", plaintext: "x".repeat(10_000) },
  ])("round-trips $name", ({ plaintext }) => {
    expect(box.open(box.seal(plaintext, ENDPOINT), ENDPOINT)).toBe(plaintext);
  });

  it("writes v1.<keyId>.<iv>.<tag>.<ciphertext> with a 12-byte IV, a 16-byte tag and the key's sha256 prefix", () => {
    const sealed = box.seal(SECRET, ENDPOINT);
    const [version, keyId, iv, tag, ciphertext, ...rest] = sealed.split(".");
    expect(version).toBe("v1");
    expect(keyId).toBe(keyIdOf(NEW_KEY));
    expect(Buffer.from(iv!, "base64url")).toHaveLength(12);
    expect(Buffer.from(tag!, "base64url")).toHaveLength(16);
    expect(Buffer.from(ciphertext!, "base64url")).toHaveLength(Buffer.byteLength(SECRET));
    expect(rest).toEqual([]);
    expect(sealed).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(sealed).not.toContain(SECRET.slice(6));
  });

  it("uses a fresh IV for every seal", () => {
    const sealed = new Set(Array.from({ length: 50 }, () => box.seal(SECRET, ENDPOINT)));
    const ivs = new Set([...sealed].map((s) => s.split(".")[2]));
    expect(sealed.size).toBe(50);
    expect(ivs.size).toBe(50);
  });

  it.each([
    { name: "another endpoint's id", aad: "ep_01J0000000000000000000001" },
    { name: "empty associated data", aad: "" },
    { name: "a prefix of the id", aad: ENDPOINT.slice(0, -1) },
  ])("refuses to open with $name as associated data", ({ aad }) => {
    const sealed = box.seal(SECRET, ENDPOINT);
    expect(() => box.open(sealed, aad)).toThrow("cannot decrypt: authentication failed");
  });

  it.each([
    { name: "IV", index: 2 },
    { name: "tag", index: 3 },
    { name: "ciphertext", index: 4 },
  ])("refuses a value whose $name was changed", ({ index }) => {
    const sealed = box.seal(SECRET, ENDPOINT);
    expect(() => box.open(tamper(sealed, index), ENDPOINT)).toThrow("cannot decrypt: authentication failed");
  });

  it.each([
    { name: "a plaintext secret", sealed: SECRET, message: "not a v1 sealed secret" },
    { name: "the empty string", sealed: "", message: "not a v1 sealed secret" },
    { name: "another version", sealed: (s: string) => s.replace(/^v1\./, "v2."), message: "not a v1 sealed secret" },
    { name: "a missing part", sealed: (s: string) => s.split(".").slice(0, 4).join("."), message: "not a v1 sealed secret" },
    { name: "an extra part", sealed: (s: string) => `${s}.AAAA`, message: "not a v1 sealed secret" },
    { name: "a malformed key id", sealed: (s: string) => s.replace(/^v1\.[0-9a-f]{8}/, "v1.KEY"), message: "malformed key id" },
    { name: "a truncated tag", sealed: (s: string) => s.replace(/^((?:[^.]+\.){3})[^.]{4}/, "$1"), message: "malformed v1 sealed secret" },
    { name: "a short IV", sealed: (s: string) => s.replace(/^((?:[^.]+\.){2})[^.]{4}/, "$1"), message: "malformed v1 sealed secret" },
    { name: "characters outside base64url", sealed: (s: string) => s.replace(/.$/, "+"), message: "malformed v1 sealed secret" },
  ])("refuses $name with a clear message", ({ sealed, message }) => {
    const value = typeof sealed === "string" ? sealed : sealed(box.seal(SECRET, ENDPOINT));
    expect(() => box.open(value, ENDPOINT)).toThrow(`cannot decrypt: ${message}`);
  });

  it("never puts the plaintext or the key in an error message", () => {
    const sealed = box.seal(SECRET, ENDPOINT);
    const failures = [
      () => box.open(sealed, "ep_other"),
      () => box.open(tamper(sealed, 4), ENDPOINT),
      () => createSecretBox([OLD_KEY]).open(sealed, ENDPOINT),
      () => createSecretBox([`${NEW_KEY}0`]),
    ];
    for (const failure of failures) {
      let message = "";
      try {
        failure();
      } catch (err) {
        message = `${(err as Error).message} ${String((err as Error).cause ?? "")}`;
      }
      expect(message).toMatch(/cannot decrypt|encryption key/);
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain(NEW_KEY);
    }
  });
});

describe("createSecretBox: key rotation", () => {
  const before = createSecretBox([OLD_KEY]);
  const during = createSecretBox([NEW_KEY, OLD_KEY]);
  const after = createSecretBox([NEW_KEY]);
  const sealedWithOld = before.seal(SECRET, ENDPOINT);

  it("opens a value sealed with the old key while the old key is listed second", () => {
    expect(during.open(sealedWithOld, ENDPOINT)).toBe(SECRET);
  });

  it("seals with the first key", () => {
    expect(during.seal(SECRET, ENDPOINT).split(".")[1]).toBe(keyIdOf(NEW_KEY));
  });

  it("reports old, current and unparsable values for rotation", () => {
    expect(during.needsRotation(sealedWithOld)).toBe(true);
    expect(during.needsRotation(during.seal(SECRET, ENDPOINT))).toBe(false);
    expect(during.needsRotation(during.seal(SECRET, ENDPOINT).replace(/^v1\./, "v2."))).toBe(true);
    expect(during.needsRotation(SECRET)).toBe(true);
    expect(during.needsRotation("")).toBe(true);
  });

  it("reseals an old value under the new key, keeping plaintext and associated data", () => {
    const resealed = during.reseal(sealedWithOld, ENDPOINT);
    expect(resealed.split(".")[1]).toBe(keyIdOf(NEW_KEY));
    expect(during.needsRotation(resealed)).toBe(false);
    expect(after.open(resealed, ENDPOINT)).toBe(SECRET);
    expect(() => after.open(resealed, "ep_other")).toThrow("cannot decrypt: authentication failed");
  });

  it("reseal refuses the wrong associated data instead of laundering the value onto another row", () => {
    expect(() => during.reseal(sealedWithOld, "ep_other")).toThrow("cannot decrypt: authentication failed");
  });

  it("names the unknown key id once the old key is dropped", () => {
    expect(() => after.open(sealedWithOld, ENDPOINT)).toThrow(`cannot decrypt: unknown key id ${keyIdOf(OLD_KEY)}`);
  });

  it("treats upper- and lower-case hex as the same key", () => {
    expect(createSecretBox([NEW_KEY.toUpperCase()]).open(after.seal(SECRET, ENDPOINT), ENDPOINT)).toBe(SECRET);
  });

  it("accepts the same key listed twice", () => {
    const twice = createSecretBox([NEW_KEY, NEW_KEY]);
    expect(twice.open(after.seal(SECRET, ENDPOINT), ENDPOINT)).toBe(SECRET);
  });
});

describe("createSecretBox: bad keys", () => {
  it.each([
    { name: "too short", keys: [NEW_KEY.slice(0, 63)], message: "encryption key #1 is not 64 hex characters (32 bytes)" },
    { name: "too long", keys: [`${NEW_KEY}00`], message: "encryption key #1 is not 64 hex characters (32 bytes)" },
    { name: "not hex", keys: [`${NEW_KEY.slice(0, 63)}g`], message: "encryption key #1 is not 64 hex characters (32 bytes)" },
    { name: "0x-prefixed", keys: [`0x${NEW_KEY.slice(2)}`], message: "encryption key #1 is not 64 hex characters (32 bytes)" },
    { name: "base64 of 32 bytes", keys: [Buffer.alloc(32, 7).toString("base64")], message: "encryption key #1 is not 64 hex characters (32 bytes)" },
    { name: "padded with whitespace", keys: [` ${NEW_KEY}`], message: "encryption key #1 is not 64 hex characters (32 bytes)" },
    { name: "bad second key", keys: [NEW_KEY, ""], message: "encryption key #2 is not 64 hex characters (32 bytes)" },
    { name: "no key at all", keys: [], message: "secret box needs at least one encryption key" },
  ])("rejects a key that is $name", ({ keys, message }) => {
    expect(() => createSecretBox(keys)).toThrow(message);
  });
});
