-- Alerts while a queue is still failing (issue #13): a destination whose
-- deliveries keep failing for STUCK_ALERT_AFTER_MS or STUCK_ALERT_AFTER_ATTEMPTS
-- ("queue_stuck"), and its recovery ("queue_recovered"). The alert table is
-- rebuilt (SQLite's way to change a CHECK constraint, as in 006 and 007);
-- every row is kept.
CREATE TABLE alert_new (
  id         INTEGER PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('webhook_failed', 'hub_down', 'hub_up', 'destination_held', 'storage_degraded',
                                           'storage_recovered', 'queue_stuck', 'queue_recovered')),
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
