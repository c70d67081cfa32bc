// Unit tests for destination.filter.ts: event types per provider convention (with
// realistic Stripe, GitHub and Telegram payloads), the JSON body guard, pattern
// matching, JSON paths, filter verdicts and the validation of filters from the API.
import { describe, expect, it } from "vitest";
import { AppError } from "../errors.js";
import type { ProviderType } from "../verify/verify.service.js";
import {
  type DestinationFilter,
  EVENT_TYPE_MAX,
  type FilterValue,
  PARSE_LIMIT_BYTES,
  checkFilter,
  eventTypeMatches,
  eventTypeOf,
  filterVerdict,
  lazyJson,
  parseJsonPath,
} from "./destination.filter.js";

// --- payloads ----------------------------------------------------------------

const stripeInvoicePaid = {
  id: "evt_1NG8Du2eZvKYlo2CUI79vXWy",
  object: "event",
  api_version: "2024-06-20",
  created: 1_718_030_400,
  data: {
    object: {
      id: "in_1NG8Dt2eZvKYlo2CkX1mE3Qd",
      object: "invoice",
      amount_due: 2000,
      amount_paid: 2000,
      currency: "usd",
      customer: "cus_Q8aZ1wS3mYhTqN",
      paid: true,
      status: "paid",
      discount: null,
      lines: { object: "list", data: [{ id: "il_1NG8Dt2eZvKYlo2C", amount: 2000, price: { id: "price_1Mr6Zu2eZvKYlo2C" } }] },
    },
  },
  livemode: false,
  pending_webhooks: 1,
  request: { id: null, idempotency_key: null },
  type: "invoice.paid",
};

const githubPush = {
  ref: "refs/heads/main",
  before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
  after: "76ae82c7b1a177c8d03f9e96e0adf2466113728f",
  repository: { id: 1296269, full_name: "octocat/Hello-World", private: false, default_branch: "main" },
  pusher: { name: "octocat", email: "octocat@github.com" },
  sender: { login: "octocat", id: 1, type: "User" },
  commits: [
    {
      id: "76ae82c7b1a177c8d03f9e96e0adf2466113728f",
      message: "Fix the README",
      timestamp: "2024-06-10T14:00:00Z",
      author: { name: "The Octocat", email: "octocat@github.com", username: "octocat" },
      added: [],
      removed: [],
      modified: ["README.md"],
    },
  ],
  head_commit: { id: "76ae82c7b1a177c8d03f9e96e0adf2466113728f", message: "Fix the README" },
};

const githubIssueOpened = {
  action: "opened",
  issue: {
    id: 1,
    number: 1347,
    title: "Found a bug",
    state: "open",
    user: { login: "octocat", id: 1 },
    labels: [{ id: 208045946, name: "bug", color: "f29513" }],
    body: "I'm having a problem with this.",
  },
  repository: { id: 1296269, full_name: "octocat/Hello-World" },
  sender: { login: "octocat", id: 1, type: "User" },
};

const githubPing = { zen: "Keep it logically awesome.", hook_id: 12345678, hook: { type: "Repository", events: ["push", "issues"] } };

const telegramMessage = {
  update_id: 10000,
  message: {
    message_id: 1365,
    from: { id: 1111111, is_bot: false, first_name: "Ada", username: "ada", language_code: "en" },
    chat: { id: -1001234567890, title: "Hookly ops", type: "supergroup" },
    date: 1_718_030_400,
    text: "/status",
  },
};

const telegramCallbackQuery = {
  update_id: 10001,
  callback_query: {
    id: "4382bfdwdsb323b2d9",
    from: { id: 1111111, is_bot: false, first_name: "Ada" },
    message: { message_id: 1366, chat: { id: -1001234567890, type: "supergroup" }, date: 1_718_030_460, text: "Mute endpoint?" },
    chat_instance: "-7463573526462574648",
    data: "mute:ep_01J0",
  },
};

const telegramEditedMessage = {
  update_id: 10002,
  edited_message: {
    message_id: 1365,
    from: { id: 1111111, is_bot: false, first_name: "Ada" },
    chat: { id: -1001234567890, type: "supergroup" },
    date: 1_718_030_400,
    edit_date: 1_718_030_500,
    text: "/status all",
  },
};

const standardWebhook = { type: "user.created", timestamp: "2024-06-10T14:00:00Z", data: { id: "usr_2Qk", email: "ada@example.com" } };

