import { describe, expect, it } from "vitest";
import { ProviderType } from "@hookly/proto/gen/admin_pb";
import { canResign, replaySignature } from "./replay";

describe("re-signing a replay", () => {
  it.each([
    [ProviderType.STRIPE, true, true],
    [ProviderType.GENERIC, true, true],
    [ProviderType.STRIPE, false, false],
    [ProviderType.GITHUB, true, false],
    [ProviderType.TELEGRAM, true, false],
    [ProviderType.UNSPECIFIED, true, false],
  ])("provider %s with a secret: %s → %s", (providerType, hasSignatureSecret, expected) => {
    expect(canResign({ providerType, hasSignatureSecret })).toBe(expected);
  });

  it("is not offered before the endpoint is known", () => {
    expect(canResign(undefined)).toBe(false);
  });

  it("says which signature a replay was sent with, and nothing for an original", () => {
    expect(replaySignature({ replayOf: "wh_1", resigned: true })).toEqual({ resigned: true, label: "Re-signed" });
    expect(replaySignature({ replayOf: "wh_1", resigned: false })).toEqual({ resigned: false, label: "Original signature" });
    expect(replaySignature({ replayOf: "", resigned: false })).toBeUndefined();
  });
});
