/**
 * The sign-in part of the edge configuration: GitHub variables, session TTL,
 * and the rule that something must be able to sign in.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../config.js";

const BASE = {
  ENCRYPTION_KEY: "0123456789abcdef".repeat(4),
  HOME_HUB_SECRET: "hub-secret-for-tests-0123456789abcdef",
};
const ADMIN = { ADMIN_TOKEN: "admin-token-for-tests-0123456789" };
const GITHUB = { GITHUB_CLIENT_ID: "Iv1.abc", GITHUB_CLIENT_SECRET: "shh-0123456789" };

function problems(env: Record<string, string>): string {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected the configuration to be refused");
}

describe("sign-in configuration", () => {
  it("leaves GitHub off by default, with 7-day sessions", () => {
    const config = loadConfig({ ...BASE, ...ADMIN });
    expect(config.github).toBeUndefined();
    expect(config.sessionTtlMs).toBe(168 * 3_600_000);
  });

  it("reads GitHub sign-in with its defaults; logins lower-cased, URLs without trailing slash", () => {
    const config = loadConfig({
      ...BASE,
      ...GITHUB,
      GITHUB_ALLOWED_USERS: " Alice, bob ,,",
      GITHUB_URL: "https://ghe.example.com/",
      SESSION_TTL_HOURS: "12",
    });
    expect(config.github).toEqual({
      clientId: "Iv1.abc",
      clientSecret: "shh-0123456789",
      org: undefined,
      allowedUsers: ["alice", "bob"],
      url: "https://ghe.example.com",
      apiUrl: "https://api.github.com",
    });
    expect(config.sessionTtlMs).toBe(12 * 3_600_000);
    expect(config.adminToken).toBeUndefined();
  });

  it("defaults to github.com", () => {
    const config = loadConfig({ ...BASE, ...GITHUB, GITHUB_ORG: "acme" });
    expect(config.github).toMatchObject({ org: "acme", allowedUsers: [], url: "https://github.com", apiUrl: "https://api.github.com" });
  });

  it.each([
    ["only the client id", { ...ADMIN, GITHUB_CLIENT_ID: "x" }, /GITHUB_CLIENT_SECRET: .*set both or neither/],
    ["only the client secret", { ...ADMIN, GITHUB_CLIENT_SECRET: "x" }, /GITHUB_CLIENT_ID: .*set both or neither/],
    ["GitHub on with nobody allowed", { ...GITHUB }, /GITHUB_ORG: .*GITHUB_ORG or GITHUB_ALLOWED_USERS/],
    ["GitHub on with an empty user list", { ...GITHUB, GITHUB_ALLOWED_USERS: " , " }, /GITHUB_ORG: .*GITHUB_ALLOWED_USERS/],
    ["neither ADMIN_TOKEN nor GitHub", {}, /ADMIN_TOKEN: nothing could sign in/],
    ["an org that is not a login", { ...GITHUB, GITHUB_ORG: "../admin" }, /GITHUB_ORG: must be a GitHub organization login/],
    ["a GITHUB_URL that is not http(s)", { ...GITHUB, GITHUB_ORG: "acme", GITHUB_URL: "ftp://x" }, /GITHUB_URL/],
    ["a zero SESSION_TTL_HOURS", { ...ADMIN, SESSION_TTL_HOURS: "0" }, /SESSION_TTL_HOURS/],
  ])("refuses %s", (_name, env, message) => {
    expect(problems(env)).toMatch(message);
  });

  it("reports every problem at once", () => {
    const text = problems({ GITHUB_CLIENT_ID: "x", SESSION_TTL_HOURS: "-1", PORT: "nope" });
    expect(text).toMatch(/PORT/);
    expect(text).toMatch(/SESSION_TTL_HOURS/);
  });
});
