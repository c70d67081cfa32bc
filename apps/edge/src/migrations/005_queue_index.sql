-- The partial queue index duplicates webhook_by_endpoint_status (endpoint_id, status, seq)
-- from 002; every ingest paid for both. The queue queries use the 002 index.
DROP INDEX IF EXISTS webhook_queue;
