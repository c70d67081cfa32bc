/**
 * Who is calling the admin API. For now: the bearer ADMIN_TOKEN. Sessions
 * (GitHub sign-in) and API tokens plug in through `extraAuthenticators`.
 */
import { createContextKey } from "@connectrpc/connect";
import { createHash, timingSafeEqual } from "node:crypto";

/** An authenticated caller. */
export interface Principal {
  /** `admin`, `token:<id>` or `github:<login>`. */
  id: string;
  login?: string;
  avatarUrl?: string;
  /** How the caller proved it: cookie sessions must also pass the CSRF check. */
  via: "bearer" | "session";
  /** The session's CSRF token (via === "session"). */
  csrfToken?: string;
}

/** Connect context key under which handlers find the caller. */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "authenticated caller" });

/** Tries to authenticate from request headers; undefined = not this way. */
export type Authenticator = (header: (name: string) => string | null | undefined) => Principal | undefined;

/** Constant-time string comparison through fixed-length digests. */
export function secretEquals(a: string, b: string): boolean {
  const da = createHash("sha256").update(a).digest();
  const db = createHash("sha256").update(b).digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

/** The bearer token from an Authorization header, if any. */
export function bearerToken(header: (name: string) => string | null | undefined): string | undefined {
  const value = header("authorization");
  const m = value ? /^Bearer\s+(.+)$/i.exec(value.trim()) : null;
  return m?.[1]?.trim();
}

/** Authenticator for the bootstrap ADMIN_TOKEN. */
export function adminTokenAuthenticator(adminToken: string | undefined): Authenticator {
  return (header) => {
    const token = bearerToken(header);
    if (!adminToken || !token) return undefined;
    return secretEquals(token, adminToken) ? { id: "admin", login: "admin", via: "bearer" } : undefined;
  };
}

/** Runs authenticators in order; the first that recognises the caller wins. */
export function composeAuthenticators(list: Authenticator[]): Authenticator {
  return (header) => {
    for (const a of list) {
      const p = a(header);
      if (p) return p;
    }
    return undefined;
  };
}
