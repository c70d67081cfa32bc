-- Storage health (storage.service.ts, issue #15).
--
-- A scratch table for the storage probe (storage.store.ts): while writes are
-- failing, the edge commits one row of a few pages here and deletes it again,
-- to learn when the disk takes writes again. Normally empty.
--
-- Alerts about storage itself: the alert table is rebuilt (SQLite's way to
-- change a CHECK constraint, as in 006) to take the kinds storage_degraded
-- and storage_recovered; every existing row is kept. No foreign key points at
-- it, so foreign keys stay on.
CREATE TABLE storage_probe (
  id INTEGER PRIMARY KEY,
  written_at INTEGER NOT NULL,
  filler BLOB NOT NULL
);

-- Alerts now also report storage outages (notify.service.ts).
CREATE TABLE alert_new (
  id         INTEGER PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('webhook_failed', 'hub_down', 'hub_up', 'destination_held', 'storage_degraded', 'storage_recovered')),
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
