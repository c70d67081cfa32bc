import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * How an endpoint's provider signs its webhooks.
 * - `generic`: Standard Webhooks (`webhook-id` / `webhook-timestamp` / `webhook-signature`), as sent by Svix and others.
 * - `stripe`: `Stripe-Signature: t=…,v1=…`.
 * - `github`: `X-Hub-Signature-256: sha256=…`.
 * - `telegram`: `X-Telegram-Bot-Api-Secret-Token`, a shared token rather than a signature.
 */
export type ProviderType = "generic" | "stripe" | "github" | "telegram";

/**
 * Why a webhook failed verification, as a short code that is stored with the webhook and shown in the UI.
 * - `no_secret`: the endpoint has no usable secret, so nothing could be checked.
 * - `missing_header`: the provider's signature header (or one of the Standard Webhooks headers) is absent or empty.
 * - `malformed_header`: the header is present but cannot be parsed (no timestamp, no v1 signature, wrong prefix…).
 * - `stale_timestamp`: the signature is authentic but its timestamp is outside the tolerance window.
 * - `mismatch`: no signature matches any configured secret (wrong secret or altered body).
 */
export type VerifyFailureCode = "no_secret" | "missing_header" | "malformed_header" | "stale_timestamp" | "mismatch";

/**
 * Outcome of {@link verifySignature}. A failure is not a rejection: the edge stores the webhook anyway and marks it
 * unverified with `code` and `reason`. `reason` is for humans, names the header involved, and never contains a
 * secret or a signature value.
 */
export type VerifyResult = { ok: true } | { ok: false; code: VerifyFailureCode; reason: string };

/** Everything {@link startVerification} needs from one incoming request and its endpoint, before its body. */
export interface VerifyStart {
  provider: ProviderType;
  /** Every currently valid secret (rotation: any one may match). Empty → { ok:false, code:"no_secret" }. */
  secrets: readonly string[];
  /** Header lookup by lower-case name; joins repeated headers as Node does. */
  header: (name: string) => string | undefined;
  now: Date;
  /** Default 300 s, both directions. A bound of exactly `toleranceSeconds` is accepted; `Infinity` disables the window. */
  toleranceSeconds?: number;
}

/** Everything {@link verifySignature} needs: the request and its whole body. */
export interface VerifyInput extends VerifyStart {
  /** The raw request body exactly as received; never a re-serialised or decoded copy. */
  body: Uint8Array;
}

/**
 * A signature check fed the raw body as it arrives, so a body of any size is checked without
 * being held whole: `update` with each part in order, then `finish` once.
 */
export interface Verification {
  update(chunk: Uint8Array): void;
  finish(): VerifyResult;
}

/** Stripe's and Standard Webhooks' own default window, in seconds. */
const DEFAULT_TOLERANCE_SECONDS = 300;

/** HMAC-SHA256 output length; every signature we compare decodes to exactly this many bytes. */
const SHA256_BYTES = 32;

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const UNIX_SECONDS = /^\d{1,15}$/;
/** Telegram's documented alphabet and length for `secret_token` (setWebhook). */
const TELEGRAM_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

const MISMATCH: VerifyResult = { ok: false, code: "mismatch", reason: "signature does not match any configured secret" };

/**
 * What the headers say must be checked against the body: HMAC-SHA256 under each key over `prefix`
 * followed by the body must equal one of `signatures`; then `after` judges the rest (the timestamp).
 */
interface BodyCheck {
  keys: readonly Buffer[];
  prefix: string;
  signatures: readonly Buffer[];
  after?: () => VerifyResult;
}

/**
 * Checks a provider's signature over the raw body bytes against every configured secret, in constant time.
 *
 * Never throws on bad input: every problem becomes `{ ok: false, code, reason }`. Checks run in this order, and the
 * first failure is reported: usable secret → header present → header parses → signature matches → timestamp fresh.
 *
 * The timestamp (Stripe, generic) is judged only after a signature has matched, so `stale_timestamp` always means
 * "authentic but late or replayed (or a skewed clock)", while `mismatch` means "wrong secret or altered body". An
 * unauthenticated timestamp is attacker-controlled and says nothing, so it is not reported on its own.
 */
export function verifySignature(input: VerifyInput): VerifyResult {
  const v = startVerification(input);
  v.update(input.body);
  return v.finish();
}

/**
 * {@link verifySignature} for a body that arrives in parts: the headers are judged now, the body as
 * it is fed. The result is the same as verifySignature's over the concatenated parts.
 */
