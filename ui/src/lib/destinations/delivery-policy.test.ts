import { create } from "@bufbuild/protobuf";
import { DeliveryPolicySchema, DestinationSchema, Ordering, UnverifiedRule } from "@hookly/proto/gen/admin_pb";
import { describe, expect, it } from "vitest";
import {
  REDACTED,
  defaultPolicyForm,
  durationMs,
  durationValue,
  clearedLimits,
  formatMs,
  isDefaultPolicy,
  policyChange,
  policyFormValues,
  policyInput,
  policySummary,
  validatePolicy,
  AGE_UNITS,
  TIMEOUT_UNITS,
  type PolicyFormValues,
} from "./delivery-policy";
import { createInput, destinationValues, updateRequest } from "./destination-form";

/** A policy as the edge shows it: header values redacted. */
const shown = create(DeliveryPolicySchema, {
  ordering: Ordering.CONCURRENT,
  concurrency: 8,
  timeoutMs: 5_000,
  maxAttempts: 3,
  maxAgeMs: 2n * 86_400_000n,
  headers: [
    { name: "Authorization", value: REDACTED },
    { name: "X-Source", value: REDACTED },
  ],
  unverified: UnverifiedRule.HOLD,
});
const DEFAULT = create(DeliveryPolicySchema, { ordering: Ordering.STRICT, concurrency: 1, unverified: UnverifiedRule.DELIVER });

const form = (over: Partial<PolicyFormValues> = {}): PolicyFormValues => ({ ...defaultPolicyForm(), ...over });

describe("durations in human units", () => {
  it.each([
    [5_000, TIMEOUT_UNITS, { amount: "5", unit: "s" }],
    [1_500, TIMEOUT_UNITS, { amount: "1500", unit: "ms" }],
    [120_000, TIMEOUT_UNITS, { amount: "2", unit: "min" }],
    [5_400_000, AGE_UNITS, { amount: "90", unit: "min" }],
    [129_600_000, AGE_UNITS, { amount: "36", unit: "h" }],
    [7 * 86_400_000, AGE_UNITS, { amount: "7", unit: "d" }],
    [0, AGE_UNITS, { amount: "", unit: "d" }],
  ] as const)("%d ms is shown in the largest unit that holds it whole", (ms, units, expected) => {
    expect(durationValue(ms, units, "d")).toEqual(expected);
  });

  it("reads what was typed into whole ms: blank is the default, anything else unreadable", () => {
    expect(durationMs({ amount: "1.5", unit: "h" })).toBe(5_400_000);
    expect(durationMs({ amount: " 0.5 ", unit: "s" })).toBe(500);
    expect(durationMs({ amount: "", unit: "d" })).toBeUndefined();
    expect(durationMs({ amount: "-1", unit: "s" })).toBeNaN();
    expect(durationMs({ amount: "1e3", unit: "s" })).toBeNaN();
  });

  it("says a span in words", () => {
    expect([850, 5_000, 90 * 60_000, 36 * 3_600_000, 86_400_000, 7 * 86_400_000].map(formatMs)).toEqual(["850 ms", "5 s", "90 min", "36 h", "1 day", "7 days"]);
  });
});

