-- Operating ordered queues (issue #13).
--
-- An operator can settle a pending delivery by hand: skip the head of its
-- queue, or cancel one behind it. settled_by names who did (as the audit
-- trail does); an attempt already under way that then succeeds still marks
-- the delivery delivered (what happened wins over what was asked).
ALTER TABLE delivery ADD COLUMN settled_by TEXT;

-- A replayed webhook is superseded once a replay of it (or of a replay of
-- it) is delivered: superseded_by names that replay, and lists may hide it.
ALTER TABLE webhook ADD COLUMN superseded_by TEXT;
CREATE INDEX webhook_by_replay_of ON webhook (replay_of, seq) WHERE replay_of IS NOT NULL;

-- A replay sent with a fresh signature (made with the endpoint's own secret
-- and a new timestamp) instead of the provider's original headers.
ALTER TABLE webhook ADD COLUMN resigned INTEGER NOT NULL DEFAULT 0;

-- Originals whose replay was already delivered before this release.
UPDATE webhook SET superseded_by = (
  SELECT r.id FROM webhook r WHERE r.replay_of = webhook.id AND r.status = 'delivered' ORDER BY r.seq LIMIT 1)
WHERE id IN (SELECT replay_of FROM webhook WHERE replay_of IS NOT NULL AND status = 'delivered');

-- Who did what, when: every operator action (retry now, skip, cancel,
-- replay, bulk actions, from the UI, the API, MCP, the CLI or Telegram).
CREATE TABLE audit (
  id             INTEGER PRIMARY KEY,
  at             INTEGER NOT NULL,          -- ms since the epoch
  actor          TEXT NOT NULL,             -- admin, token:<id>, github:<login>, telegram:<chat id>
  action         TEXT NOT NULL,             -- retry_now, skip, cancel, replay, …
  endpoint_id    TEXT,
  webhook_id     TEXT,
  destination_id TEXT,
  detail         TEXT                       -- JSON: what else the action said (new webhook id, filter, counts)
) STRICT;
CREATE INDEX audit_by_at ON audit (at);
CREATE INDEX audit_by_webhook ON audit (webhook_id, id) WHERE webhook_id IS NOT NULL;