export function startVerification(input: VerifyStart): Verification {
  const check = bodyCheck(input);
  if ("ok" in check) {
    return { update: () => undefined, finish: () => check };
  }
  const hmacs = check.keys.map((key) => createHmac("sha256", key).update(check.prefix));
  let finished = false;
  return {
    update(chunk) {
      for (const h of hmacs) h.update(chunk);
    },
    finish() {
      if (finished) throw new Error("verification already finished");
      finished = true;
      let matched = false;
      // note: every pair is compared, without an early return, so the time taken does not tell which secret or entry matched.
      for (const h of hmacs) {
        const expected = h.digest();
        for (const signature of check.signatures) {
          if (constantTimeEqual(expected, signature)) matched = true;
        }
      }
      if (!matched) return MISMATCH;
      return check.after ? check.after() : { ok: true };
    },
  };
}

/** The headers' verdict: a result already (nothing to check, or a bad header), or what to check over the body. */
function bodyCheck(input: VerifyStart): VerifyResult | BodyCheck {
  const secrets = input.secrets.filter((secret) => secret.length > 0);
  if (secrets.length === 0) {
    return { ok: false, code: "no_secret", reason: "no signing secret is configured for this endpoint" };
  }
  const window = { now: input.now, toleranceSeconds: input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS };
  switch (input.provider) {
    case "stripe":
      return stripeCheck(secrets, input.header, window);
    case "github":
      return githubCheck(secrets, input.header);
    case "telegram":
      return verifyTelegram(secrets, input.header);
    case "generic":
      return standardWebhooksCheck(secrets, input.header, window);
    default: {
      // note: the provider comes from a database row; a value this build does not know must not throw.
      const unknown: never = input.provider;
      return { ok: false, code: "no_secret", reason: `cannot verify: unknown provider type ${JSON.stringify(unknown)}` };
    }
  }
}

interface TimestampWindow {
  now: Date;
  toleranceSeconds: number;
}

function stripeCheck(secrets: readonly string[], header: VerifyStart["header"], window: TimestampWindow): VerifyResult | BodyCheck {
  const value = header("stripe-signature");
  if (!value?.trim()) return missing("Stripe-Signature");

  let timestamp: string | undefined;
  const signatures: Buffer[] = [];
  let v1Count = 0;
  // note: trimmed items so a header repeated and joined by Node (", ") still parses.
  for (const item of value.split(",")) {
    const eq = item.indexOf("=");
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    const val = item.slice(eq + 1).trim();
    if (key === "t") {
      if (timestamp !== undefined && timestamp !== val) {
        return malformed("Stripe-Signature header has conflicting t= timestamps");
      }
      timestamp = val;
    } else if (key === "v1") {
      v1Count++;
      // A v1 that is not 64 hex digits can never match; skip it rather than fail the others.
      if (HEX_SHA256.test(val)) signatures.push(Buffer.from(val, "hex"));
    }
    // v0 (test-mode legacy scheme) and unknown schemes are ignored, as Stripe's own library does.
  }
  if (timestamp === undefined) return malformed("Stripe-Signature header has no t= timestamp");
  if (!UNIX_SECONDS.test(timestamp)) return malformed("Stripe-Signature t= is not a Unix timestamp");
  if (v1Count === 0) return malformed("Stripe-Signature header has no v1 signature");
  if (signatures.length === 0) return malformed("Stripe-Signature v1 signatures are not 64 hex digits");

  // note: Stripe keys the HMAC with the whole secret string, `whsec_` prefix included (unlike Standard Webhooks).
  const t = Number(timestamp);
  return { keys: secrets.map((secret) => Buffer.from(secret)), prefix: `${timestamp}.`, signatures, after: () => checkTimestamp(t, window) };
}

function githubCheck(secrets: readonly string[], header: VerifyStart["header"]): VerifyResult | BodyCheck {
  const value = header("x-hub-signature-256");
  if (!value?.trim()) return missing("X-Hub-Signature-256");
  const trimmed = value.trim();
  const hex = trimmed.startsWith("sha256=") ? trimmed.slice("sha256=".length) : "";
  if (!HEX_SHA256.test(hex)) return malformed("X-Hub-Signature-256 header is not sha256=<64 hex digits>");
  return { keys: secrets.map((secret) => Buffer.from(secret)), prefix: "", signatures: [Buffer.from(hex, "hex")] };
}