describe("the policy form ⇄ DeliveryPolicy", () => {
  it("reads a policy into the form: stored headers without their values", () => {
    expect(policyFormValues(shown)).toEqual({
      ordering: "concurrent",
      concurrency: "8",
      timeout: { amount: "5", unit: "s" },
      maxAttempts: "3",
      maxAge: { amount: "2", unit: "d" },
      headers: [
        { name: "Authorization", value: "", stored: "Authorization" },
        { name: "X-Source", value: "", stored: "X-Source" },
      ],
      unverified: "hold",
    });
    expect(policyFormValues(undefined)).toEqual(defaultPolicyForm());
    expect(policyFormValues(DEFAULT)).toEqual(defaultPolicyForm());
  });

  it("gives back the same policy, each stored value kept as [redacted]", () => {
    expect(create(DeliveryPolicySchema, policyInput(policyFormValues(shown)))).toEqual(shown);
  });

  it("sends blank limits as zero (the default) and strict with no concurrency", () => {
    expect(policyInput(form({ concurrency: "12" }))).toEqual({
      ordering: Ordering.STRICT,
      concurrency: 0,
      timeoutMs: 0,
      maxAttempts: 0,
      maxAgeMs: 0n,
      headers: [],
      unverified: UnverifiedRule.DELIVER,
    });
    expect(policyInput(form({ ordering: "concurrent", concurrency: "12", maxAge: { amount: "90", unit: "min" } }))).toMatchObject({
      ordering: Ordering.CONCURRENT,
      concurrency: 12,
      maxAgeMs: 5_400_000n,
    });
  });

  it("creates a destination with its policy", () => {
    const values = { ...destinationValues(create(DestinationSchema, { hubId: "hub_1", url: "http://nas.lan/" })), url: "http://nas.lan/" };
    values.policy = form({ unverified: "drop", headers: [{ name: "Authorization", value: "Bearer x" }] });
    expect(createInput(values).policy).toMatchObject({ unverified: UnverifiedRule.DROP, headers: [{ name: "Authorization", value: "Bearer x" }] });
  });
});

describe("the redacted-header rule", () => {
  const stored = policyFormValues(shown);

  it("keeps a stored value left blank, under its name (in any case), and sends a typed one", () => {
    const rows = [
      { name: "authorization", value: "", stored: "Authorization" },
      { name: "X-Source", value: "hookly", stored: "X-Source" },
      { name: "X-New", value: "new" },
    ];
    expect(validatePolicy({ ...stored, headers: rows })).toEqual({});
    expect(policyInput({ ...stored, headers: rows }).headers).toEqual([
      { name: "authorization", value: REDACTED },
      { name: "X-Source", value: "hookly" },
      { name: "X-New", value: "new" },
    ]);
  });

  it("wants a value for a renamed stored header, a new one, and never [redacted] typed in", () => {
    const errors = validatePolicy({
      ...stored,
      headers: [
        { name: "X-Token", value: "", stored: "Authorization" },
        { name: "X-New", value: "" },
        { name: "X-Other", value: REDACTED },
      ],
    });
    expect(errors.headerRows?.[0]?.value).toMatch(/stored one belongs to Authorization/);
    expect(errors.headerRows?.[1]?.value).toBe("Type its value.");
    expect(errors.headerRows?.[2]?.value).toMatch(/type the real one/);
  });

  it("leaves out a new row nobody filled in", () => {
    const values = form({ headers: [{ name: "", value: "" }] });
    expect(validatePolicy(values)).toEqual({});
    expect(policyInput(values).headers).toEqual([]);
  });

  it.each([
    ["a name with a space", "X Token", /Not a header name/],
    ["a name with a colon", "X-Token:", /Not a header name/],
    ["a header the hub sets", "Content-Length", /hub sets Content-Length/],
    ["an x-hookly- header", "X-Hookly-Webhook-Id", /hub sets/],
  ])("refuses %s", (_, name, message) => {
    expect(validatePolicy(form({ headers: [{ name, value: "v" }] })).headerRows?.[0]?.name).toMatch(message);
  });

  it("refuses a name twice (in any case) and more than 20 headers", () => {
    const twice = validatePolicy(
      form({
        headers: [
          { name: "X-A", value: "1" },
          { name: "x-a", value: "2" },
        ],
      }),
    );
    expect(twice.headerRows?.[1]?.name).toMatch(/given twice/);
    expect(twice.headerRows?.[0]).toBeUndefined();
    const many = form({ headers: Array.from({ length: 21 }, (_, i) => ({ name: `X-${i}`, value: "v" })) });
    expect(validatePolicy(many).headers).toMatch(/at most 20/);
  });
});

