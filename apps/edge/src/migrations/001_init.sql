-- Endpoints: one ingest URL each, and where its webhooks go.
CREATE TABLE endpoint (
  id               TEXT PRIMARY KEY,
  name             TEXT NOT NULL,
  provider_type    TEXT NOT NULL CHECK (provider_type IN ('generic', 'stripe', 'github', 'telegram')),
  signature_secret TEXT,                 -- sealed with ENCRYPTION_KEY (secret-box), NULL when none
  destination_url  TEXT NOT NULL,
  muted            INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,     -- ms since epoch
  updated_at       INTEGER NOT NULL
) STRICT;

-- Webhooks: the queue. seq (the rowid) is arrival order; an endpoint's queue
-- is its pending rows by seq. Kept narrow: bodies live in webhook_body so that
-- status updates do not rewrite large payloads.
CREATE TABLE webhook (
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
  status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dead_letter')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  last_attempt_at  INTEGER,
  next_attempt_at  INTEGER NOT NULL,     -- pending only: not dispatched before this time
  deliver_by       INTEGER NOT NULL,     -- pending past this time → dead_letter
  delivered_at     INTEGER,
  settled_at       INTEGER,              -- when it left pending
  error_message    TEXT,
  replay_of        TEXT
) STRICT;

CREATE INDEX webhook_queue ON webhook (endpoint_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_by_endpoint ON webhook (endpoint_id, seq);
CREATE INDEX webhook_by_status ON webhook (status, seq);
CREATE INDEX webhook_by_received ON webhook (received_at);
CREATE INDEX webhook_settled ON webhook (settled_at) WHERE status IN ('delivered', 'dead_letter');

CREATE TABLE webhook_body (
  webhook_seq INTEGER PRIMARY KEY REFERENCES webhook(seq) ON DELETE CASCADE,
  headers     TEXT NOT NULL,             -- JSON [[name, value], …] in arrival order
  payload     BLOB NOT NULL
) STRICT;

-- Every delivery attempt the hub reported.
CREATE TABLE attempt (
  id               TEXT PRIMARY KEY,
  webhook_seq      INTEGER NOT NULL REFERENCES webhook(seq) ON DELETE CASCADE,
  number           INTEGER NOT NULL,
  started_at       INTEGER NOT NULL,
  duration_ms      INTEGER NOT NULL,
  status_code      INTEGER NOT NULL,
  outcome          TEXT NOT NULL,
  error            TEXT,
  response_excerpt TEXT
) STRICT;

CREATE INDEX attempt_by_webhook ON attempt (webhook_seq, number);

-- Nonces of accepted hub stream opens, so an open cannot be replayed (even across a restart).
CREATE TABLE hub_nonce (
  nonce      TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) STRICT;