// --- helpers -----------------------------------------------------------------

const bytes = (s: string): Uint8Array => Buffer.from(s, "utf8");
const json = (v: unknown): Uint8Array => bytes(JSON.stringify(v));

/** Case-insensitive like the ingest's header lookup. */
function headers(h: Record<string, string> = {}): (name: string) => string | undefined {
  const map = new Map(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => map.get(name.toLowerCase());
}

function typeOf(provider: ProviderType, body: Uint8Array, h: Record<string, string> = {}, eventTypeHeader?: string | null): string | null {
  return eventTypeOf({ provider, header: headers(h), json: lazyJson(body), eventTypeHeader });
}

/** A JSON object of exactly `size` bytes with `type` set. */
function paddedStripeEvent(size: number): Uint8Array {
  const head = `{"type":"invoice.paid","pad":"`;
  const tail = `"}`;
  return bytes(head + "x".repeat(size - head.length - tail.length) + tail);
}

function appError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected an AppError, nothing was thrown");
}

const never = (): unknown => {
  throw new Error("the body must not be parsed");
};

// --- tests -------------------------------------------------------------------

describe("eventTypeOf: stripe", () => {
  it("is the event's type", () => {
    expect(typeOf("stripe", json(stripeInvoicePaid))).toBe("invoice.paid");
  });

  it("is null for an object without a type", () => {
    expect(typeOf("stripe", json({ ...stripeInvoicePaid, type: undefined }))).toBeNull();
  });

  it("is null when the type is not a string", () => {
    expect(typeOf("stripe", json({ ...stripeInvoicePaid, type: 42 }))).toBeNull();
  });

  it("is null for an empty type", () => {
    expect(typeOf("stripe", json({ ...stripeInvoicePaid, type: "   " }))).toBeNull();
  });

  it("trims the type", () => {
    expect(typeOf("stripe", json({ ...stripeInvoicePaid, type: "  invoice.paid\n" }))).toBe("invoice.paid");
  });

  it("clips a long type to EVENT_TYPE_MAX characters", () => {
    const long = `x.${"a".repeat(300)}`;
    expect(typeOf("stripe", json({ type: long }))).toBe(long.slice(0, EVENT_TYPE_MAX));
  });

  it("ignores a type header: Stripe puts it in the body", () => {
    expect(typeOf("stripe", json({ id: "evt_1" }), { type: "invoice.paid" })).toBeNull();
  });
});

describe("eventTypeOf: github", () => {
  it("is X-GitHub-Event plus the payload's action", () => {
    expect(typeOf("github", json(githubIssueOpened), { "X-GitHub-Event": "issues" })).toBe("issues.opened");
  });

  it("is X-GitHub-Event alone for a push, which has no action", () => {
    expect(typeOf("github", json(githubPush), { "X-GitHub-Event": "push" })).toBe("push");
  });

  it("is X-GitHub-Event alone for a ping", () => {
    expect(typeOf("github", json(githubPing), { "X-GitHub-Event": "ping" })).toBe("ping");
  });

  it("is null without the X-GitHub-Event header, whatever the body", () => {
    expect(typeOf("github", json(githubIssueOpened))).toBeNull();
  });

  it("is null for a blank X-GitHub-Event header", () => {
    expect(typeOf("github", json(githubIssueOpened), { "X-GitHub-Event": "  " })).toBeNull();
  });

  it("ignores an empty action", () => {
    expect(typeOf("github", json({ ...githubIssueOpened, action: "" }), { "X-GitHub-Event": "issues" })).toBe("issues");
  });

  it("ignores an action that is not a string", () => {
    expect(typeOf("github", json({ ...githubIssueOpened, action: { name: "opened" } }), { "X-GitHub-Event": "issues" })).toBe("issues");
  });

  it("a form-encoded delivery (not JSON) gives the event without its action", () => {
    const form = bytes(`payload=${encodeURIComponent(JSON.stringify(githubIssueOpened))}`);
    expect(typeOf("github", form, { "X-GitHub-Event": "issues" })).toBe("issues");
  });

  it("clips event plus action to EVENT_TYPE_MAX characters", () => {
    const got = typeOf("github", json({ action: "a".repeat(300) }), { "X-GitHub-Event": "workflow_run" });
    expect(got).toBe(`workflow_run.${"a".repeat(300)}`.slice(0, EVENT_TYPE_MAX));
  });
});

