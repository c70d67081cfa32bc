import { createHmac } from "node:crypto";
import { sign as githubSign, verify as githubVerify } from "@octokit/webhooks-methods";
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { afterEach, describe, expect, it, vi } from "vitest";
import { mulberry32 } from "../../../../test/random.js";
import { type ProviderType, startVerification, type VerifyFailureCode, type VerifyInput, verifySignature } from "./verify.service.js";

const NOW = new Date("2025-06-01T12:00:00.000Z");
const T = Math.floor(NOW.getTime() / 1000);
const stripe = new Stripe("sk_test_x");

const STRIPE_SECRET = "whsec_current0123456789abcdefABCDEF";
const STRIPE_OLD_SECRET = "whsec_previous0123456789abcdefABCD";
const GITHUB_SECRET = "It's a Secret to Everybody";
const GITHUB_OLD_SECRET = "the previous github secret";
const TELEGRAM_SECRET = "tg_current-Token_42";
const TELEGRAM_OLD_SECRET = "tg_previous-Token_41";
const SW_SECRET = `whsec_${Buffer.from("a 24 byte current key!!!").toString("base64")}`;
const SW_OLD_SECRET = `whsec_${Buffer.from("the 24 byte previous key").toString("base64")}`;
const SW_RAW_SECRET = Buffer.from("a key stored without prefix").toString("base64");
const ALL_SECRETS = [
  STRIPE_SECRET,
  STRIPE_OLD_SECRET,
  GITHUB_SECRET,
  GITHUB_OLD_SECRET,
  TELEGRAM_SECRET,
  TELEGRAM_OLD_SECRET,
  SW_SECRET,
  SW_OLD_SECRET,
  SW_RAW_SECRET,
];

const JSON_BODY = JSON.stringify({ id: "evt_1", object: "event", type: "charge.succeeded", note: "héllo ✓" });
// note: octokit's sign() is async; top-level await keeps the github table a plain array like the others.
const GITHUB_SIGNATURE = await githubSign(GITHUB_SECRET, JSON_BODY);
/** Not valid UTF-8: decoding it to text would lose information. */
const BINARY_BODY = new Uint8Array([0xff, 0xfe, 0x00, 0x7b, 0x80, 0xc3]);
/**
 * Not valid UTF-8 either. Given bytes, the libraries sign their decoded text ("\uFFFD\uFFFD", i.e. the bytes
 * ef bf bd ef bf bd), which is not what is sent: a check that decodes the body would accept such a signature (and the
 * same one for [0xff, 0xfe]); a byte-level check must not.
 */
const BYTES_B = new Uint8Array([0xfe, 0xff]);
const LOSSY_TEXT = Buffer.from(BYTES_B).toString();
const GITHUB_LOSSY_SIGNATURE = await githubSign(GITHUB_SECRET, LOSSY_TEXT);

type Expected = "ok" | VerifyFailureCode;

interface Scenario {
  name: string;
  secrets: readonly string[];
  headers: Record<string, string>;
  body: string | Uint8Array;
  now?: Date;
  toleranceSeconds?: number;
  expected: Expected;
  /** Checked against the reason when the scenario fails. */
  reason?: string | RegExp;
  /**
   * For accepted scenarios: the secret the provider's own library should accept the same request with.
   * Left out where the library cannot express the request (non-UTF-8 bodies, headers joined by Node).
   */
  librarySecret?: string;
}

function bytes(body: string | Uint8Array): Uint8Array {
  return typeof body === "string" ? new TextEncoder().encode(body) : body;
}

function headerLookup(headers: Record<string, string>): VerifyInput["header"] {
  const byLowerName = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return (name) => byLowerName.get(name);
}

function run(provider: ProviderType, s: Scenario) {
  return verifySignature({
    provider,
    secrets: s.secrets,
    header: headerLookup(s.headers),
    body: bytes(s.body),
    now: s.now ?? NOW,
    ...(s.toleranceSeconds === undefined ? {} : { toleranceSeconds: s.toleranceSeconds }),
  });
}

function hmac(key: string | Buffer, ...parts: (string | Uint8Array)[]): Buffer {
  return createHmac("sha256", key)
    .update(Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : part))))
    .digest();
}

