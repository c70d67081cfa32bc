-- API token scopes (issue #12): read, operate (replay, mute) or admin.
--
-- Tokens made before scopes keep what they could do: admin. Narrow them by
-- making new tokens with the scope they need and revoking the old ones.
-- A session keeps the scope of what opened it (an API token's, or admin).
ALTER TABLE api_token ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin' CHECK (scope IN ('read', 'operate', 'admin'));
ALTER TABLE session ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin' CHECK (scope IN ('read', 'operate', 'admin'));