describe("eventTypeOf: telegram", () => {
  const cases: { name: string; update: unknown; want: string | null }[] = [
    { name: "a message", update: telegramMessage, want: "message" },
    { name: "a callback query", update: telegramCallbackQuery, want: "callback_query" },
    { name: "an edited message", update: telegramEditedMessage, want: "edited_message" },
    {
      name: "a channel post",
      update: { update_id: 10003, channel_post: { message_id: 7, chat: { id: -100987, type: "channel" }, date: 1, text: "hi" } },
      want: "channel_post",
    },
    { name: "the kind before update_id", update: { message: telegramMessage.message, update_id: 10004 }, want: "message" },
    { name: "an update with only its id", update: { update_id: 10005 }, want: null },
    {
      name: "scalar fields are not a kind",
      update: { update_id: 10006, note: "x", callback_query: telegramCallbackQuery.callback_query },
      want: "callback_query",
    },
    { name: "an array of updates (getUpdates shape)", update: [telegramMessage], want: null },
  ];
  it.each(cases)("$name → $want", ({ update, want }) => {
    expect(typeOf("telegram", json(update))).toBe(want);
  });

  it("is null for a body that is not JSON", () => {
    expect(typeOf("telegram", bytes("update_id=1&message=hi"))).toBeNull();
  });
});

describe("eventTypeOf: generic", () => {
  it("is the JSON body's type (Standard Webhooks)", () => {
    expect(typeOf("generic", json(standardWebhook))).toBe("user.created");
  });

  it("is the named header when the endpoint names one", () => {
    expect(typeOf("generic", json(standardWebhook), { "X-Event-Type": " order.shipped " }, "X-Event-Type")).toBe("order.shipped");
  });

  it("with a named header, the body's type is not consulted", () => {
    expect(typeOf("generic", json(standardWebhook), {}, "X-Event-Type")).toBeNull();
  });

  it("a named header works for a body that is not JSON", () => {
    expect(typeOf("generic", bytes("<xml/>"), { "X-Event-Type": "order.shipped" }, "x-event-type")).toBe("order.shipped");
  });

  it("a null header name falls back to the body's type", () => {
    expect(typeOf("generic", json(standardWebhook), { "X-Event-Type": "order.shipped" }, null)).toBe("user.created");
  });

  it("is null for a JSON body without a type", () => {
    expect(typeOf("generic", json({ data: { id: 1 } }))).toBeNull();
  });

  it("clips a long header value to EVENT_TYPE_MAX characters", () => {
    expect(typeOf("generic", bytes(""), { "X-Event-Type": "e".repeat(500) }, "X-Event-Type")).toBe("e".repeat(EVENT_TYPE_MAX));
  });
});

describe("lazyJson", () => {
  it("parses a JSON object", () => {
    expect(lazyJson(json(stripeInvoicePaid))()).toEqual(stripeInvoicePaid);
  });

  it("parses a JSON array", () => {
    expect(lazyJson(json([1, { a: 2 }]))()).toEqual([1, { a: 2 }]);
  });

  it("skips leading whitespace (space, tab, CR, LF)", () => {
    expect(lazyJson(bytes(` \t\r\n${JSON.stringify(standardWebhook)}`))()).toEqual(standardWebhook);
  });

  it("returns the same value on every call (parsed once)", () => {
    const body = lazyJson(json(stripeInvoicePaid));
    expect(body()).toBe(body());
  });

  it("parses only the bytes of a view into a larger buffer", () => {
    const pool = Buffer.from(`garbage${JSON.stringify(standardWebhook)}more garbage`);
    const view = pool.subarray(7, 7 + JSON.stringify(standardWebhook).length);
    expect(lazyJson(view)()).toEqual(standardWebhook);
  });

  it("parses UTF-8 text", () => {
    expect(lazyJson(json({ type: "café.créé" }))()).toEqual({ type: "café.créé" });
  });

  const notJson: { name: string; body: Uint8Array }[] = [
    { name: "an empty body", body: new Uint8Array() },
    { name: "whitespace only", body: bytes("  \n ") },
    { name: "a form-encoded body", body: bytes("type=invoice.paid&id=evt_1") },
    { name: "XML", body: bytes(`<?xml version="1.0"?><event type="invoice.paid"/>`) },
    { name: "a JSON string", body: bytes(`"invoice.paid"`) },
    { name: "a JSON number", body: bytes("42") },
    { name: "JSON null", body: bytes("null") },
    { name: "truncated JSON", body: bytes(`{"type":"invoice.paid"`) },
    { name: "an object with trailing garbage", body: bytes(`{"type":"invoice.paid"} x`) },
  ];
  it.each(notJson)("$name is not JSON", ({ body }) => {
    expect(lazyJson(body)()).toBeUndefined();
  });

  it("parses a body of exactly PARSE_LIMIT_BYTES", () => {
    expect(lazyJson(paddedStripeEvent(PARSE_LIMIT_BYTES))()).toMatchObject({ type: "invoice.paid" });
  });

  it("does not parse a body one byte over PARSE_LIMIT_BYTES", () => {
    expect(lazyJson(paddedStripeEvent(PARSE_LIMIT_BYTES + 1))()).toBeUndefined();
  });

  it("an oversized Stripe event has no event type", () => {
    expect(typeOf("stripe", paddedStripeEvent(PARSE_LIMIT_BYTES + 1))).toBeNull();
  });
});