/** Signs straight from the published scheme, for bodies the libraries can only take as (lossy) text. */
function stripeHeaderForBytes(secret: string, t: number, body: Uint8Array): string {
  return `t=${t},v1=${hmac(secret, `${t}.`, body).toString("hex")}`;
}

function swKey(secret: string): Buffer {
  return Buffer.from(secret.replace(/^whsec_/, ""), "base64");
}

function stripeHeader(secret: string, timestamp = T, payload = JSON_BODY): string {
  return stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

function v1Of(header: string): string {
  return header.split(",").find((item) => item.startsWith("v1="))!;
}

function swHeaders(secret: string, timestamp = T, payload = JSON_BODY, id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W") {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": new Webhook(secret).sign(id, new Date(timestamp * 1000), payload),
  };
}

/** Long base64/hex runs in header values: signature material that must never be echoed in a reason. */
function signatureMaterial(headers: Record<string, string>): string[] {
  return Object.values(headers).flatMap((value) => value.match(/[A-Za-z0-9+/=]{16,}/g) ?? []);
}

async function libraryAccepts(provider: ProviderType, s: Scenario, secret: string): Promise<void> {
  const body = typeof s.body === "string" ? s.body : Buffer.from(s.body).toString();
  const now = s.now ?? NOW;
  const h = headerLookup(s.headers);
  switch (provider) {
    case "stripe":
      stripe.webhooks.constructEvent(body, h("stripe-signature")!, secret, s.toleranceSeconds ?? 300, undefined, now.getTime());
      return;
    case "github":
      expect(await githubVerify(secret, body, h("x-hub-signature-256")!)).toBe(true);
      return;
    case "generic":
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(now);
      new Webhook(secret).verify(body, s.headers, { jsonParse: false });
      return;
    case "telegram":
      throw new Error("telegram has no library verifier");
  }
}

