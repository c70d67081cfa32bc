-- Telegram alerts outbox (notify.store.ts). A row is written in the same step
-- as the event it reports (a webhook's final failure, the hub down or back);
-- the sender sends due rows and marks them sent right after Telegram accepts,
-- so alerts survive a restart. Rows of one endpoint with the same due_at form
-- one grouped message.
CREATE TABLE alert (
  id         INTEGER PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('webhook_failed', 'hub_down', 'hub_up')),
  group_key  TEXT NOT NULL,            -- endpoint id for webhook_failed; 'hub' otherwise
  created_at INTEGER NOT NULL,         -- ms since epoch
  due_at     INTEGER NOT NULL,         -- not sent before this time (end of the endpoint's group window)
  data       TEXT NOT NULL,            -- JSON details (endpoint name, webhook id, status code, error, attempts, …)
  sent_at    INTEGER                   -- NULL until Telegram accepted the message
) STRICT;

CREATE INDEX alert_unsent_due ON alert (due_at, id) WHERE sent_at IS NULL;
CREATE INDEX alert_unsent_group ON alert (group_key, due_at) WHERE sent_at IS NULL;
CREATE INDEX alert_sent ON alert (sent_at) WHERE sent_at IS NOT NULL;