describe("eventTypeMatches", () => {
  const cases: { pattern: string; eventType: string; want: boolean }[] = [
    { pattern: "*", eventType: "invoice.paid", want: true },
    { pattern: "*", eventType: "push", want: true },
    { pattern: "invoice.paid", eventType: "invoice.paid", want: true },
    { pattern: "invoice.paid", eventType: "invoice.payment_failed", want: false },
    { pattern: "invoice", eventType: "invoice.paid", want: true },
    { pattern: "issues", eventType: "issues.opened", want: true },
    { pattern: "customer.subscription", eventType: "customer.subscription.updated", want: true },
    { pattern: "invoice", eventType: "invoiceitem.created", want: false },
    { pattern: "issues", eventType: "issue_comment.created", want: false },
    { pattern: "issues.opened", eventType: "issues", want: false },
    { pattern: "invoice.*", eventType: "invoice.paid", want: true },
    { pattern: "invoice.*", eventType: "invoice", want: false },
    { pattern: "invoice*", eventType: "invoiceitem.created", want: true },
    { pattern: "invoice*", eventType: "invoice", want: true },
    { pattern: "pull_request*", eventType: "pull_request_review.submitted", want: true },
    { pattern: "invoice.*", eventType: "customer.created", want: false },
    { pattern: "Push", eventType: "push", want: false },
    { pattern: "message", eventType: "edited_message", want: false },
  ];
  it.each(cases)("$pattern vs $eventType → $want", ({ pattern, eventType, want }) => {
    expect(eventTypeMatches(pattern, eventType)).toBe(want);
  });
});

describe("parseJsonPath", () => {
  const valid: { path: string; want: (string | number)[] }[] = [
    { path: "$.data.object.status", want: ["data", "object", "status"] },
    { path: "data.object.status", want: ["data", "object", "status"] },
    { path: ".data", want: ["data"] },
    { path: "$data", want: ["data"] },
    { path: "  $.data.object.status  ", want: ["data", "object", "status"] },
    { path: "$.commits[0].author.username", want: ["commits", 0, "author", "username"] },
    { path: "$[2]", want: [2] },
    { path: "$.matrix[0][1]", want: ["matrix", 0, 1] },
    { path: "$.items[999999]", want: ["items", 999_999] },
    { path: `$["c d"]`, want: ["c d"] },
    { path: `$.headers["x-request-id"].value`, want: ["headers", "x-request-id", "value"] },
    { path: `$["a\\"b"]`, want: [`a"b`] },
    { path: `$["caf\\u00e9"]`, want: ["café"] },
    { path: `$["0"]`, want: ["0"] },
    { path: "$.x-ray_id", want: ["x-ray_id"] },
    { path: "$._links.self", want: ["_links", "self"] },
    { path: `$${".a".repeat(32)}`, want: Array(32).fill("a") },
  ];
  it.each(valid)("$path", ({ path, want }) => {
    expect(parseJsonPath(path)).toEqual(want);
  });

  const empty = ["", "   ", "$", " $ "];
  it.each(empty)("%j names no field", (path) => {
    const err = appError(() => parseJsonPath(path));
    expect([err.code, err.message]).toEqual(["invalid_argument", `json_path ${JSON.stringify(path)} names no field`]);
  });

  const malformed = [
    "$.a..b",
    "$.a.",
    "$.a b",
    "$.0",
    "$.items[x]",
    "$.items[-1]",
    "$.items[1234567]",
    "$.items[]",
    "a[0]b",
    `$["unterminated`,
    `$['single']`,
    "$$.a",
    "$.a/b",
    "@.a",
  ];
  it.each(malformed)("%j is not a path", (path) => {
    const err = appError(() => parseJsonPath(path));
    expect([err.code, err.message]).toEqual(["invalid_argument", `json_path ${JSON.stringify(path)} is not a path like $.data.object.status or $.items[0].id`]);
  });

  it("rejects a path deeper than 32 steps", () => {
    const err = appError(() => parseJsonPath(`$${".a".repeat(33)}`));
    expect([err.code, err.message]).toEqual(["invalid_argument", "json_path is deeper than 32 steps"]);
  });
});