function describeScenarios(provider: ProviderType, scenarios: Scenario[]) {
  it.each(scenarios)("$name → $expected", async (s) => {
    const result = run(provider, s);
    if (s.expected === "ok") {
      expect(result).toEqual({ ok: true });
      if (s.librarySecret !== undefined) await libraryAccepts(provider, s, s.librarySecret);
      return;
    }
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe(s.expected);
    if (s.reason !== undefined) expect(result.reason).toMatch(s.reason);
    for (const secret of ALL_SECRETS) expect(result.reason).not.toContain(secret);
    for (const material of signatureMaterial(s.headers)) expect(result.reason).not.toContain(material);
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("verifySignature: stripe", () => {
  const valid = stripeHeader(STRIPE_SECRET);
  describeScenarios("stripe", [
    {
      name: "signed by the stripe library",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": valid },
      body: JSON_BODY,
      expected: "ok",
      librarySecret: STRIPE_SECRET,
    },
    {
      name: "rotation: second secret matches",
      secrets: [STRIPE_OLD_SECRET, STRIPE_SECRET],
      headers: { "Stripe-Signature": valid },
      body: JSON_BODY,
      expected: "ok",
      librarySecret: STRIPE_SECRET,
    },
    {
      name: "several v1 entries, the last one matches (Stripe's own rotation)",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": `${stripeHeader(STRIPE_OLD_SECRET)},${v1Of(valid)}` },
      body: JSON_BODY,
      expected: "ok",
      librarySecret: STRIPE_SECRET,
    },
    {
      name: "v0 and unknown schemes are ignored",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": `${valid},v0=${"0".repeat(64)},v9=whatever` },
      body: JSON_BODY,
      expected: "ok",
      librarySecret: STRIPE_SECRET,
    },
    {
      name: 'repeated header joined by Node with ", "',
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": `${valid}, ${valid}` },
      body: JSON_BODY,
      expected: "ok",
    },
    {
      name: "non-UTF-8 binary body",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": stripeHeaderForBytes(STRIPE_SECRET, T, BINARY_BODY) },
      body: BINARY_BODY,
      expected: "ok",
    },
    {
      name: "binary body, signed by the library as decoded text",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": stripeHeader(STRIPE_SECRET, T, LOSSY_TEXT) },
      body: BYTES_B,
      expected: "mismatch",
    },
    {
      name: "timestamp exactly 300 s old",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": stripeHeader(STRIPE_SECRET, T - 300) },
      body: JSON_BODY,
      expected: "ok",
      librarySecret: STRIPE_SECRET,
    },
    {
      name: "timestamp exactly 300 s ahead",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": stripeHeader(STRIPE_SECRET, T + 300) },
      body: JSON_BODY,
      expected: "ok",
      librarySecret: STRIPE_SECRET,
    },
    {
      name: "timestamp 300 s old with now 999 ms past the second",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": stripeHeader(STRIPE_SECRET, T - 300) },
      body: JSON_BODY,
      now: new Date(NOW.getTime() + 999),
      expected: "ok",
      librarySecret: STRIPE_SECRET,
    },
    {
      name: "timestamp 301 s old",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": stripeHeader(STRIPE_SECRET, T - 301) },
      body: JSON_BODY,
      expected: "stale_timestamp",
      reason: "timestamp 301 s in the past, outside the 300 s tolerance",
    },
    {
      name: "timestamp 301 s ahead",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": stripeHeader(STRIPE_SECRET, T + 301) },
      body: JSON_BODY,
      expected: "stale_timestamp",
      reason: "timestamp 301 s in the future, outside the 300 s tolerance",
    },
    {
      name: "custom tolerance",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": stripeHeader(STRIPE_SECRET, T - 812) },
      body: JSON_BODY,
      toleranceSeconds: 600,
      expected: "stale_timestamp",
      reason: "timestamp 812 s in the past, outside the 600 s tolerance",
    },
    {
      name: "Infinity tolerance disables the window",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": stripeHeader(STRIPE_SECRET, T - 86_400 * 365) },
      body: JSON_BODY,
      toleranceSeconds: Number.POSITIVE_INFINITY,
      expected: "ok",
    },
    {
      name: "invalid now fails closed",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": valid },
      body: JSON_BODY,
      now: new Date(Number.NaN),
      expected: "stale_timestamp",
    },
    {
      name: "tampered body",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": valid },
      body: JSON_BODY.replace("evt_1", "evt_2"),
      expected: "mismatch",
      reason: "signature does not match any configured secret",
    },
    { name: "wrong secret", secrets: [STRIPE_OLD_SECRET], headers: { "Stripe-Signature": valid }, body: JSON_BODY, expected: "mismatch" },
    {
      name: "secret without its whsec_ prefix is a different key",
      secrets: [STRIPE_SECRET.slice("whsec_".length)],
      headers: { "Stripe-Signature": valid },
      body: JSON_BODY,
      expected: "mismatch",
    },
    {
      name: "wrong secret and old timestamp: mismatch wins over stale",
      secrets: [STRIPE_OLD_SECRET],
      headers: { "Stripe-Signature": stripeHeader(STRIPE_SECRET, T - 3600) },
      body: JSON_BODY,
      expected: "mismatch",
    },
    {
      name: "timestamp changed after signing",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": valid.replace(`t=${T}`, `t=${T + 1}`) },
      body: JSON_BODY,
      expected: "mismatch",
    },
    { name: "missing header", secrets: [STRIPE_SECRET], headers: {}, body: JSON_BODY, expected: "missing_header", reason: "missing Stripe-Signature header" },
    { name: "empty header", secrets: [STRIPE_SECRET], headers: { "Stripe-Signature": " " }, body: JSON_BODY, expected: "missing_header" },
    {
      name: "no t=",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": v1Of(valid) },
      body: JSON_BODY,
      expected: "malformed_header",
      reason: /no t= timestamp/,
    },
    {
      name: "t= not a number",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": valid.replace(`t=${T}`, "t=yesterday") },
      body: JSON_BODY,
      expected: "malformed_header",
      reason: /not a Unix timestamp/,
    },
    {
      name: "conflicting t=",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": `${valid},t=${T - 1}` },
      body: JSON_BODY,
      expected: "malformed_header",
      reason: /conflicting/,
    },
    {
      name: "no v1=",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": `t=${T},v0=${"a".repeat(64)}` },
      body: JSON_BODY,
      expected: "malformed_header",
      reason: /no v1 signature/,
    },
    {
      name: "v1= not hex",
      secrets: [STRIPE_SECRET],
      headers: { "Stripe-Signature": `t=${T},v1=${"z".repeat(64)}` },
      body: JSON_BODY,
      expected: "malformed_header",
      reason: /64 hex digits/,
    },
    { name: "v1= truncated", secrets: [STRIPE_SECRET], headers: { "Stripe-Signature": valid.slice(0, -2) }, body: JSON_BODY, expected: "malformed_header" },
    { name: "no secrets", secrets: [], headers: { "Stripe-Signature": valid }, body: JSON_BODY, expected: "no_secret" },
  ]);
});

describe("verifySignature: github", () => {
  const bytesHeader = (secret: string, body: Uint8Array) => `sha256=${hmac(secret, body).toString("hex")}`;

  const valid = GITHUB_SIGNATURE;
  describeScenarios("github", [
    {
      name: "signed by @octokit/webhooks-methods",
      secrets: [GITHUB_SECRET],
      headers: { "X-Hub-Signature-256": valid },
      body: JSON_BODY,
      expected: "ok",
      librarySecret: GITHUB_SECRET,
    },
    {
      name: "rotation: second secret matches",
      secrets: [GITHUB_OLD_SECRET, GITHUB_SECRET],
      headers: { "X-Hub-Signature-256": valid },
      body: JSON_BODY,
      expected: "ok",
      librarySecret: GITHUB_SECRET,
    },
    {
      name: "upper-case hex",
      secrets: [GITHUB_SECRET],
      headers: { "X-Hub-Signature-256": `sha256=${valid.slice(7).toUpperCase()}` },
      body: JSON_BODY,
      expected: "ok",
    },
    {
      name: "non-UTF-8 binary body",
      secrets: [GITHUB_SECRET],
      headers: { "X-Hub-Signature-256": bytesHeader(GITHUB_SECRET, BINARY_BODY) },
      body: BINARY_BODY,
      expected: "ok",
    },
    {
      name: "binary body, signed by the library as decoded text",
      secrets: [GITHUB_SECRET],
      headers: { "X-Hub-Signature-256": GITHUB_LOSSY_SIGNATURE },
      body: BYTES_B,
      expected: "mismatch",
    },
    {
      name: "tampered body",
      secrets: [GITHUB_SECRET],
      headers: { "X-Hub-Signature-256": valid },
      body: `${JSON_BODY} `,
      expected: "mismatch",
      reason: "signature does not match any configured secret",
    },
    { name: "wrong secret", secrets: [GITHUB_OLD_SECRET], headers: { "X-Hub-Signature-256": valid }, body: JSON_BODY, expected: "mismatch" },
    {
      name: "missing header",
      secrets: [GITHUB_SECRET],
      headers: {},
      body: JSON_BODY,
      expected: "missing_header",
      reason: "missing X-Hub-Signature-256 header",
    },
    {
      name: "only the old sha1 header",
      secrets: [GITHUB_SECRET],
      headers: { "X-Hub-Signature": `sha1=${createHmac("sha1", GITHUB_SECRET).update(JSON_BODY).digest("hex")}` },
      body: JSON_BODY,
      expected: "missing_header",
    },
    {
      name: "sha1= prefix",
      secrets: [GITHUB_SECRET],
      headers: { "X-Hub-Signature-256": valid.replace("sha256=", "sha1=") },
      body: JSON_BODY,
      expected: "malformed_header",
      reason: /sha256=<64 hex digits>/,
    },
    { name: "no prefix", secrets: [GITHUB_SECRET], headers: { "X-Hub-Signature-256": valid.slice(7) }, body: JSON_BODY, expected: "malformed_header" },
    {
      name: "not hex",
      secrets: [GITHUB_SECRET],
      headers: { "X-Hub-Signature-256": `sha256=${"g".repeat(64)}` },
      body: JSON_BODY,
      expected: "malformed_header",
    },
    { name: "truncated", secrets: [GITHUB_SECRET], headers: { "X-Hub-Signature-256": valid.slice(0, -1) }, body: JSON_BODY, expected: "malformed_header" },
    {
      name: "repeated header joined by Node",
      secrets: [GITHUB_SECRET],
      headers: { "X-Hub-Signature-256": `${valid}, ${valid}` },
      body: JSON_BODY,
      expected: "malformed_header",
    },
    { name: "no secrets", secrets: [], headers: { "X-Hub-Signature-256": valid }, body: JSON_BODY, expected: "no_secret" },
    { name: "only empty secrets", secrets: [""], headers: { "X-Hub-Signature-256": valid }, body: JSON_BODY, expected: "no_secret" },
  ]);
});

describe("verifySignature: telegram", () => {
  const header = (token: string) => ({ "X-Telegram-Bot-Api-Secret-Token": token });
  describeScenarios("telegram", [
    { name: "token equals the secret", secrets: [TELEGRAM_SECRET], headers: header(TELEGRAM_SECRET), body: JSON_BODY, expected: "ok" },
    {
      name: "rotation: second secret matches",
      secrets: [TELEGRAM_OLD_SECRET, TELEGRAM_SECRET],
      headers: header(TELEGRAM_SECRET),
      body: JSON_BODY,
      expected: "ok",
    },
    { name: "body is not signed", secrets: [TELEGRAM_SECRET], headers: header(TELEGRAM_SECRET), body: BINARY_BODY, expected: "ok" },
    {
      name: "wrong token",
      secrets: [TELEGRAM_SECRET],
      headers: header(TELEGRAM_OLD_SECRET),
      body: JSON_BODY,
      expected: "mismatch",
      reason: "X-Telegram-Bot-Api-Secret-Token does not match any configured secret",
    },
    { name: "prefix of the secret", secrets: [TELEGRAM_SECRET], headers: header(TELEGRAM_SECRET.slice(0, -1)), body: JSON_BODY, expected: "mismatch" },
    { name: "secret plus a suffix", secrets: [TELEGRAM_SECRET], headers: header(`${TELEGRAM_SECRET}x`), body: JSON_BODY, expected: "mismatch" },
    { name: "case differs", secrets: [TELEGRAM_SECRET], headers: header(TELEGRAM_SECRET.toUpperCase()), body: JSON_BODY, expected: "mismatch" },
    {
      name: "missing header",
      secrets: [TELEGRAM_SECRET],
      headers: {},
      body: JSON_BODY,
      expected: "missing_header",
      reason: "missing X-Telegram-Bot-Api-Secret-Token header",
    },
    { name: "empty header", secrets: [TELEGRAM_SECRET], headers: header(""), body: JSON_BODY, expected: "missing_header" },
    { name: "characters Telegram never sends", secrets: [TELEGRAM_SECRET], headers: header("tg current token"), body: JSON_BODY, expected: "malformed_header" },
    { name: "longer than 256 characters", secrets: ["a".repeat(257)], headers: header("a".repeat(257)), body: JSON_BODY, expected: "malformed_header" },
    {
      name: "repeated header joined by Node",
      secrets: [TELEGRAM_SECRET],
      headers: header(`${TELEGRAM_SECRET}, ${TELEGRAM_SECRET}`),
      body: JSON_BODY,
      expected: "malformed_header",
    },
    { name: "no secrets", secrets: [], headers: header(TELEGRAM_SECRET), body: JSON_BODY, expected: "no_secret" },
  ]);
});

describe("verifySignature: generic (Standard Webhooks)", () => {
  const valid = swHeaders(SW_SECRET);
  const id = valid["webhook-id"];
  const bytesSignature = (secret: string, body: Uint8Array, timestamp = T) => `v1,${hmac(swKey(secret), `${id}.${timestamp}.`, body).toString("base64")}`;
  const without = (name: keyof typeof valid) => Object.fromEntries(Object.entries(valid).filter(([n]) => n !== name));

  describeScenarios("generic", [
    { name: "signed by the standardwebhooks library", secrets: [SW_SECRET], headers: valid, body: JSON_BODY, expected: "ok", librarySecret: SW_SECRET },
    {
      name: "secret without whsec_ prefix",
      secrets: [SW_RAW_SECRET],
      headers: swHeaders(SW_RAW_SECRET),
      body: JSON_BODY,
      expected: "ok",
      librarySecret: SW_RAW_SECRET,
    },
    { name: "rotation: second secret matches", secrets: [SW_OLD_SECRET, SW_SECRET], headers: valid, body: JSON_BODY, expected: "ok", librarySecret: SW_SECRET },
    {
      name: "rotation: an undecodable secret is skipped",
      secrets: ["whsec_not base64!", SW_SECRET],
      headers: valid,
      body: JSON_BODY,
      expected: "ok",
      librarySecret: SW_SECRET,
    },
    {
      name: "several signatures, the last one matches",
      secrets: [SW_SECRET],
      headers: { ...valid, "webhook-signature": `${swHeaders(SW_OLD_SECRET)["webhook-signature"]} ${valid["webhook-signature"]}` },
      body: JSON_BODY,
      expected: "ok",
      librarySecret: SW_SECRET,
    },
    {
      name: "other versions are ignored",
      secrets: [SW_SECRET],
      headers: { ...valid, "webhook-signature": `v1a,${"A".repeat(86)}== ${valid["webhook-signature"]}` },
      body: JSON_BODY,
      expected: "ok",
      librarySecret: SW_SECRET,
    },
    {
      name: 'repeated header joined by Node with ", "',
      secrets: [SW_SECRET],
      headers: { ...valid, "webhook-signature": `${swHeaders(SW_OLD_SECRET)["webhook-signature"]}, ${valid["webhook-signature"]}` },
      body: JSON_BODY,
      expected: "ok",
    },
    {
      name: "non-UTF-8 binary body",
      secrets: [SW_SECRET],
      headers: { ...valid, "webhook-signature": bytesSignature(SW_SECRET, BINARY_BODY) },
      body: BINARY_BODY,
      expected: "ok",
    },
    {
      name: "binary body, signed by the library as decoded text",
      secrets: [SW_SECRET],
      headers: { ...valid, "webhook-signature": new Webhook(SW_SECRET).sign(id, NOW, LOSSY_TEXT) },
      body: BYTES_B,
      expected: "mismatch",
    },
    {
      name: "timestamp exactly 300 s old",
      secrets: [SW_SECRET],
      headers: swHeaders(SW_SECRET, T - 300),
      body: JSON_BODY,
      expected: "ok",
      librarySecret: SW_SECRET,
    },
    {
      name: "timestamp exactly 300 s ahead",
      secrets: [SW_SECRET],
      headers: swHeaders(SW_SECRET, T + 300),
      body: JSON_BODY,
      expected: "ok",
      librarySecret: SW_SECRET,
    },
    {
      name: "timestamp 301 s old",
      secrets: [SW_SECRET],
      headers: swHeaders(SW_SECRET, T - 301),
      body: JSON_BODY,
      expected: "stale_timestamp",
      reason: "timestamp 301 s in the past, outside the 300 s tolerance",
    },
    {
      name: "timestamp 301 s ahead",
      secrets: [SW_SECRET],
      headers: swHeaders(SW_SECRET, T + 301),
      body: JSON_BODY,
      expected: "stale_timestamp",
      reason: "timestamp 301 s in the future, outside the 300 s tolerance",
    },
    { name: "custom tolerance, inside", secrets: [SW_SECRET], headers: swHeaders(SW_SECRET, T - 30), body: JSON_BODY, toleranceSeconds: 30, expected: "ok" },
    {
      name: "custom tolerance, outside",
      secrets: [SW_SECRET],
      headers: swHeaders(SW_SECRET, T - 31),
      body: JSON_BODY,
      toleranceSeconds: 30,
      expected: "stale_timestamp",
    },
    {
      name: "tampered body",
      secrets: [SW_SECRET],
      headers: valid,
      body: JSON_BODY.replace("héllo", "hello"),
      expected: "mismatch",
      reason: "signature does not match any configured secret",
    },
    { name: "tampered webhook-id", secrets: [SW_SECRET], headers: { ...valid, "webhook-id": "msg_other" }, body: JSON_BODY, expected: "mismatch" },
    {
      name: "tampered webhook-timestamp",
      secrets: [SW_SECRET],
      headers: { ...valid, "webhook-timestamp": String(T - 1) },
      body: JSON_BODY,
      expected: "mismatch",
    },
    { name: "wrong secret", secrets: [SW_OLD_SECRET], headers: valid, body: JSON_BODY, expected: "mismatch" },
    {
      name: "wrong secret and old timestamp: mismatch wins over stale",
      secrets: [SW_OLD_SECRET],
      headers: swHeaders(SW_SECRET, T - 3600),
      body: JSON_BODY,
      expected: "mismatch",
    },
    {
      name: "missing webhook-id",
      secrets: [SW_SECRET],
      headers: without("webhook-id"),
      body: JSON_BODY,
      expected: "missing_header",
      reason: "missing webhook-id header",
    },
    {
      name: "missing webhook-timestamp",
      secrets: [SW_SECRET],
      headers: without("webhook-timestamp"),
      body: JSON_BODY,
      expected: "missing_header",
      reason: "missing webhook-timestamp header",
    },
    {
      name: "missing webhook-signature",
      secrets: [SW_SECRET],
      headers: without("webhook-signature"),
      body: JSON_BODY,
      expected: "missing_header",
      reason: "missing webhook-signature header",
    },
    {
      name: "all headers missing",
      secrets: [SW_SECRET],
      headers: {},
      body: JSON_BODY,
      expected: "missing_header",
      reason: "missing webhook-id, webhook-timestamp, webhook-signature headers",
    },
    {
      name: "timestamp not a number",
      secrets: [SW_SECRET],
      headers: { ...valid, "webhook-timestamp": "2025-06-01" },
      body: JSON_BODY,
      expected: "malformed_header",
      reason: /webhook-timestamp/,
    },
    {
      name: "no v1 signature",
      secrets: [SW_SECRET],
      headers: { ...valid, "webhook-signature": valid["webhook-signature"].replace("v1,", "v2,") },
      body: JSON_BODY,
      expected: "malformed_header",
      reason: /no v1 signature/,
    },
    { name: "v1 not base64", secrets: [SW_SECRET], headers: { ...valid, "webhook-signature": "v1,***" }, body: JSON_BODY, expected: "malformed_header" },
    {
      name: "v1 of the wrong length",
      secrets: [SW_SECRET],
      headers: { ...valid, "webhook-signature": "v1,AAAA" },
      body: JSON_BODY,
      expected: "malformed_header",
    },
    { name: "no secrets", secrets: [], headers: valid, body: JSON_BODY, expected: "no_secret" },
    {
      name: "no secret decodes as base64",
      secrets: ["whsec_not base64!"],
      headers: valid,
      body: JSON_BODY,
      expected: "no_secret",
      reason: /Standard Webhooks key/,
    },
  ]);
});

describe("verifySignature: library agreement", () => {
  // Signed here from the published schemes (not by the libraries), for many bodies and secrets: our verifier and the
  // provider's own library must both accept each one.
  const bodies = ["{}", JSON_BODY, JSON.stringify({ text: "line\r\nbreak\ttab \u2028 😀", n: [1, 2.5, null] })];
  const cases = bodies.flatMap((body, i) => [
    {
      body,
      stripeSecret: `whsec_agreement${i}`,
      githubSecret: `github agreement ${i}`,
      swSecret: `whsec_${Buffer.from(`agreement key ${i}`).toString("base64")}`,
      t: T - i * 97,
    },
  ]);

  it.each(cases)("stripe, github and Standard Webhooks agree on %#", async ({ body, stripeSecret, githubSecret, swSecret, t }) => {
    const raw = bytes(body);

    const stripeSig = stripeHeaderForBytes(stripeSecret, t, raw);
    expect(
      verifySignature({ provider: "stripe", secrets: [stripeSecret], header: headerLookup({ "stripe-signature": stripeSig }), body: raw, now: NOW }),
    ).toEqual({ ok: true });
    expect(() => stripe.webhooks.constructEvent(Buffer.from(raw), stripeSig, stripeSecret, 300, undefined, NOW.getTime())).not.toThrow();

    const githubSig = `sha256=${hmac(githubSecret, raw).toString("hex")}`;
    expect(
      verifySignature({ provider: "github", secrets: [githubSecret], header: headerLookup({ "x-hub-signature-256": githubSig }), body: raw, now: NOW }),
    ).toEqual({ ok: true });
    expect(await githubVerify(githubSecret, body, githubSig)).toBe(true);

    const swSig = {
      "webhook-id": `msg_${t}`,
      "webhook-timestamp": String(t),
      "webhook-signature": `v1,${hmac(swKey(swSecret), `msg_${t}.${t}.`, raw).toString("base64")}`,
    };
    expect(verifySignature({ provider: "generic", secrets: [swSecret], header: headerLookup(swSig), body: raw, now: NOW })).toEqual({ ok: true });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
    expect(() => new Webhook(swSecret).verify(Buffer.from(raw), swSig, { jsonParse: false })).not.toThrow();
  });
});

describe("verifySignature: never throws", () => {
  const providers: ProviderType[] = ["stripe", "github", "telegram", "generic"];
  const junk = ["", " ", ",", "=", "==,==", "t=", "v1=", "t=,v1=", "sha256=", "v1,", "v1, v1,", "\u0000", "é", "t=1e3,v1=zz", "x".repeat(100_000)];

  it.each(providers)("%s: junk in every header is a failure, not an exception", (provider) => {
    for (const value of junk) {
      const header = () => value;
      for (const secrets of [[], ["whsec_"], ["whsec_===="], [STRIPE_SECRET], ["é"]]) {
        const result = verifySignature({ provider, secrets, header, body: BINARY_BODY, now: NOW });
        expect(result.ok).toBe(false);
      }
    }
  });

  it("an unknown provider from a stale database row is a failure", () => {
    const result = verifySignature({ provider: "gitlab" as ProviderType, secrets: ["s"], header: () => "x", body: BINARY_BODY, now: NOW });
    expect(result).toMatchObject({ ok: false, code: "no_secret" });
  });

  it("accepts a body that is a view into a larger buffer", () => {
    const backing = new Uint8Array([9, 9, ...bytes(JSON_BODY), 9]);
    const body = backing.subarray(2, backing.length - 1);
    const header = headerLookup({ "x-hub-signature-256": `sha256=${hmac(GITHUB_SECRET, JSON_BODY).toString("hex")}` });
    expect(verifySignature({ provider: "github", secrets: [GITHUB_SECRET], header, body, now: NOW })).toEqual({ ok: true });
  });
});

describe("startVerification: a body fed in parts", () => {
  const body = new Uint8Array(200_000).map((_, i) => (i * 31 + 7) % 256);
  const stripeSig = stripeHeaderForBytes(STRIPE_SECRET, T, body);
  const githubSig = `sha256=${hmac(GITHUB_SECRET, body).toString("hex")}`;
  const swHeaders = {
    "webhook-id": "msg_parts",
    "webhook-timestamp": String(T),
    "webhook-signature": `v1,${hmac(swKey(SW_SECRET), `msg_parts.${T}.`, body).toString("base64")}`,
  };
  const inputs: { name: string; input: Omit<VerifyInput, "body"> }[] = [
    {
      name: "stripe",
      input: { provider: "stripe", secrets: [STRIPE_OLD_SECRET, STRIPE_SECRET], header: headerLookup({ "stripe-signature": stripeSig }), now: NOW },
    },
    { name: "github", input: { provider: "github", secrets: [GITHUB_SECRET], header: headerLookup({ "x-hub-signature-256": githubSig }), now: NOW } },
    { name: "generic", input: { provider: "generic", secrets: [SW_SECRET], header: headerLookup(swHeaders), now: NOW } },
    {
      name: "telegram",
      input: { provider: "telegram", secrets: [TELEGRAM_SECRET], header: headerLookup({ "x-telegram-bot-api-secret-token": TELEGRAM_SECRET }), now: NOW },
    },
    {
      name: "stripe, stale",
      input: {
        provider: "stripe",
        secrets: [STRIPE_SECRET],
        header: headerLookup({ "stripe-signature": stripeSig }),
        now: new Date(NOW.getTime() + 3_600_000),
      },
    },
  ];

  it.each(inputs)("$name: any split of the body gives verifySignature's answer", ({ input }) => {
    const whole = verifySignature({ ...input, body });
    for (let seed = 1; seed <= 50; seed++) {
      const random = mulberry32(seed);
      const v = startVerification(input);
      let at = 0;
      while (at < body.length) {
        const n = random() < 0.1 ? 0 : Math.ceil(random() * 40_000);
        v.update(body.subarray(at, at + n));
        at += n;
      }
      expect(v.finish(), `seed ${seed}`).toEqual(whole);
    }
    if (input.provider !== "telegram") expect(whole.ok).toBe(input.now === NOW);
  });

  it("a changed byte in one part is a mismatch", () => {
    const v = startVerification(inputs[1]!.input);
    const altered = Uint8Array.from(body);
    altered[150_000] = altered[150_000]! ^ 1;
    v.update(altered.subarray(0, 100_000));
    v.update(altered.subarray(100_000));
    expect(v.finish()).toMatchObject({ ok: false, code: "mismatch" });
  });
});
