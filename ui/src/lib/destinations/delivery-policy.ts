import type { MessageInitShape } from "@bufbuild/protobuf";
import { Ordering, UnverifiedRule, type DeliveryPolicy, type DeliveryPolicySchema } from "@hookly/proto/gen/admin_pb";

/** What the edge shows for a stored header value, and what, sent back under the same name, keeps it. */
export const REDACTED = "[redacted]";

/** The edge's bounds (destination.policy.ts), checked here so a person learns them next to the field. */
export const POLICY_LIMITS = {
  concurrency: { min: 2, max: 64, default: 4 },
  timeoutMs: { min: 100, max: 600_000 },
  maxAttempts: { min: 1, max: 1_000 },
  maxAgeMs: { min: 60_000, max: 90 * 86_400_000 },
  headers: 20,
  headerValueLength: 4_096,
} as const;

/** The units a duration field offers. */
export type DurationUnit = "ms" | "s" | "min" | "h" | "d";

/** Milliseconds per unit. */
export const UNIT_MS: Readonly<Record<DurationUnit, number>> = { ms: 1, s: 1_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** The units of the per-attempt timeout (100 ms to 10 min) and of the maximum age (a minute to 90 days), smallest first. */
export const TIMEOUT_UNITS: readonly DurationUnit[] = ["ms", "s", "min"];
export const AGE_UNITS: readonly DurationUnit[] = ["min", "h", "d"];

/** A unit's name in a select. */
export const UNIT_LABELS: Readonly<Record<DurationUnit, string>> = { ms: "ms", s: "seconds", min: "minutes", h: "hours", d: "days" };

/** A duration as typed: an amount (blank: the default) and its unit. */
export interface DurationValue {
  amount: string;
  unit: DurationUnit;
}

/** One header the destination adds to each forward. */
export interface HeaderRow {
  name: string;
  /** What was typed; blank on a stored row keeps the stored value. */
  value: string;
  /** For a header the edge already has: the name its value is stored under (the value itself is never shown). */
  stored?: string;
}

/** The unverified rules as the form names them. */
export type UnverifiedChoice = "deliver" | "hold" | "drop";

/** What the destination dialog's "Delivery" section edits. Numbers are kept as typed, so a half-typed one is not lost. */
export interface PolicyFormValues {
  ordering: "strict" | "concurrent";
  /** In flight at once when concurrent. */
  concurrency: string;
  /** Blank: the hub's HUB_FORWARD_TIMEOUT_MS. */
  timeout: DurationValue;
  /** Blank: no limit but the age. */
  maxAttempts: string;
  /** Blank: the edge's DEAD_LETTER_AFTER_HOURS. */
  maxAge: DurationValue;
  headers: HeaderRow[];
  unverified: UnverifiedChoice;
}

/** Problems with the section, by field; header problems by row index. */
export interface PolicyFormErrors {
  concurrency?: string;
  timeout?: string;
  maxAttempts?: string;
  maxAge?: string;
  /** About the list as a whole (too many). */
  headers?: string;
  headerRows?: Record<number, { name?: string; value?: string }>;
}

/** The unverified rules with a line each on what they do, for the dialog and summaries. */
export const UNVERIFIED_CHOICES: readonly { value: UnverifiedChoice; label: string; help: string }[] = [
  { value: "deliver", label: "Deliver", help: "Sent like any other webhook; the LAN service may check the signature itself." },
  { value: "hold", label: "Hold", help: "Kept out of the queue until you release it (it then joins the end) or cancel it." },
  { value: "drop", label: "Drop", help: "Stored and shown in the history, never sent." },
];

const UNVERIFIED_WIRE: Readonly<Record<UnverifiedChoice, UnverifiedRule>> = {
  deliver: UnverifiedRule.DELIVER,
  hold: UnverifiedRule.HOLD,
  drop: UnverifiedRule.DROP,
};

/** The form of the default policy: strict, no limits of its own, no headers, unverified webhooks delivered. */
export function defaultPolicyForm(): PolicyFormValues {
  return {
    ordering: "strict",
    concurrency: String(POLICY_LIMITS.concurrency.default),
    timeout: { amount: "", unit: "s" },
    maxAttempts: "",
    maxAge: { amount: "", unit: "d" },
    headers: [],
    unverified: "deliver",
  };
}

/**
 * A duration in the largest of `units` that holds it whole (5000 ms is 5 s, 90 min stays 90 min);
 * 0 is blank, in `blankUnit`.
 */
export function durationValue(ms: number, units: readonly DurationUnit[], blankUnit: DurationUnit): DurationValue {
  if (ms <= 0) return { amount: "", unit: blankUnit };
  const unit = [...units].reverse().find((u) => ms % UNIT_MS[u] === 0) ?? units[0]!;
  return { amount: String(ms / UNIT_MS[unit]), unit };
}

/** The form's values for a destination's policy (unset: the default). Stored headers come without their values. */
export function policyFormValues(p: DeliveryPolicy | undefined): PolicyFormValues {
  const form = defaultPolicyForm();
  if (!p) return form;
  const concurrent = p.ordering === Ordering.CONCURRENT;
  return {
    ordering: concurrent ? "concurrent" : "strict",
    concurrency: concurrent && p.concurrency > 1 ? String(p.concurrency) : form.concurrency,
    timeout: durationValue(p.timeoutMs, TIMEOUT_UNITS, "s"),
    maxAttempts: p.maxAttempts > 0 ? String(p.maxAttempts) : "",
    maxAge: durationValue(Number(p.maxAgeMs), AGE_UNITS, "d"),
    headers: p.headers.map((h) => ({ name: h.name, value: "", stored: h.name })),
    unverified: p.unverified === UnverifiedRule.HOLD ? "hold" : p.unverified === UnverifiedRule.DROP ? "drop" : "deliver",
  };
}

/** A typed number: undefined when blank, NaN when not a plain non-negative decimal. */
function amountOf(text: string): number | undefined {
  const t = text.trim();
  if (!t) return undefined;
  return /^\d+(\.\d+)?$/.test(t) ? Number(t) : Number.NaN;
}

/** A typed duration in whole ms: undefined when blank, NaN when unreadable. */
export function durationMs(d: DurationValue): number | undefined {
  const amount = amountOf(d.amount);
  return amount === undefined ? undefined : Math.round(amount * UNIT_MS[d.unit]);
}

/** Header names the hub sets itself (as the edge refuses them). */
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
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A row nobody filled in (a new one left blank): left out, not an error. */
const isBlankRow = (r: HeaderRow) => !r.stored && !r.name.trim() && !r.value;

/** Whether a row keeps its stored value: nothing typed, and still under the name it is stored under. */
export const keepsStoredValue = (r: HeaderRow): boolean => r.stored !== undefined && r.value === "" && r.name.trim().toLowerCase() === r.stored.toLowerCase();

/** A duration in words: "850 ms", "5 s", "90 min", "36 h", "1 day", "7 days" (the largest unit that holds it whole). */
export function formatMs(ms: number): string {
  const { amount, unit } = durationValue(ms, ["ms", "s", "min", "h", "d"], "ms");
  if (unit === "d") return `${amount} day${amount === "1" ? "" : "s"}`;
  return `${amount} ${unit}`;
}

/**
 * The policy as the edge takes it: every field the form sets, zero for the blank ones (the
 * default), a stored header's value as {@link REDACTED} when it is kept. Assumes
 * {@link validatePolicy} passed.
 */
export function policyInput(values: PolicyFormValues): MessageInitShape<typeof DeliveryPolicySchema> {
  const concurrent = values.ordering === "concurrent";
  return {
    ordering: concurrent ? Ordering.CONCURRENT : Ordering.STRICT,
    concurrency: concurrent ? (amountOf(values.concurrency) ?? POLICY_LIMITS.concurrency.default) : 0,
    timeoutMs: durationMs(values.timeout) ?? 0,
    maxAttempts: amountOf(values.maxAttempts) ?? 0,
    maxAgeMs: BigInt(durationMs(values.maxAge) ?? 0),
    headers: values.headers.filter((r) => !isBlankRow(r)).map((r) => ({ name: r.name.trim(), value: keepsStoredValue(r) ? REDACTED : r.value })),
    unverified: UNVERIFIED_WIRE[values.unverified],
  };
}

type PolicyInit = ReturnType<typeof policyInput>;

/** The fields that say what a policy does, comparable with `===` after JSON. */
const essence = (p: PolicyInit) =>
  JSON.stringify([
    p.ordering,
    p.ordering === Ordering.CONCURRENT ? p.concurrency : 0,
    p.timeoutMs,
    p.maxAttempts,
    String(p.maxAgeMs),
    (p.headers ?? []).map((h) => [h.name, h.value]),
    p.unverified,
  ]);

/** Whether the form says "the default policy" (what a reset gives). */
export function isDefaultPolicy(values: PolicyFormValues): boolean {
  return essence(policyInput(values)) === essence(policyInput(defaultPolicyForm()));
}

/** The limits UpdateDestination's `clear_policy_fields` takes back to their default, by wire name. */
export type ClearableLimit = "timeout_ms" | "max_attempts" | "max_age_ms";

/**
 * The limits the destination has (timeout, max attempts, max age) that the form leaves blank: the
 * edge keeps a field sent as zero, so these go in `clearPolicyFields` instead (in the same call,
 * stored header values kept).
 */
export function clearedLimits(current: DeliveryPolicy | undefined, values: PolicyFormValues): ClearableLimit[] {
  const now = policyInput(policyFormValues(current));
  const next = policyInput(values);
  const cleared: ClearableLimit[] = [];
  if (now.timeoutMs && !next.timeoutMs) cleared.push("timeout_ms");
  if (now.maxAttempts && !next.maxAttempts) cleared.push("max_attempts");
  if (now.maxAgeMs && !next.maxAgeMs) cleared.push("max_age_ms");
  return cleared;
}

/**
 * Checks what the edge would refuse (its messages start "policy:"), so the person learns it next
 * to the field. A stored header left blank under its name is kept (sent as {@link REDACTED}).
 */
export function validatePolicy(values: PolicyFormValues): PolicyFormErrors {
  const errors: PolicyFormErrors = {};
  if (values.ordering === "concurrent") {
    const n = amountOf(values.concurrency);
    const { min, max } = POLICY_LIMITS.concurrency;
    if (n === undefined || !Number.isInteger(n) || n < min || n > max) errors.concurrency = `Enter how many at once: a whole number from ${min} to ${max}.`;
  }
  const timeout = durationMs(values.timeout);
  if (timeout !== undefined && (Number.isNaN(timeout) || timeout < POLICY_LIMITS.timeoutMs.min || timeout > POLICY_LIMITS.timeoutMs.max)) {
    errors.timeout = "Enter a timeout from 100 ms to 10 minutes, or leave it blank for the hub's.";
  }
  const attempts = amountOf(values.maxAttempts);
  const { min: minAttempts, max: maxAttempts } = POLICY_LIMITS.maxAttempts;
  if (attempts !== undefined && (!Number.isInteger(attempts) || attempts < minAttempts || attempts > maxAttempts)) {
    errors.maxAttempts = `Enter a whole number from ${minAttempts} to ${maxAttempts}, or leave it blank for no limit.`;
  }
  const age = durationMs(values.maxAge);
  if (age !== undefined && (Number.isNaN(age) || age < POLICY_LIMITS.maxAgeMs.min || age > POLICY_LIMITS.maxAgeMs.max)) {
    errors.maxAge = "Enter an age from 1 minute to 90 days, or leave it blank for the edge's.";
  }

  const rows = values.headers.map((r, i) => ({ r, i })).filter(({ r }) => !isBlankRow(r));
  if (rows.length > POLICY_LIMITS.headers) errors.headers = `A destination adds at most ${POLICY_LIMITS.headers} headers.`;
  const seen = new Set<string>();
  const rowErrors: NonNullable<PolicyFormErrors["headerRows"]> = {};
  for (const { r, i } of rows) {
    const e: { name?: string; value?: string } = {};
    const name = r.name.trim();
    const lower = name.toLowerCase();
    if (!name) e.name = "Name the header.";
    else if (!HEADER_NAME.test(name)) e.name = "Not a header name: letters, digits and - (no spaces or colons).";
    else if (RESERVED_HEADERS.has(lower) || lower.startsWith("x-hookly-")) e.name = `The hub sets ${name} itself.`;
    else if (seen.has(lower)) e.name = `${name} is given twice.`;
    seen.add(lower);
    if (keepsStoredValue(r)) {
      // note: nothing typed under its stored name: the stored value is kept.
    } else if (r.value === "") {
      e.value = r.stored ? `Type its value: the stored one belongs to ${r.stored}.` : "Type its value.";
    } else if (r.value === REDACTED) {
      e.value = `${REDACTED} is how the edge shows a stored value: type the real one.`;
    } else if (r.value.length > POLICY_LIMITS.headerValueLength) {
      e.value = `Keep the value to ${POLICY_LIMITS.headerValueLength} characters.`;
    } else if (/[\r\n\0]/.test(r.value)) {
      e.value = "Keep the value on one line.";
    }
    if (e.name || e.value) rowErrors[i] = e;
  }
  if (Object.keys(rowErrors).length > 0) errors.headerRows = rowErrors;
  return errors;
}

/** Whether {@link validatePolicy} found nothing. */
export const policyValid = (errors: PolicyFormErrors): boolean => Object.keys(errors).length === 0;

/** The policy part of one UpdateDestination request; empty when the policy stays as it is. */
export interface PolicyChange {
  /** The fields to change; zero ones keep theirs. Headers, when given, replace the list. */
  policy?: MessageInitShape<typeof DeliveryPolicySchema>;
  /** Back to the default policy (the request's other policy fields are then ignored): only when the form is the default. */
  resetPolicy?: boolean;
  /** Remove every header. */
  clearPolicyHeaders?: boolean;
  /** Limits back to their default, keeping everything else (see {@link clearedLimits}). */
  clearPolicyFields?: ClearableLimit[];
}

/**
 * The policy part of the one UpdateDestination request that turns `current` into the form's
 * values: nothing when nothing changed; a reset when the form is the default ("Reset to
 * defaults"); else only the fields that changed, the limits left blank in `clearPolicyFields`,
 * the whole header list when it changed (kept values as {@link REDACTED}), or
 * `clearPolicyHeaders` when the list was emptied.
 */
export function policyChange(current: DeliveryPolicy | undefined, values: PolicyFormValues): PolicyChange {
  const now = policyInput(policyFormValues(current));
  const next = policyInput(values);
  if (essence(now) === essence(next)) return {};
  if (isDefaultPolicy(values)) return { resetPolicy: true };
  const policy: MessageInitShape<typeof DeliveryPolicySchema> = {};
  if (next.ordering !== now.ordering) policy.ordering = next.ordering;
  if (next.ordering === Ordering.CONCURRENT && (next.ordering !== now.ordering || next.concurrency !== now.concurrency)) {
    policy.concurrency = next.concurrency;
  }
  // note: a limit left blank is never sent as zero (the edge would keep it): clearedLimits names it instead.
  if (next.timeoutMs && next.timeoutMs !== now.timeoutMs) policy.timeoutMs = next.timeoutMs;
  if (next.maxAttempts && next.maxAttempts !== now.maxAttempts) policy.maxAttempts = next.maxAttempts;
  if (next.maxAgeMs && next.maxAgeMs !== now.maxAgeMs) policy.maxAgeMs = next.maxAgeMs;
  if (next.unverified !== now.unverified) policy.unverified = next.unverified;
  const headers = next.headers ?? [];
  const headersChanged = JSON.stringify(headers) !== JSON.stringify(now.headers ?? []);
  if (headersChanged && headers.length > 0) policy.headers = headers;
  const change: PolicyChange = {};
  if (Object.keys(policy).length > 0) change.policy = policy;
  if (headersChanged && headers.length === 0) change.clearPolicyHeaders = true;
  const cleared = clearedLimits(current, values);
  if (cleared.length > 0) change.clearPolicyFields = cleared;
  return change;
}

/**
 * A policy in a few words for a destination's row: "Concurrent ×4", "timeout 5 s", "max 5 attempts",
 * "max age 2 days", "holds unverified", "2 headers"; the default is "Strict order" alone.
 */
export function policySummary(p: DeliveryPolicy | undefined): string[] {
  if (!p) return ["Strict order"];
  const parts = [p.ordering === Ordering.CONCURRENT ? `Concurrent ×${p.concurrency}` : "Strict order"];
  if (p.timeoutMs > 0) parts.push(`timeout ${formatMs(p.timeoutMs)}`);
  if (p.maxAttempts > 0) parts.push(`max ${p.maxAttempts} attempt${p.maxAttempts === 1 ? "" : "s"}`);
  if (p.maxAgeMs > 0n) parts.push(`max age ${formatMs(Number(p.maxAgeMs))}`);
  if (p.unverified === UnverifiedRule.HOLD) parts.push("holds unverified");
  if (p.unverified === UnverifiedRule.DROP) parts.push("drops unverified");
  if (p.headers.length > 0) parts.push(`${p.headers.length} header${p.headers.length === 1 ? "" : "s"}`);
  return parts;
}
