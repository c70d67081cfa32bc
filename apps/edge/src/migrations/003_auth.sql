-- Sign-in: UI sessions, API tokens and pending GitHub OAuth flows (auth.store.ts).
-- No secret is stored as such: session ids, token secrets and OAuth states are
-- kept as SHA-256 hex digests, so a copy of the database signs nobody in.

-- A UI session: the hookly_session cookie holds a random value; its digest is the id.
CREATE TABLE session (
  id          TEXT PRIMARY KEY,          -- SHA-256 hex of the cookie value
  principal   TEXT NOT NULL,             -- github:<login>, token:<tok_id> or admin
  login       TEXT,
  avatar_url  TEXT,
  csrf_token  TEXT NOT NULL,             -- echoed by the UI in x-hookly-csrf
  created_at  INTEGER NOT NULL,          -- ms since epoch
  expires_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX session_by_expiry ON session (expires_at);
CREATE INDEX session_by_principal ON session (principal);

-- A bearer API token: `hk_<secret>` is shown once; only its digest is kept.
CREATE TABLE api_token (
  id           TEXT PRIMARY KEY,         -- tok_…
  name         TEXT NOT NULL,
  secret_hash  TEXT NOT NULL UNIQUE,     -- SHA-256 hex of the whole hk_… secret
  created_by   TEXT NOT NULL,            -- principal that created it
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,                  -- updated at most once a minute
  revoked_at   INTEGER
) STRICT;

-- A GitHub sign-in in progress: single use, 10 minutes.
CREATE TABLE oauth_state (
  state_hash    TEXT PRIMARY KEY,        -- SHA-256 hex of the state parameter
  code_verifier TEXT NOT NULL,           -- PKCE verifier (useless without the code GitHub sends the browser)
  expires_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX oauth_state_by_expiry ON oauth_state (expires_at);
