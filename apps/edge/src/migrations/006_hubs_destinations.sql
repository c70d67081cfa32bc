-- hookly: foreign_keys=off
-- Many hubs, several destinations per endpoint, one delivery queue per destination.
--
-- Runs with foreign keys off (the runner checks them with foreign_key_check
-- before committing): the webhook table is rebuilt, SQLite's way to change a
-- CHECK constraint, and dropping the old table must not cascade into its
-- bodies and attempts.

-- Hubs: each with its own credential (sealed with ENCRYPTION_KEY, bound to the
-- hub id). The bootstrap hub's credential is HOME_HUB_SECRET from the
-- environment, so its secret columns stay NULL.
CREATE TABLE hub (
  id                   TEXT PRIMARY KEY,      -- hub_…
  name                 TEXT NOT NULL,
  bootstrap            INTEGER NOT NULL DEFAULT 0,
  secret               TEXT,                  -- sealed current credential
  previous_secret      TEXT,                  -- sealed credential before a rotation, valid until retired
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  revoked_at           INTEGER,
  rotated_at           INTEGER,
  last_connected_at    INTEGER,
  last_disconnected_at INTEGER,
  last_seen_at         INTEGER,
  version              TEXT,
  transport            TEXT,
  remote_address       TEXT,
  reported_id          TEXT                   -- HUB_ID the hub sent (bootstrap hubs send a name)
) STRICT;

INSERT INTO hub (id, name, bootstrap, created_at, updated_at)
VALUES ('hub_bootstrap', 'home', 1, CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- Where an endpoint's webhooks go: one queue each, on one hub.
CREATE TABLE destination (
  id          TEXT PRIMARY KEY,              -- dst_…
  endpoint_id TEXT NOT NULL REFERENCES endpoint(id) ON DELETE CASCADE,
  hub_id      TEXT NOT NULL REFERENCES hub(id),
  url         TEXT NOT NULL,
  name        TEXT NOT NULL DEFAULT '',
  enabled     INTEGER NOT NULL DEFAULT 1,     -- disabled: new webhooks are not routed to it
  muted       INTEGER NOT NULL DEFAULT 0,     -- muted: its queue fills, nothing is dispatched
  filter      TEXT,                           -- JSON {"eventTypes":[…],"jsonPath":"…","equals":…}, NULL: everything
  position    INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX destination_by_endpoint ON destination (endpoint_id, position);
CREATE INDEX destination_by_hub ON destination (hub_id);

-- Every existing endpoint keeps its destination, now on the bootstrap hub.
INSERT INTO destination (id, endpoint_id, hub_id, url, enabled, muted, filter, position, created_at, updated_at)
SELECT 'dst_' || substr(id, 4), id, 'hub_bootstrap', destination_url, 1, 0, NULL, 0, created_at, updated_at FROM endpoint;

ALTER TABLE endpoint DROP COLUMN destination_url;
-- Generic endpoints: the header naming the event type (NULL: the JSON body's "type").
ALTER TABLE endpoint ADD COLUMN event_type_header TEXT;

-- Webhooks: status is now the aggregate of the webhook's deliveries
-- (partial: some delivered, some failed; filtered: no destination took it);
-- retry timing moved to the deliveries.
CREATE TABLE webhook_new (
  seq              INTEGER PRIMARY KEY,
  id               TEXT NOT NULL UNIQUE,
  endpoint_id      TEXT NOT NULL REFERENCES endpoint(id) ON DELETE CASCADE,
  received_at      INTEGER NOT NULL,
  method           TEXT NOT NULL,
  query            TEXT NOT NULL DEFAULT '',
  payload_size     INTEGER NOT NULL,
  content_type     TEXT,
  source_ip        TEXT,
  signature_valid  INTEGER NOT NULL,
  signature_reason TEXT,
  event_type       TEXT,
  delivery_count   INTEGER NOT NULL DEFAULT 1,   -- its delivery rows: with one, settling sets the status directly
  status           TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'delivered', 'failed', 'dead_letter', 'partial', 'filtered')),
  attempts         INTEGER NOT NULL DEFAULT 0,   -- over all deliveries
  last_attempt_at  INTEGER,
  delivered_at     INTEGER,                      -- when the last delivery succeeded, once all did
  settled_at       INTEGER,                      -- when it left pending
  error_message    TEXT,                         -- the latest delivery error
  replay_of        TEXT
) STRICT;

INSERT INTO webhook_new (seq, id, endpoint_id, received_at, method, query, payload_size, content_type, source_ip,
  signature_valid, signature_reason, event_type, status, attempts, last_attempt_at, delivered_at, settled_at, error_message, replay_of)
SELECT seq, id, endpoint_id, received_at, method, query, payload_size, content_type, source_ip,
  signature_valid, signature_reason, NULL, status, attempts, last_attempt_at, delivered_at, settled_at, error_message, replay_of
FROM webhook;

-- One queue entry per (webhook, destination). seq is the destination's queue order.
CREATE TABLE delivery (
  seq             INTEGER PRIMARY KEY,
  webhook_seq     INTEGER NOT NULL REFERENCES webhook(seq) ON DELETE CASCADE,
  destination_id  TEXT NOT NULL REFERENCES destination(id) ON DELETE CASCADE,
  status          TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'delivered', 'failed', 'dead_letter', 'filtered')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_attempt_at INTEGER,
  next_attempt_at INTEGER NOT NULL,             -- pending only: not dispatched before this time
  deliver_by      INTEGER NOT NULL,             -- pending past this time → dead_letter
  delivered_at    INTEGER,
  settled_at      INTEGER,
  error_message   TEXT
) STRICT;

