-- Opt-in deduplication per endpoint (issue #12).
--
-- An endpoint with dedup_window_ms > 0 stores a webhook whose provider id
-- (Stripe event id, X-GitHub-Delivery, Standard Webhooks webhook-id,
-- Telegram update_id) it already received within that window as a duplicate:
-- stored, marked with duplicate_of, and not delivered again. 0 (the default)
-- keeps the rule of the spec: every webhook is delivered; destinations are
-- idempotent.
ALTER TABLE endpoint ADD COLUMN dedup_window_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook ADD COLUMN dedup_key TEXT;
ALTER TABLE webhook ADD COLUMN duplicate_of TEXT;
CREATE INDEX webhook_dedup ON webhook (endpoint_id, dedup_key, received_at) WHERE dedup_key IS NOT NULL;
