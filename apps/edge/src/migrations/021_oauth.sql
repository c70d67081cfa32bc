-- The MCP authorization flow (issue #14): the edge is an OAuth 2.1
-- authorization server for its own /mcp. Clients register themselves
-- (dynamic client registration, public clients with PKCE), a signed-in person
-- approves, and the access token issued is an API token (api_token, named
-- after the client) with the approved scope: listed under Tokens, revoked
-- there, and revoked with whoever approved it.
CREATE TABLE oauth_client (
  id            TEXT PRIMARY KEY,        -- mcpc_…
  name          TEXT NOT NULL,
  redirect_uris TEXT NOT NULL,           -- JSON array
  created_at    INTEGER NOT NULL
) STRICT;

-- Authorization codes: single use, 60 s, bound to the client, its redirect
-- URI, the PKCE challenge, the approved scope and who approved.
CREATE TABLE oauth_code (
  code_hash      TEXT PRIMARY KEY,       -- SHA-256 of the code
  client_id      TEXT NOT NULL REFERENCES oauth_client(id) ON DELETE CASCADE,
  redirect_uri   TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  scope          TEXT NOT NULL CHECK (scope IN ('read', 'operate', 'admin')),
  principal      TEXT NOT NULL,
  expires_at     INTEGER NOT NULL
) STRICT;
