/**
 * Re-signed replays checked by the providers' own libraries: what Stripe's
 * `constructEvent` and `standardwebhooks`' `verify` accept, with headers
 * kept in order and the rest untouched.
 */
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { cannotResign, resignHeaders } from "./verify.sign.js";

const body = Buffer.from(JSON.stringify({ id: "evt_1", object: "event", type: "invoice.paid" }));
const now = Math.floor(Date.now() / 1000);
/** The body in parts, as a payload file is read. */
const parts = () => [body.subarray(0, 7), body.subarray(7)];

describe("resignHeaders", () => {
  it("signs a Stripe replay that stripe.webhooks.constructEvent accepts now, keeping the other headers in place", async () => {
    const secret = "whsec_abc 123";
    const headers: [string, string][] = [
      ["Content-Type", "application/json"],
      ["Stripe-Signature", "t=1,v1=00"],
      ["X-Other", "kept"],
    ];
    const out = await resignHeaders("stripe", secret, headers, parts(), now, "wh_x");
    expect(out.map(([n]) => n)).toEqual(["Content-Type", "Stripe-Signature", "X-Other"]);
    const stripe = new Stripe("sk_test_unused");
    const event = stripe.webhooks.constructEvent(body, out[1]![1], secret);
    expect(event.id).toBe("evt_1");
    // The original header did not verify (a stale timestamp and a wrong signature).
    expect(() => stripe.webhooks.constructEvent(body, "t=1,v1=00", secret)).toThrow();
  });

  it("signs a Standard Webhooks replay that standardwebhooks verifies, keeping webhook-id", async () => {
    const secret = `whsec_${Buffer.from("0123456789abcdef0123456789abcdef").toString("base64")}`;
    const headers: [string, string][] = [
      ["webhook-id", "msg_1"],
      ["webhook-timestamp", "1"],
      ["webhook-signature", "v1,AAAA"],
    ];
    const out = await resignHeaders("generic", secret, headers, parts(), now, "wh_x");
    const map = Object.fromEntries(out);
    expect(map["webhook-id"]).toBe("msg_1");
    expect(map["webhook-timestamp"]).toBe(String(now));
    expect(new Webhook(secret).verify(body, map)).toMatchObject({ id: "evt_1" });
  });

  it("adds the Standard Webhooks headers a webhook came without, with the replay's id", async () => {
    const secret = Buffer.from("k".repeat(24)).toString("base64");
    const out = await resignHeaders("generic", secret, [["Content-Type", "application/json"]], parts(), now, "wh_new");
    const map = Object.fromEntries(out);
    expect(map["webhook-id"]).toBe("wh_new");
    expect(new Webhook(secret).verify(body, map)).toBeTruthy();
  });
});

describe("cannotResign", () => {
  it("names why GitHub, Telegram, a missing secret and a non-base64 generic secret cannot be re-signed", () => {
    expect(cannotResign("github", ["s"])).toMatch(/no timestamp/);
    expect(cannotResign("telegram", ["s"])).toMatch(/shared token/);
    expect(cannotResign("stripe", [])).toMatch(/no signature secret/);
    expect(cannotResign("generic", ["not base64!"])).toMatch(/not a Standard Webhooks key/);
    expect(cannotResign("stripe", ["whsec_x"])).toBeUndefined();
  });
});