INSERT INTO delivery (seq, webhook_seq, destination_id, status, attempts, last_attempt_at, next_attempt_at, deliver_by,
  delivered_at, settled_at, error_message)
SELECT w.seq, w.seq, 'dst_' || substr(w.endpoint_id, 4), w.status, w.attempts, w.last_attempt_at, w.next_attempt_at, w.deliver_by,
  w.delivered_at, w.settled_at, w.error_message
FROM webhook w ORDER BY w.seq;

DROP TABLE webhook;
ALTER TABLE webhook_new RENAME TO webhook;

-- Event types of the webhooks already stored, by the same rules as ingest
-- (destination.filter.ts), for JSON bodies up to 1 MiB.
UPDATE webhook SET event_type = (
  SELECT substr(CASE e.provider_type
      WHEN 'github' THEN (
        SELECT json_extract(h.value, '$[1]') FROM json_each(b.headers) h
        WHERE lower(json_extract(h.value, '$[0]')) = 'x-github-event' LIMIT 1
      ) || coalesce('.' || CASE WHEN json_valid(CAST(b.payload AS TEXT)) AND json_type(CAST(b.payload AS TEXT), '$.action') = 'text'
                                  THEN nullif(json_extract(CAST(b.payload AS TEXT), '$.action'), '') END, '')
      WHEN 'telegram' THEN CASE WHEN json_valid(CAST(b.payload AS TEXT)) AND json_type(CAST(b.payload AS TEXT)) = 'object' THEN (
        SELECT j.key FROM json_each(CAST(b.payload AS TEXT)) j WHERE j.key != 'update_id' AND j.type = 'object' LIMIT 1) END
      ELSE CASE WHEN json_valid(CAST(b.payload AS TEXT)) AND json_type(CAST(b.payload AS TEXT), '$.type') = 'text'
                THEN json_extract(CAST(b.payload AS TEXT), '$.type') END
    END, 1, 200)
  FROM webhook_body b JOIN endpoint e ON e.id = webhook.endpoint_id
  WHERE b.webhook_seq = webhook.seq)
WHERE payload_size <= 1048576;

CREATE INDEX webhook_by_endpoint ON webhook (endpoint_id, seq);
CREATE INDEX webhook_by_status ON webhook (status, seq);
CREATE INDEX webhook_by_endpoint_status ON webhook (endpoint_id, status, seq);
CREATE INDEX webhook_by_received_status ON webhook (received_at, status);
CREATE INDEX webhook_settled ON webhook (settled_at) WHERE status IN ('delivered', 'dead_letter', 'filtered');
CREATE INDEX webhook_by_event_type ON webhook (event_type, seq) WHERE event_type IS NOT NULL;

-- A destination's queue: its pending deliveries by seq; also its history by status.
CREATE INDEX delivery_by_destination ON delivery (destination_id, status, seq);
CREATE UNIQUE INDEX delivery_by_webhook ON delivery (webhook_seq, destination_id);
CREATE INDEX delivery_deadline ON delivery (deliver_by) WHERE status = 'pending';

-- Attempts belong to a delivery; existing ones to the migrated delivery (same seq as its webhook).
ALTER TABLE attempt ADD COLUMN delivery_seq INTEGER REFERENCES delivery(seq) ON DELETE CASCADE;
UPDATE attempt SET delivery_seq = webhook_seq;
CREATE INDEX attempt_by_delivery ON attempt (delivery_seq, number);

-- Alerts now also name hubs and destinations.
CREATE TABLE alert_new (
  id         INTEGER PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('webhook_failed', 'hub_down', 'hub_up', 'destination_held')),
  group_key  TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  due_at     INTEGER NOT NULL,
  data       TEXT NOT NULL,
  sent_at    INTEGER
) STRICT;
INSERT INTO alert_new SELECT id, kind, group_key, created_at, due_at, data, sent_at FROM alert;
DROP TABLE alert;
ALTER TABLE alert_new RENAME TO alert;
CREATE INDEX alert_unsent_due ON alert (due_at, id) WHERE sent_at IS NULL;
CREATE INDEX alert_unsent_group ON alert (group_key, due_at) WHERE sent_at IS NULL;
CREATE INDEX alert_sent ON alert (sent_at) WHERE sent_at IS NOT NULL;
