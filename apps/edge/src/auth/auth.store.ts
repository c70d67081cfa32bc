/**
 * SQL for sign-in: sessions, API tokens and pending OAuth states (tables of
 * migration 003). Every statement is prepared once, up front. Callers pass
 * digests, never secrets: hashing is the service's job.
 */
import type { Db } from "../db/db.js";
import type { Scope } from "./auth.scopes.js";

/** A session row. */
export interface SessionRow {
  id: string;
  principal: string;
  login: string | null;
  avatar_url: string | null;
  csrf_token: string;
  created_at: number;
  expires_at: number;
  /** Admin sessions: digest of the ADMIN_TOKEN that opened it. */
  credential: string | null;
  /** GitHub sessions: the user's access token, sealed (for re-checking the allow rules). */
  github_token: string | null;
  /** GitHub sessions: when the allow rules last confirmed the user (ms). */
  checked_at: number | null;
  /** What the session may do: the scope of what opened it. */
  scope: Scope;
}

/** An API token row (never the secret, only its digest). */
export interface ApiTokenRow {
  id: string;
  name: string;
  secret_hash: string;
  created_by: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  scope: Scope;
}

/** A pending OAuth flow. */
export interface OAuthStateRow {
  state_hash: string;
  code_verifier: string;
  expires_at: number;
}

/** The auth tables; see {@link createAuthStore}. */
export type AuthStore = ReturnType<typeof createAuthStore>;

/** Prepares the auth statements on `db`. */
export function createAuthStore(db: Db) {
  const insertSession = db.prepare<[SessionRow]>(
    `INSERT INTO session (id, principal, login, avatar_url, csrf_token, created_at, expires_at, credential, github_token, checked_at, scope)
     VALUES (@id, @principal, @login, @avatar_url, @csrf_token, @created_at, @expires_at, @credential, @github_token, @checked_at, @scope)`,
  );
  const selectSession = db.prepare<[string], SessionRow>("SELECT * FROM session WHERE id = ?");
  const deleteSession = db.prepare<[string]>("DELETE FROM session WHERE id = ?");
  const deleteSessionsOf = db.prepare<[string]>("DELETE FROM session WHERE principal = ?");
  const deleteExpiredSessions = db.prepare<[number]>("DELETE FROM session WHERE expires_at <= ?");
  const deleteAllSessions = db.prepare("DELETE FROM session");
  const githubSessionsDue = db.prepare<[number, number], SessionRow>(
    "SELECT * FROM session WHERE principal LIKE 'github:%' AND expires_at > ? AND (checked_at IS NULL OR checked_at <= ?)",
  );
  const markChecked = db.prepare<[number, string]>("UPDATE session SET checked_at = ? WHERE id = ?");

  const insertToken = db.prepare<[ApiTokenRow]>(
    `INSERT INTO api_token (id, name, secret_hash, created_by, created_at, last_used_at, revoked_at, scope)
     VALUES (@id, @name, @secret_hash, @created_by, @created_at, @last_used_at, @revoked_at, @scope)`,
  );
  const selectActiveTokenByHash = db.prepare<[string], ApiTokenRow>("SELECT * FROM api_token WHERE secret_hash = ? AND revoked_at IS NULL");
  const selectActiveTokens = db.prepare<[], ApiTokenRow>("SELECT * FROM api_token WHERE revoked_at IS NULL ORDER BY created_at, id");
  const revokeToken = db.prepare<[number, string]>("UPDATE api_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
  const touchToken = db.prepare<[number, string]>("UPDATE api_token SET last_used_at = ? WHERE id = ?");

  const insertState = db.prepare<[OAuthStateRow]>(
    "INSERT INTO oauth_state (state_hash, code_verifier, expires_at) VALUES (@state_hash, @code_verifier, @expires_at)",
  );
  const takeState = db.prepare<[string], OAuthStateRow>("DELETE FROM oauth_state WHERE state_hash = ? RETURNING *");
  const deleteExpiredStates = db.prepare<[number]>("DELETE FROM oauth_state WHERE expires_at <= ?");

  // note: a token and every token made by it, or by those, and so on (created_by = token:<id>).
  const madeFrom = db.prepare<[string], { id: string }>(
    `WITH RECURSIVE made(id) AS (SELECT ? UNION SELECT t.id FROM api_token t JOIN made m ON t.created_by = 'token:' || m.id)
     SELECT id FROM made`,
  );
  const revokeTokenAndSessions = db.transaction((id: string, now: number): string[] | undefined => {
    if (revokeToken.run(now, id).changes === 0) return undefined;
    const revoked = [id];
    deleteSessionsOf.run(`token:${id}`);
    for (const { id: child } of madeFrom.all(id)) {
      if (child === id) continue;
      if (revokeToken.run(now, child).changes > 0) revoked.push(child);
      deleteSessionsOf.run(`token:${child}`);
    }
    return revoked;
  });

  return {
    insertSession(row: SessionRow): void {
      insertSession.run(row);
    },
    /** The session with this id (digest), expired or not. */
    session(id: string): SessionRow | undefined {
      return selectSession.get(id);
    },
    deleteSession(id: string): void {
      deleteSession.run(id);
    },
    /** Ends every session (all users sign in again); returns how many. */
    deleteAllSessions(): number {
      return deleteAllSessions.run().changes;
    },
    /** Live GitHub sessions last confirmed at or before `checkedBefore`. */
    githubSessionsDue(now: number, checkedBefore: number): SessionRow[] {
      return githubSessionsDue.all(now, checkedBefore);
    },
    /** Records that the allow rules confirmed a session's user at `at`. */
    markChecked(id: string, at: number): void {
      markChecked.run(at, id);
    },
    /** Deletes sessions that expired at or before `now`; returns how many. */
    purgeExpiredSessions(now: number): number {
      return deleteExpiredSessions.run(now).changes;
    },

    insertApiToken(row: ApiTokenRow): void {
      insertToken.run(row);
    },
    /** The unrevoked token whose secret has this digest. */
    activeApiTokenByHash(secretHash: string): ApiTokenRow | undefined {
      return selectActiveTokenByHash.get(secretHash);
    },
    /** Unrevoked tokens, oldest first. */
    activeApiTokens(): ApiTokenRow[] {
      return selectActiveTokens.all();
    },
    /**
     * Revokes a token and every token it made (at any depth), and ends the
     * sessions they signed in; the ids revoked, or undefined when `id` is
     * unknown or already revoked.
     */
    revokeApiToken(id: string, now: number): string[] | undefined {
      return revokeTokenAndSessions(id, now);
    },
    touchApiToken(id: string, now: number): void {
      touchToken.run(now, id);
    },

    insertOAuthState(row: OAuthStateRow): void {
      insertState.run(row);
    },
    /** Removes and returns the pending flow with this state digest (single use), expired or not. */
    takeOAuthState(stateHash: string): OAuthStateRow | undefined {
      return takeState.get(stateHash);
    },
    /** Deletes flows that expired at or before `now`. */
    purgeExpiredOAuthStates(now: number): number {
      return deleteExpiredStates.run(now).changes;
    },
  };
}
