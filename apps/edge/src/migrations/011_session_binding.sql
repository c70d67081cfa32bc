-- Sessions bound to what signed them in (issue #12).
--
-- An admin session keeps a digest of the ADMIN_TOKEN it was opened with and
-- ends once the edge runs with another token. A GitHub session keeps the
-- user's access token (sealed under ENCRYPTION_KEY, bound to the session) so
-- the edge can re-check GITHUB_ORG membership, and when the allow rules last
-- confirmed it.
ALTER TABLE session ADD COLUMN credential TEXT;
ALTER TABLE session ADD COLUMN github_token TEXT;
ALTER TABLE session ADD COLUMN checked_at INTEGER;

-- Sessions from before carry neither: an admin one cannot be matched to the
-- token now configured, a GitHub one cannot be re-checked. They end now; their
-- users sign in once more. (API-token sessions end with their token, as before.)
DELETE FROM session WHERE principal = 'admin' OR principal LIKE 'github:%';
