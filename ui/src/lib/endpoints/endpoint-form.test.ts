import { describe, expect, it } from "vitest";
import { ProviderType } from "@hookly/proto/gen/admin_pb";
import { providerFromSlug, secretsToSend, slugFromProvider, validateEndpoint } from "./endpoint-form";

const valid = { name: "Stripe", provider: "stripe", secrets: [""], destination: "http://192.168.1.20:8080/hook" };

describe("endpoint form", () => {
  it("accepts a name and an http(s) destination", () => {
    expect(validateEndpoint(valid)).toEqual({});
  });

  it("explains what is missing or wrong next to the field", () => {
    expect(validateEndpoint({ ...valid, name: "  " }).name).toBeTruthy();
    expect(validateEndpoint({ ...valid, destination: "" }).destination).toBeTruthy();
    expect(validateEndpoint({ ...valid, destination: "ftp://nas/hook" }).destination).toMatch(/http/);
    expect(validateEndpoint({ ...valid, destination: "192.168.1.20" }).destination).toMatch(/http/);
  });

  it("maps provider slugs to types and back", () => {
    for (const type of [ProviderType.GENERIC, ProviderType.STRIPE, ProviderType.GITHUB, ProviderType.TELEGRAM]) {
      expect(providerFromSlug(slugFromProvider(type))).toBe(type);
    }
    expect(providerFromSlug("nope")).toBe(ProviderType.GENERIC);
  });

  it("sends each secret field whole (spaces and commas inside kept), without blank fields or the spaces at its ends", () => {
    expect(secretsToSend({ ...valid, secrets: [" It's a Secret to Everybody ", "", "  ", "old,new"] })).toEqual(["It's a Secret to Everybody", "old,new"]);
    expect(secretsToSend(valid)).toEqual([]);
  });
});
