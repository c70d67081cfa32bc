-- Indexes for the admin API's webhook list, queue stats and status counts
-- (webhook.store.ts), so they stay fast at 100,000+ rows.

-- Endpoint + status filter (newest first by seq), per-endpoint queue stats,
-- and an endpoint's failed / dead-lettered webhooks for bulk replay.
CREATE INDEX webhook_by_endpoint_status ON webhook (endpoint_id, status, seq);

-- Replaces webhook_by_received: same lookups on received_at, and it covers the
-- "received since T, by status" counts of the status API (no row lookups).
CREATE INDEX webhook_by_received_status ON webhook (received_at, status);
DROP INDEX webhook_by_received;
