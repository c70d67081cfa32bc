import { describe, expect, it } from "vitest";
import { AppError } from "../errors.js";
import { MAX_SECRETS, checkSecrets, decodeSecrets, encodeSecrets, isLegacy, legacySecrets, secretsToCreate, secretsToUpdate } from "./endpoint.secrets.js";

const GITHUB_DOCS_SECRET = "It's a Secret to Everybody";

describe("signature secrets", () => {
  it("keep every secret exactly as given, spaces and commas included, through sealing's encoding", () => {
    const list = [GITHUB_DOCS_SECRET, "whsec_old,with,commas", " padded "];
    expect(checkSecrets(list)).toEqual(list);
    const plain = encodeSecrets(list);
    expect(isLegacy(plain)).toBe(false);
    expect(decodeSecrets(plain)).toEqual(list);
  });

  it.each([
    ["an empty one", ["ok", ""], /secret 2 is empty/],
    ["one of only spaces", ["   "], /secret 1 is empty/],
    ["one over 4096 characters", ["x".repeat(4097)], /longer than 4096/],
    ["more than ten", Array.from({ length: MAX_SECRETS + 1 }, (_, i) => `secret-${i}`), /at most 10/],
  ])("refuse %s", (_, list, message) => {
    expect(() => checkSecrets(list)).toThrow(AppError);
    expect(() => checkSecrets(list)).toThrow(message);
  });

  it("drop repeats", () => {
    expect(checkSecrets(["a-secret", "a-secret", "b-secret"])).toEqual(["a-secret", "b-secret"]);
  });

  it.each([
    ["", []],
    [" \n\t, ,", []],
    ["whsec_abc+/=", ["whsec_abc+/="]],
    // A rotation as it used to be written: parts as long as generated secrets are.
    ["whsec_newnewnew,whsec_oldoldold", ["whsec_newnewnew", "whsec_oldoldold"]],
    [" whsec_newnewnew \n whsec_oldoldold\r\n", ["whsec_newnewnew", "whsec_oldoldold"]],
    // One secret with spaces, which the split never verified (and whose words "a", "to" passed as secrets).
    [GITHUB_DOCS_SECRET, [GITHUB_DOCS_SECRET]],
    ["correct horse battery staple", ["correct horse battery staple"]],
    ["  padded secret  ", ["padded secret"]],
  ])("read a value stored before lists, %j, as %j", (value, expected) => {
    expect(isLegacy(value)).toBe(true);
    expect(legacySecrets(value)).toEqual(expected);
    expect(decodeSecrets(value)).toEqual(expected);
  });

  it("take one secret and/or a list when creating, and exactly one of them when updating", () => {
    expect(secretsToCreate(GITHUB_DOCS_SECRET, undefined)).toEqual([GITHUB_DOCS_SECRET]);
    expect(secretsToCreate("", ["a-secret", "b-secret"])).toEqual(["a-secret", "b-secret"]);
    expect(secretsToCreate("one-secret", ["two-secret"])).toEqual(["one-secret", "two-secret"]);
    expect(secretsToUpdate(undefined, undefined)).toBeUndefined();
    expect(secretsToUpdate(GITHUB_DOCS_SECRET, undefined)).toEqual([GITHUB_DOCS_SECRET]);
    expect(secretsToUpdate("", undefined)).toEqual([]);
    expect(secretsToUpdate(null, undefined)).toEqual([]);
    expect(secretsToUpdate(undefined, [])).toEqual([]);
    expect(() => secretsToUpdate("a", ["b"])).toThrow(/not both/);
  });
});
