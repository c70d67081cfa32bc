-- Delivery charts (issue #14): rollups the edge keeps as things happen, so a
-- chart reads a few hundred rows instead of scanning webhooks per request.
-- Per endpoint and per minute (kept 48 hours) and per hour (kept 90 days):
-- webhooks received, delivered and failed (failed or dead-lettered at a
-- destination), and a histogram of end-to-end latency (arrival → delivered)
-- in 16 fixed buckets (stats/stats.histogram.ts) as a JSON array of counts.
CREATE TABLE stats_minute (
  bucket      INTEGER NOT NULL,   -- start of the minute, ms since the epoch
  endpoint_id TEXT NOT NULL,
  received    INTEGER NOT NULL DEFAULT 0,
  delivered   INTEGER NOT NULL DEFAULT 0,
  failed      INTEGER NOT NULL DEFAULT 0,
  latency     TEXT NOT NULL,      -- JSON [n0, …, n15]
  PRIMARY KEY (bucket, endpoint_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE stats_hour (
  bucket      INTEGER NOT NULL,   -- start of the hour
  endpoint_id TEXT NOT NULL,
  received    INTEGER NOT NULL DEFAULT 0,
  delivered   INTEGER NOT NULL DEFAULT 0,
  failed      INTEGER NOT NULL DEFAULT 0,
  latency     TEXT NOT NULL,
  PRIMARY KEY (bucket, endpoint_id)
) STRICT, WITHOUT ROWID;
