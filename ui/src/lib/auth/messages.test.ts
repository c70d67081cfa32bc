import { describe, expect, it } from "vitest";
import { githubLogin, oauthErrorMessage } from "./messages";

describe("sign-in messages", () => {
  it("explains the edge's OAuth error codes", () => {
    expect(oauthErrorMessage("access_denied")).toMatch(/cancelled/);
    expect(oauthErrorMessage("expired_state")).toMatch(/try again/);
  });

  it("never repeats free text from the URL", () => {
    const message = oauthErrorMessage("Your account is locked. Call +1 555 0100");
    expect(message).not.toContain("555");
  });

  it("accepts only real GitHub logins", () => {
    expect(githubLogin("octo-cat")).toBe("octo-cat");
    expect(githubLogin("a".repeat(40))).toBeUndefined();
    expect(githubLogin("evil<script>")).toBeUndefined();
    expect(githubLogin("-x")).toBeUndefined();
    expect(githubLogin(null)).toBeUndefined();
  });
});
