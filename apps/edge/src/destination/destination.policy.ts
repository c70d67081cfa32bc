/**
 * A destination's delivery policy (issue #13): how its queue is sent.
 *
 * - `ordering`: `strict` (the default: one webhook after another, k+1 never
 *   before k is settled) or `concurrent` (up to `concurrency` at once, in
 *   queue order but each on its own: a failing one waits for its retry while
 *   the others go on).
 * - `timeoutMs`: each attempt's timeout; null: the hub's HUB_FORWARD_TIMEOUT_MS.
 * - `maxAttempts`: attempts before a delivery is given up (dead letter);
 *   null: no limit but the age.
 * - `maxAgeMs`: a pending delivery older than this is dead-lettered; null:
 *   DEAD_LETTER_AFTER_HOURS (7 days by default).
 * - `headers`: added to each forward, replacing the webhook's own of the
 *   same name (say, the LAN service's own Authorization). Their values are
 *   sealed at rest and never shown again, like secrets.
 * - `unverified`: what happens to a webhook whose provider signature did not
 *   check out: `deliver` it (the default, as the spec says), `hold` it out of
 *   the queue until an operator releases it (then it joins the tail, in
 *   arrival order) or skips it, or `drop` it (stored, marked, never sent).
 *
 * Pure: validation and defaults, no I/O.
 */
import { AppError } from "../errors.js";

/** The orderings. */
export const ORDERINGS = ["strict", "concurrent"] as const;
/** What to do with unverified webhooks. */
export const UNVERIFIED_RULES = ["deliver", "hold", "drop"] as const;

/** Most webhooks of a concurrent destination in flight at once. */
export const MAX_CONCURRENCY = 64;
/** Bounds of a per-attempt timeout (ms): as HUB_FORWARD_TIMEOUT_MS's. */
export const MIN_TIMEOUT_MS = 100;
export const MAX_TIMEOUT_MS = 600_000;
/** Most attempts a limit may allow. */
export const MAX_ATTEMPTS_LIMIT = 1_000;
/** Bounds of a maximum age (ms): a minute to 90 days. */
export const MIN_AGE_MS = 60_000;
export const MAX_AGE_MS = 90 * 86_400_000;
/** Most custom headers, and the longest value. */
export const MAX_POLICY_HEADERS = 20;
export const MAX_HEADER_VALUE_LENGTH = 4096;

/** How a destination's queue is sent. */
export interface DeliveryPolicy {
  ordering: (typeof ORDERINGS)[number];
  /** In flight at once: 1 when strict; 2–64 when concurrent. */
  concurrency: number;
  timeoutMs: number | null;
  maxAttempts: number | null;
  maxAgeMs: number | null;
  /** Added to each forward, in this order; values in clear here (sealed in the store). */
  headers: [string, string][];
  unverified: (typeof UNVERIFIED_RULES)[number];
}

/** The policy of a destination that never set one: today's behaviour. */
export const DEFAULT_POLICY: DeliveryPolicy = {
  ordering: "strict",
  concurrency: 1,
  timeoutMs: null,
  maxAttempts: null,
  maxAgeMs: null,
  headers: [],
  unverified: "deliver",
};

/** A policy as callers give it: any field may be left out (then it keeps `base`'s). */
export type PolicyInput = Partial<DeliveryPolicy>;

/** Header names a policy may not set: the hub sets them, or they would break the request. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "upgrade",
  "expect",
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const bad = (message: string): never => {
  throw new AppError("invalid_argument", `policy: ${message}`);
};

const intIn = (field: string, value: number | null | undefined, min: number, max: number): number | null | undefined => {
  if (value === undefined || value === null) return value;
  if (!Number.isInteger(value) || value < min || value > max) bad(`${field} must be an integer from ${min} to ${max}`);
  return value;
};

/**
 * The policy `input` makes of `base` (default: {@link DEFAULT_POLICY}):
 * every field checked, invalid_argument naming the first bad one. A header
 * value given as `keep` (the API shows values redacted) keeps the value
 * `base` has for that name.
 */
export function checkPolicy(input: PolicyInput | null | undefined, base: DeliveryPolicy = DEFAULT_POLICY, keep?: string): DeliveryPolicy {
  if (!input) return base;
  const ordering = input.ordering ?? base.ordering;
  if (!ORDERINGS.includes(ordering)) bad(`ordering must be one of ${ORDERINGS.join(", ")}`);
  const unverified = input.unverified ?? base.unverified;
  if (!UNVERIFIED_RULES.includes(unverified)) bad(`unverified must be one of ${UNVERIFIED_RULES.join(", ")}`);
  let concurrency = input.concurrency ?? (ordering === base.ordering ? base.concurrency : ordering === "strict" ? 1 : 4);
  if (ordering === "strict") {
    if (input.concurrency !== undefined && input.concurrency !== 1) bad("concurrency is 1 with strict ordering (choose concurrent for more)");
    concurrency = 1;
  } else {
    intIn("concurrency", concurrency, 2, MAX_CONCURRENCY);
  }
  const timeoutMs = input.timeoutMs === undefined ? base.timeoutMs : intIn("timeout_ms", input.timeoutMs, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS)!;
  const maxAttempts = input.maxAttempts === undefined ? base.maxAttempts : intIn("max_attempts", input.maxAttempts, 1, MAX_ATTEMPTS_LIMIT)!;
  const maxAgeMs = input.maxAgeMs === undefined ? base.maxAgeMs : intIn("max_age_ms", input.maxAgeMs, MIN_AGE_MS, MAX_AGE_MS)!;
  let headers = base.headers;
  if (input.headers !== undefined) {
    if (input.headers.length > MAX_POLICY_HEADERS) bad(`at most ${MAX_POLICY_HEADERS} headers`);
    const seen = new Set<string>();
    headers = input.headers.map(([rawName, value]) => {
      const name = rawName.trim();
      const lower = name.toLowerCase();
      if (!TOKEN.test(name)) bad(`header name ${JSON.stringify(rawName)} is not a valid HTTP header name`);
      if (RESERVED_HEADERS.has(lower) || lower.startsWith("x-hookly-")) bad(`header ${name} is set by the hub and cannot be added`);
      if (seen.has(lower)) bad(`header ${name} is given twice`);
      seen.add(lower);
      if (keep !== undefined && value === keep) {
        const old = base.headers.find(([n]) => n.toLowerCase() === lower);
        if (!old) bad(`header ${name} has no value to keep: give its value`);
        return [name, old![1]] as [string, string];
      }
      if (typeof value !== "string" || /[\r\n\0]/.test(value)) bad(`header ${name}'s value must be text on one line`);
      if (value.length > MAX_HEADER_VALUE_LENGTH) bad(`header ${name}'s value is longer than ${MAX_HEADER_VALUE_LENGTH} characters`);
      return [name, value] as [string, string];
    });
  }
  return { ordering, concurrency, timeoutMs, maxAttempts, maxAgeMs, headers, unverified };
}

/** The headers of a forward: the webhook's, then the policy's, each replacing the webhook's of the same name. */
export function withPolicyHeaders(headers: readonly [string, string][], added: readonly [string, string][]): [string, string][] {
  if (added.length === 0) return headers as [string, string][];
  const names = new Set(added.map(([n]) => n.toLowerCase()));
  return [...headers.filter(([n]) => !names.has(n.toLowerCase())), ...added];
}