describe("filterVerdict", () => {
  const stripe = () => lazyJson(json(stripeInvoicePaid));

  it("no filter keeps everything", () => {
    expect(filterVerdict(null, null, never)).toBeNull();
  });

  it("an empty filter keeps everything", () => {
    expect(filterVerdict({}, "invoice.paid", never)).toBeNull();
  });

  it("an empty event type list keeps any event type, even none", () => {
    expect(filterVerdict({ eventTypes: [] }, null, never)).toBeNull();
  });

  it("keeps a listed event type", () => {
    expect(filterVerdict({ eventTypes: ["invoice.paid"] }, "invoice.paid", never)).toBeNull();
  });

  it("keeps an event type any one pattern matches", () => {
    expect(filterVerdict({ eventTypes: ["customer.created", "invoice"] }, "invoice.paid", never)).toBeNull();
  });

  it("drops an event type no pattern matches, saying which", () => {
    expect(filterVerdict({ eventTypes: ["invoice.paid", "customer.*"] }, "charge.refunded", never)).toBe("event type charge.refunded is not in the filter");
  });

  it("drops a webhook with no event type when the filter lists some", () => {
    expect(filterVerdict({ eventTypes: ["push"] }, null, never)).toBe("no event type (the filter keeps only some)");
  });

  it("keeps when the value at the path equals the string", () => {
    expect(filterVerdict({ jsonPath: "$.data.object.status", equals: "paid" }, "invoice.paid", stripe())).toBeNull();
  });

  it("drops when the value at the path is another string", () => {
    expect(filterVerdict({ jsonPath: "$.data.object.status", equals: "open" }, "invoice.paid", stripe())).toBe(`$.data.object.status is not "open"`);
  });

  it("keeps when the value at the path equals the number", () => {
    expect(filterVerdict({ jsonPath: "$.data.object.amount_paid", equals: 2000 }, null, stripe())).toBeNull();
  });

  it('compares strictly: the string "2000" is not the number 2000', () => {
    expect(filterVerdict({ jsonPath: "$.data.object.amount_paid", equals: "2000" }, null, stripe())).toBe(`$.data.object.amount_paid is not "2000"`);
  });

  it("keeps when the value at the path is true", () => {
    expect(filterVerdict({ jsonPath: "$.data.object.paid", equals: true }, null, stripe())).toBeNull();
  });

  it("drops when the value at the path is not the boolean", () => {
    expect(filterVerdict({ jsonPath: "$.livemode", equals: true }, null, stripe())).toBe("$.livemode is not true");
  });

  it("keeps when the value at the path is null and equals is null", () => {
    expect(filterVerdict({ jsonPath: "$.request.idempotency_key", equals: null }, null, stripe())).toBeNull();
  });

  it("an absent equals means null", () => {
    expect(filterVerdict({ jsonPath: "$.data.object.discount" }, null, stripe())).toBeNull();
  });

  it("a missing path is not null", () => {
    expect(filterVerdict({ jsonPath: "$.data.object.refunded", equals: null }, null, stripe())).toBe("$.data.object.refunded is not null");
  });

  it("a missing path drops a string filter", () => {
    expect(filterVerdict({ jsonPath: "$.data.object.metadata.plan", equals: "pro" }, null, stripe())).toBe(`$.data.object.metadata.plan is not "pro"`);
  });

  it("an object at the path never equals a scalar", () => {
    expect(filterVerdict({ jsonPath: "$.data.object", equals: "invoice" }, null, stripe())).toBe(`$.data.object is not "invoice"`);
  });

  it("follows array indexes (a GitHub push's first commit author)", () => {
    const body = lazyJson(json(githubPush));
    expect(filterVerdict({ jsonPath: "$.commits[0].author.username", equals: "octocat" }, "push", body)).toBeNull();
  });

  it("an index past the end of the array is missing", () => {
    const body = lazyJson(json(githubPush));
    expect(filterVerdict({ jsonPath: "$.commits[1].author.username", equals: "octocat" }, "push", body)).toBe(`$.commits[1].author.username is not "octocat"`);
  });

  it("an index into an object is missing", () => {
    const body = lazyJson(json(githubPush));
    expect(filterVerdict({ jsonPath: "$.repository[0]", equals: null }, "push", body)).toBe("$.repository[0] is not null");
  });

  it("a key into an array is missing", () => {
    const body = lazyJson(json(githubPush));
    expect(filterVerdict({ jsonPath: "$.commits.length", equals: 1 }, "push", body)).toBe("$.commits.length is not 1");
  });

  it("a body that is not JSON has nothing at any path", () => {
    expect(filterVerdict({ jsonPath: "$.type", equals: "invoice.paid" }, null, lazyJson(bytes("type=invoice.paid")))).toBe(`$.type is not "invoice.paid"`);
  });

  it("event types and path both keep: a GitHub issue labelled bug", () => {
    const filter: DestinationFilter = { eventTypes: ["issues"], jsonPath: "$.issue.labels[0].name", equals: "bug" };
    expect(filterVerdict(filter, "issues.opened", lazyJson(json(githubIssueOpened)))).toBeNull();
  });

  it("event type kept but the path drops: a Telegram message from another chat", () => {
    const filter: DestinationFilter = { eventTypes: ["message"], jsonPath: "$.message.chat.id", equals: -1009999999999 };
    expect(filterVerdict(filter, "message", lazyJson(json(telegramMessage)))).toBe("$.message.chat.id is not -1009999999999");
  });

  it("event type kept and the path keeps: a Telegram message from the watched chat", () => {
    const filter: DestinationFilter = { eventTypes: ["message"], jsonPath: "$.message.chat.id", equals: -1001234567890 };
    expect(filterVerdict(filter, "message", lazyJson(json(telegramMessage)))).toBeNull();
  });

  it("the body is not parsed when the event type already drops the webhook", () => {
    const filter: DestinationFilter = { eventTypes: ["message"], jsonPath: "$.message.chat.id", equals: 1 };
    expect(filterVerdict(filter, "callback_query", never)).toBe("event type callback_query is not in the filter");
  });
});

