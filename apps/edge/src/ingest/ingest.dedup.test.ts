import { describe, expect, it } from "vitest";
import { dedupKeyOf } from "./ingest.dedup.js";

const headers = (h: Record<string, string>) => (name: string) => h[name];
const json = (v: unknown) => () => v;

describe("dedup keys", () => {
  it.each([
    ["stripe", {}, { id: "evt_1N2b", type: "invoice.paid" }, "evt_1N2b"],
    ["stripe", {}, { type: "no id" }, undefined],
    ["stripe", {}, ["evt_not", "an object"], undefined],
    ["github", { "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958" }, {}, "72d3162e-cc78-11e3-81ab-4c9367dc0958"],
    ["github", {}, { id: "ignored" }, undefined],
    ["generic", { "webhook-id": "msg_2Lz" }, {}, "msg_2Lz"],
    ["generic", { "webhook-id": "x".repeat(201) }, {}, undefined],
    ["telegram", {}, { update_id: 123456789, message: {} }, "123456789"],
    ["telegram", {}, { update_id: "123" }, undefined],
    ["telegram", {}, { update_id: 1.5 }, undefined],
  ] as const)("%s %j %j → %s", (provider, h, body, want) => {
    expect(dedupKeyOf({ provider, header: headers(h), json: json(body) })).toBe(want);
  });
});