function verifyTelegram(secrets: readonly string[], header: VerifyStart["header"]): VerifyResult {
  const value = header("x-telegram-bot-api-secret-token");
  if (!value) return missing("X-Telegram-Bot-Api-Secret-Token");
  if (!TELEGRAM_TOKEN.test(value)) {
    return malformed("X-Telegram-Bot-Api-Secret-Token is not 1-256 characters of A-Z, a-z, 0-9, _ and -");
  }
  // note: compare digests, not the strings, so the comparison is fixed-length and does not reveal the secret's length.
  const received = sha256(Buffer.from(value));
  let matched = false;
  for (const secret of secrets) {
    if (constantTimeEqual(received, sha256(Buffer.from(secret)))) matched = true;
  }
  return matched ? { ok: true } : { ok: false, code: "mismatch", reason: "X-Telegram-Bot-Api-Secret-Token does not match any configured secret" };
}

function standardWebhooksCheck(secrets: readonly string[], header: VerifyStart["header"], window: TimestampWindow): VerifyResult | BodyCheck {
  const keys = secrets.map(standardWebhooksKey).filter((key): key is Buffer => key !== undefined);
  if (keys.length === 0) {
    return {
      ok: false,
      code: "no_secret",
      reason: "no configured secret is a Standard Webhooks key (base64, optionally prefixed whsec_)",
    };
  }

  const id = header("webhook-id")?.trim() ?? "";
  const timestamp = header("webhook-timestamp")?.trim() ?? "";
  const signatureList = header("webhook-signature")?.trim() ?? "";
  const absent = [
    ["webhook-id", id],
    ["webhook-timestamp", timestamp],
    ["webhook-signature", signatureList],
  ]
    .filter(([, value]) => value === "")
    .map(([name]) => name);
  if (absent.length > 0) {
    return { ok: false, code: "missing_header", reason: `missing ${absent.join(", ")} header${absent.length > 1 ? "s" : ""}` };
  }
  if (!UNIX_SECONDS.test(timestamp)) return malformed("webhook-timestamp header is not a Unix timestamp");

  const signatures: Buffer[] = [];
  let v1Count = 0;
  for (const entry of signatureList.split(/\s+/)) {
    // note: a repeated header arrives joined by Node as "v1,a, v1,b"; the trailing comma is not part of the base64.
    const token = entry.endsWith(",") ? entry.slice(0, -1) : entry;
    const comma = token.indexOf(",");
    if (comma < 0 || token.slice(0, comma) !== "v1") continue;
    v1Count++;
    const b64 = token.slice(comma + 1);
    if (!BASE64.test(b64)) continue;
    const decoded = Buffer.from(b64, "base64");
    if (decoded.length === SHA256_BYTES) signatures.push(decoded);
  }
  if (v1Count === 0) return malformed("webhook-signature header has no v1 signature");
  if (signatures.length === 0) return malformed("webhook-signature v1 signatures are not base64 HMAC-SHA256 values");

  const t = Number(timestamp);
  return { keys, prefix: `${id}.${timestamp}.`, signatures, after: () => checkTimestamp(t, window) };
}

/** The HMAC key of a Standard Webhooks secret: base64 after an optional `whsec_`; undefined when it is not base64. */
function standardWebhooksKey(secret: string): Buffer | undefined {
  const encoded = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  if (!BASE64.test(encoded)) return undefined;
  const key = Buffer.from(encoded, "base64");
  return key.length > 0 ? key : undefined;
}

/** crypto.timingSafeEqual throws on different lengths; a length difference is a plain mismatch here. */
function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function checkTimestamp(unixSeconds: number, window: TimestampWindow): VerifyResult {
  const age = Math.floor(window.now.getTime() / 1000) - unixSeconds;
  // note: written as !(… <= …) so an invalid `now` or a NaN tolerance fails closed instead of accepting everything.
  if (!(Math.abs(age) <= window.toleranceSeconds)) {
    const direction = age >= 0 ? "in the past" : "in the future";
    return {
      ok: false,
      code: "stale_timestamp",
      reason: `timestamp ${Math.abs(age)} s ${direction}, outside the ${window.toleranceSeconds} s tolerance`,
    };
  }
  return { ok: true };
}

function sha256(data: Buffer): Buffer {
  return createHash("sha256").update(data).digest();
}

function missing(headerName: string): VerifyResult {
  return { ok: false, code: "missing_header", reason: `missing ${headerName} header` };
}

function malformed(reason: string): VerifyResult {
  return { ok: false, code: "malformed_header", reason };
}