describe("checkFilter", () => {
  it("no filter is null", () => {
    expect(checkFilter(undefined)).toBeNull();
  });

  it("a null filter is null", () => {
    expect(checkFilter(null)).toBeNull();
  });

  it("an empty filter is null", () => {
    expect(checkFilter({})).toBeNull();
  });

  it("blank event types only is null", () => {
    expect(checkFilter({ eventTypes: ["", "  "] })).toBeNull();
  });

  it("a blank json path without event types is null", () => {
    expect(checkFilter({ jsonPath: "   ", equals: null })).toBeNull();
  });

  it("event types are trimmed, blanks dropped, duplicates removed, order kept", () => {
    expect(checkFilter({ eventTypes: [" push ", "issues.opened", "push", "", "issues.opened "] })).toStrictEqual({ eventTypes: ["push", "issues.opened"] });
  });

  it("an event-type-only filter has no json path or equals", () => {
    expect(checkFilter({ eventTypes: ["invoice.*"], equals: null })).toStrictEqual({ eventTypes: ["invoice.*"] });
  });

  it("the json path is trimmed and equals kept", () => {
    expect(checkFilter({ jsonPath: "  $.data.object.status ", equals: "paid" })).toStrictEqual({ jsonPath: "$.data.object.status", equals: "paid" });
  });

  it("a json path without equals compares with null", () => {
    expect(checkFilter({ jsonPath: "$.data.object.discount" })).toStrictEqual({ jsonPath: "$.data.object.discount", equals: null });
  });

  const falsy: FilterValue[] = [0, false, ""];
  it.each(falsy)("a falsy equals %j is kept", (equals) => {
    expect(checkFilter({ jsonPath: "$.a", equals })).toStrictEqual({ jsonPath: "$.a", equals });
  });

  it("event types and path together", () => {
    expect(checkFilter({ eventTypes: ["issues"], jsonPath: "$.issue.labels[0].name", equals: "bug" })).toStrictEqual({
      eventTypes: ["issues"],
      jsonPath: "$.issue.labels[0].name",
      equals: "bug",
    });
  });

  it("accepts 100 event types", () => {
    const types = Array.from({ length: 100 }, (_, i) => `type.${i}`);
    expect(checkFilter({ eventTypes: types })?.eventTypes).toHaveLength(100);
  });

  it("counts event types after removing duplicates", () => {
    const types = [...Array.from({ length: 100 }, (_, i) => `type.${i}`), "type.0", " type.1 "];
    expect(checkFilter({ eventTypes: types })?.eventTypes).toHaveLength(100);
  });

  it("accepts an event type of exactly EVENT_TYPE_MAX characters", () => {
    const t = "a".repeat(EVENT_TYPE_MAX);
    expect(checkFilter({ eventTypes: [t] })).toStrictEqual({ eventTypes: [t] });
  });

  const rejections: { name: string; input: DestinationFilter; message: string }[] = [
    {
      name: "more than 100 event types",
      input: { eventTypes: Array.from({ length: 101 }, (_, i) => `type.${i}`) },
      message: "filter has more than 100 event types",
    },
    {
      name: "an event type with a space inside",
      input: { eventTypes: ["push", "invoice paid"] },
      message: `filter event type "invoice paid" must be one word of at most ${EVENT_TYPE_MAX} characters`,
    },
    {
      name: "an event type with a tab inside",
      input: { eventTypes: ["invoice\tpaid"] },
      message: `filter event type "invoice\\tpaid" must be one word of at most ${EVENT_TYPE_MAX} characters`,
    },
    {
      name: "an event type longer than EVENT_TYPE_MAX (quoted to 40 characters)",
      input: { eventTypes: ["b".repeat(EVENT_TYPE_MAX + 1)] },
      message: `filter event type "${"b".repeat(40)}" must be one word of at most ${EVENT_TYPE_MAX} characters`,
    },
    {
      name: "a malformed json path",
      input: { jsonPath: "$.data..status", equals: "paid" },
      message: `json_path "$.data..status" is not a path like $.data.object.status or $.items[0].id`,
    },
    {
      name: "a json path naming no field",
      input: { jsonPath: "$", equals: "paid" },
      message: `json_path "$" names no field`,
    },
    {
      name: "a json path deeper than 32 steps",
      input: { jsonPath: `$${".a".repeat(33)}` },
      message: "json_path is deeper than 32 steps",
    },
    {
      name: "equals without a json path",
      input: { eventTypes: ["invoice.paid"], equals: "paid" },
      message: "filter equals needs a json_path",
    },
    {
      name: "equals false without a json path",
      input: { equals: false },
      message: "filter equals needs a json_path",
    },
    {
      name: "equals with a blank json path",
      input: { jsonPath: "  ", equals: 0 },
      message: "filter equals needs a json_path",
    },
    {
      name: "equals an object",
      input: { jsonPath: "$.data.object", equals: { status: "paid" } as unknown as FilterValue },
      message: "filter equals must be a string, number, boolean or null",
    },
    {
      name: "equals an array",
      input: { jsonPath: "$.data.object.lines.data", equals: ["il_1"] as unknown as FilterValue },
      message: "filter equals must be a string, number, boolean or null",
    },
  ];
  it.each(rejections)("rejects $name", ({ input, message }) => {
    const err = appError(() => checkFilter(input));
    expect([err.code, err.message]).toEqual(["invalid_argument", message]);
  });
});

describe("quoted keys that are not JSON strings", () => {
  for (const path of ['$["a\\x"]', '$["\\u12"]', '$["a\tb"]']) {
    it(`parseJsonPath(${JSON.stringify(path)}) throws invalid_argument`, () => {
      expect(() => parseJsonPath(path)).toThrow(AppError);
    });
  }
  it("checkFilter rejects a bad escape as invalid_argument", () => {
    expect(() => checkFilter({ jsonPath: '$["a\\x"]', equals: "x" })).toThrow(AppError);
  });
});
