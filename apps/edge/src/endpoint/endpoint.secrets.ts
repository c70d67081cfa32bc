/**
 * An endpoint's signature secrets: a list (several at once during a
 * rotation, any of them verifies), each exactly as the provider shows it —
 * spaces and commas included, since GitHub lets users choose any string (its
 * own docs use "It's a Secret to Everybody"). The list is sealed as one value
 * (`encodeSecrets`), never written or read as one string split on
 * separators.
 *
 * Endpoints stored before lists kept one string that was split on
 * whitespace and commas; {@link legacySecrets} reads such a value the one
 * safe way there is, and the endpoint service re-seals every such value in
 * the list form at start.
 */
import { AppError } from "../errors.js";

/** Most secrets an endpoint holds at once. */
export const MAX_SECRETS = 10;
/** Longest secret accepted. */
export const MAX_SECRET_LENGTH = 4096;
/**
 * Shortest part a legacy value may be split into: every provider-generated
 * secret (whsec_…, Standard Webhooks, Telegram's, `openssl rand`) is longer.
 */
export const LEGACY_MIN_PART = 8;

const MARK = "hookly-secrets:";

/**
 * Checks a list given by the API: every secret non-empty (not only
 * whitespace) and at most MAX_SECRET_LENGTH characters, at most MAX_SECRETS;
 * repeats are dropped. Secrets are kept exactly as given.
 */
export function checkSecrets(secrets: readonly string[]): string[] {
  const unique = [...new Set(secrets)];
  if (unique.length > MAX_SECRETS) throw new AppError("invalid_argument", `at most ${MAX_SECRETS} signature secrets`);
  for (const [i, s] of unique.entries()) {
    if (s.trim() === "") throw new AppError("invalid_argument", `signature secret ${i + 1} is empty`);
    if (s.length > MAX_SECRET_LENGTH) throw new AppError("invalid_argument", `signature secret ${i + 1} is longer than ${MAX_SECRET_LENGTH} characters`);
  }
  return unique;
}

/** The plaintext sealed for a list of secrets. */
export function encodeSecrets(secrets: readonly string[]): string {
  return MARK + JSON.stringify(secrets);
}

/** Whether a sealed plaintext is from before lists. */
export function isLegacy(plain: string): boolean {
  return !plain.startsWith(MARK);
}

/** The secrets of a sealed plaintext, in either form. */
export function decodeSecrets(plain: string): string[] {
  if (isLegacy(plain)) return legacySecrets(plain);
  const list = JSON.parse(plain.slice(MARK.length)) as unknown;
  if (!Array.isArray(list) || !list.every((s) => typeof s === "string")) throw new Error("sealed signature secrets are not a list of strings");
  return list;
}

/**
 * A value stored before lists: one string that the edge split on whitespace
 * and commas. Split it the same way only when that reads as a rotation —
 * every part at least LEGACY_MIN_PART characters, as generated secrets are;
 * otherwise it is one secret containing spaces (which the split never
 * verified, while its short words, like "a", passed as secrets of their own).
 */
export function legacySecrets(value: string): string[] {
  const whole = value.trim();
  const parts = whole.split(/[\s,]+/).filter(Boolean);
  if (parts.length === 0) return [];
  return parts.length > 1 && parts.every((p) => p.length >= LEGACY_MIN_PART) ? parts : [whole];
}

/** The secrets a create call gives: `signature_secret` (one; empty for none) and `signature_secrets` (a list). */
export function secretsToCreate(one: string | undefined, list: readonly string[] | undefined): string[] {
  return [...(one ? [one] : []), ...(list ?? [])];
}

/**
 * The secrets an update call sets, or undefined when it leaves them: either
 * `signature_secret` (one; empty or null removes them) or `signature_secrets`
 * (a list; empty removes them), not both.
 */
export function secretsToUpdate(one: string | null | undefined, list: readonly string[] | undefined): string[] | undefined {
  if (one !== undefined && list !== undefined) throw new AppError("invalid_argument", "give signature_secret or signature_secrets, not both");
  if (list !== undefined) return [...list];
  if (one === undefined) return undefined;
  return one ? [one] : [];
}
