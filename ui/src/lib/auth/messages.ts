/**
 * Text for the `?error=` the edge puts on /signin after a failed GitHub sign-in. Only known
 * codes are turned into sentences; anything else gets a fixed one, so that a crafted link cannot
 * make this page say what its author wants.
 */
export function oauthErrorMessage(code: string): string {
  switch (code) {
    case "access_denied":
      return "The sign-in was cancelled on GitHub.";
    case "invalid_state":
    case "expired_state":
    case "state_mismatch":
      return "The sign-in took too long or was started in another tab. Please try again.";
    case "github_error":
      return "GitHub could not complete the sign-in. Please try again in a moment.";
    default:
      return /^[a-z_]{1,40}$/.test(code) ? `GitHub sign-in did not work (${code}). Please try again.` : "GitHub sign-in did not work. Please try again.";
  }
}

/** A GitHub login as GitHub allows it (letters, digits, single hyphens, at most 39), else undefined. */
export function githubLogin(value: string | null): string | undefined {
  return value && /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/.test(value) ? value : undefined;
}