describe("what the edge would refuse", () => {
  it.each([
    ["concurrency 1", { ordering: "concurrent", concurrency: "1" }, "concurrency"],
    ["concurrency 65", { ordering: "concurrent", concurrency: "65" }, "concurrency"],
    ["concurrency blank", { ordering: "concurrent", concurrency: "" }, "concurrency"],
    ["a timeout of 50 ms", { timeout: { amount: "50", unit: "ms" } }, "timeout"],
    ["a timeout of 11 minutes", { timeout: { amount: "11", unit: "min" } }, "timeout"],
    ["a timeout of 'soon'", { timeout: { amount: "soon", unit: "s" } }, "timeout"],
    ["0 attempts", { maxAttempts: "0" }, "maxAttempts"],
    ["1.5 attempts", { maxAttempts: "1.5" }, "maxAttempts"],
    ["1001 attempts", { maxAttempts: "1001" }, "maxAttempts"],
    ["a maximum age of 30 s (0.5 min)", { maxAge: { amount: "0.5", unit: "min" } }, "maxAge"],
    ["a maximum age of 91 days", { maxAge: { amount: "91", unit: "d" } }, "maxAge"],
  ] as const)("%s", (_, over, field) => {
    expect(Object.keys(validatePolicy(form(over as Partial<PolicyFormValues>)))).toEqual([field]);
  });

  it.each([
    ["strict, whatever the concurrency field says", [{ concurrency: "999" }]],
    [
      "concurrent ×2 and ×64",
      [
        { ordering: "concurrent", concurrency: "2" },
        { ordering: "concurrent", concurrency: "64" },
      ],
    ],
    ["a timeout of 100 ms and of 10 minutes", [{ timeout: { amount: "100", unit: "ms" } }, { timeout: { amount: "10", unit: "min" } }]],
    ["1 and 1000 attempts", [{ maxAttempts: "1" }, { maxAttempts: "1000" }]],
    ["a maximum age of 1 minute and of 90 days", [{ maxAge: { amount: "1", unit: "min" } }, { maxAge: { amount: "90", unit: "d" } }]],
  ] as const)("accepts %s", (_, overs) => {
    for (const over of overs) expect(validatePolicy(form(over as Partial<PolicyFormValues>))).toEqual({});
  });
});

