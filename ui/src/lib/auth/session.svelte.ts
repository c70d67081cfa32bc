import { goto } from "$app/navigation";

/** Header that carries the session's CSRF token on every state-changing request. */
export const CSRF_HEADER = "x-hookly-csrf";

/** What `GET /auth/session` says about the browser's session cookie. */
export interface Session {
  authenticated: boolean;
  /** GitHub login, when signed in with GitHub. */
  login?: string;
  avatarUrl?: string;
  /** `github:<login>`, `token:<id>` or `admin`. */
  principal?: string;
  /** Sent back as `x-hookly-csrf` on every API call and on sign-out. */
  csrfToken?: string;
  /** Whether "Sign in with GitHub" is configured on this edge. */
  githubEnabled: boolean;
}

/** The session as the edge last described it; `null` until loaded or after it ended. */
export const auth = $state<{ session: Session | null }>({ session: null });

/** Thrown when the edge cannot say who we are (unreachable, or answered with a server error). */
export class SessionUnavailableError extends Error {
  constructor(readonly status: number) {
    super(status === 0 ? "The Hookly edge could not be reached." : `The Hookly edge answered ${status}.`);
  }
}

let inflight: Promise<Session> | null = null;

/**
 * Loads the session from `GET /auth/session`, once; `force` asks again (after sign-in).
 * @throws SessionUnavailableError when the edge does not answer with a session.
 */
export function loadSession(options: { force?: boolean } = {}): Promise<Session> {
  if (auth.session && !options.force) return Promise.resolve(auth.session);
  inflight ??= fetchSession().finally(() => (inflight = null));
  return inflight;
}

async function fetchSession(): Promise<Session> {
  let res: Response;
  try {
    res = await fetch("/auth/session", {
      credentials: "same-origin",
      cache: "no-store",
      headers: { accept: "application/json" },
    });
  } catch {
    throw new SessionUnavailableError(0);
  }
  if (!res.ok) throw new SessionUnavailableError(res.status);
  const session = parseSession(await res.json().catch(() => null));
  auth.session = session;
  return session;
}

function parseSession(body: unknown): Session {
  const o = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  return {
    authenticated: o.authenticated === true,
    login: text(o.login),
    avatarUrl: text(o.avatarUrl),
    principal: text(o.principal),
    csrfToken: text(o.csrfToken),
    githubEnabled: o.githubEnabled === true,
  };
}

/** Outcome of a sign-in attempt, with a message for a person when it failed. */
export type SignInResult = { ok: true } | { ok: false; message: string };

/** Signs in with an admin token or API token (`POST /auth/token`), then reloads the session. */
export async function signInWithToken(token: string): Promise<SignInResult> {
  let res: Response;
  try {
    res = await fetch("/auth/token", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ token }),
    });
  } catch {
    return { ok: false, message: "Could not reach the Hookly edge. Check that it is running and try again." };
  }
  if (res.ok) {
    const session = await loadSession({ force: true });
    return session.authenticated ? { ok: true } : { ok: false, message: "The edge accepted the token but did not keep the session. Are cookies blocked?" };
  }
  if (res.status === 401 || res.status === 403) {
    // The edge's own text ("unknown or revoked token") is written for logs, not for a person.
    return {
      ok: false,
      message: "That token was not accepted. Check that you pasted all of it, or create a new one on the Tokens page.",
    };
  }
  if (res.status === 429) return { ok: false, message: "Too many attempts. Wait a minute and try again." };
  return { ok: false, message: `Sign-in failed: the edge answered ${res.status}. Try again in a moment.` };
}

/**
 * Ends the session (`POST /auth/logout`) and reloads on the sign-in page, so nothing that was
 * on screen (a token secret, a payload) stays in memory.
 * @returns a message for a person when the edge could not be told.
 */
export async function signOut(): Promise<string | undefined> {
  const csrf = auth.session?.csrfToken;
  if (auth.session?.authenticated) {
    try {
      const res = await fetch("/auth/logout", {
        method: "POST",
        credentials: "same-origin",
        headers: csrf ? { [CSRF_HEADER]: csrf } : {},
      });
      if (!res.ok && res.status !== 401) return `Sign-out failed: the edge answered ${res.status}.`;
    } catch {
      return "Could not reach the Hookly edge to sign out.";
    }
  }
  auth.session = null;
  location.assign("/signin");
  return undefined;
}

/** Called when the edge says the session is gone: forget it and go to sign-in, coming back here after. */
export function sessionExpired(): void {
  if (auth.session === null && location.pathname === "/signin") return;
  auth.session = null;
  if (location.pathname === "/signin" || location.pathname === "/denied") return;
  const next = location.pathname + location.search;
  void goto(`/signin?expired=1&next=${encodeURIComponent(next)}`, { replaceState: true });
}