describe("what an update sends", () => {
  it("nothing when nothing changed", () => {
    expect(policyChange(shown, policyFormValues(shown))).toEqual({});
    expect(policyChange(undefined, defaultPolicyForm())).toEqual({});
    expect(policyChange(DEFAULT, defaultPolicyForm())).toEqual({});
  });

  it("only the fields that changed", () => {
    const values = policyFormValues(shown);
    expect(policyChange(shown, { ...values, unverified: "drop" })).toEqual({ policy: { unverified: UnverifiedRule.DROP } });
    expect(policyChange(shown, { ...values, concurrency: "16", timeout: { amount: "30", unit: "s" } })).toEqual({
      policy: { concurrency: 16, timeoutMs: 30_000 },
    });
    expect(policyChange(shown, { ...values, ordering: "strict" })).toEqual({ policy: { ordering: Ordering.STRICT } });
    expect(policyChange(DEFAULT, form({ ordering: "concurrent" }))).toEqual({ policy: { ordering: Ordering.CONCURRENT, concurrency: 4 } });
  });

  it("the whole header list when it changed, kept values as [redacted]", () => {
    const values = policyFormValues(shown);
    const added = { ...values, headers: [...values.headers, { name: "X-New", value: "v" }] };
    expect(policyChange(shown, added)).toEqual({
      policy: {
        headers: [
          { name: "Authorization", value: REDACTED },
          { name: "X-Source", value: REDACTED },
          { name: "X-New", value: "v" },
        ],
      },
    });
    const removed = { ...values, headers: values.headers.slice(1) };
    expect(policyChange(shown, removed)).toEqual({ policy: { headers: [{ name: "X-Source", value: REDACTED }] } });
  });

  it("clear_policy_headers when every header was removed", () => {
    expect(policyChange(shown, { ...policyFormValues(shown), headers: [] })).toEqual({ clearPolicyHeaders: true });
  });

  it("a reset only when the form is back to the default (the reset button)", () => {
    expect(isDefaultPolicy(defaultPolicyForm())).toBe(true);
    expect(policyChange(shown, defaultPolicyForm())).toEqual({ resetPolicy: true });
  });

  it.each([
    ["the timeout", { timeout: { amount: "", unit: "s" } }, ["timeout_ms"]],
    ["max attempts", { maxAttempts: "" }, ["max_attempts"]],
    ["the max age", { maxAge: { amount: "", unit: "d" } }, ["max_age_ms"]],
    ["all three", { timeout: { amount: "", unit: "s" }, maxAttempts: " ", maxAge: { amount: "", unit: "h" } }, ["timeout_ms", "max_attempts", "max_age_ms"]],
  ] as const)("takes %s off in the same call with clear_policy_fields, no reset, stored header values kept untyped", (_, over, fields) => {
    const values = { ...policyFormValues(shown), ...over } as PolicyFormValues;
    expect(clearedLimits(shown, values)).toEqual(fields);
    // The stored values need not be typed again.
    expect(validatePolicy(values)).toEqual({});
    expect(policyChange(shown, values)).toEqual({ clearPolicyFields: fields });
  });

  it("clears a limit next to other changes, never sending it as zero", () => {
    const values = policyFormValues(shown);
    const change = policyChange(shown, {
      ...values,
      maxAttempts: "",
      unverified: "deliver",
      headers: [...values.headers, { name: "X-New", value: "v" }],
    });
    expect(change).toEqual({
      policy: {
        unverified: UnverifiedRule.DELIVER,
        headers: [
          { name: "Authorization", value: REDACTED },
          { name: "X-Source", value: REDACTED },
          { name: "X-New", value: "v" },
        ],
      },
      clearPolicyFields: ["max_attempts"],
    });
    expect(change.resetPolicy).toBeUndefined();
    expect(clearedLimits(shown, { ...values, maxAttempts: "5" })).toEqual([]);
    expect(clearedLimits(undefined, values)).toEqual([]);
  });

  it("joins the policy to the destination's other changes in one request", () => {
    const d = create(DestinationSchema, { id: "dst_1", hubId: "hub_1", url: "http://nas.lan/", name: "NAS", enabled: true, policy: shown });
    const values = destinationValues(d);
    expect(updateRequest(d, values)).toBeUndefined();
    expect(updateRequest(d, { ...values, name: "Backup", policy: { ...values.policy, unverified: "deliver" } })).toEqual({
      name: "Backup",
      policy: { unverified: UnverifiedRule.DELIVER },
    });
    expect(updateRequest(d, { ...values, muted: true, policy: { ...values.policy, timeout: { amount: "", unit: "s" }, headers: [] } })).toEqual({
      muted: true,
      clearPolicyHeaders: true,
      clearPolicyFields: ["timeout_ms"],
    });
    expect(updateRequest(d, { ...values, policy: defaultPolicyForm() })).toEqual({ resetPolicy: true });
  });
});

describe("a policy in a few words", () => {
  it("names only what differs from the default", () => {
    expect(policySummary(undefined)).toEqual(["Strict order"]);
    expect(policySummary(DEFAULT)).toEqual(["Strict order"]);
    expect(policySummary(shown).join(" · ")).toBe("Concurrent ×8 · timeout 5 s · max 3 attempts · max age 2 days · holds unverified · 2 headers");
    expect(
      policySummary(
        create(DeliveryPolicySchema, { ordering: Ordering.STRICT, maxAttempts: 1, headers: [{ name: "A", value: REDACTED }], unverified: UnverifiedRule.DROP }),
      ),
    ).toEqual(["Strict order", "max 1 attempt", "drops unverified", "1 header"]);
  });
});
