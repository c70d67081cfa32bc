-- Retention purges every settled webhook (issue #12).
--
-- Until now only delivered, dead-lettered and filtered webhooks were purged
-- after RETENTION_DAYS; failed and partial ones (one destination delivered,
-- another failed) kept their payloads and headers forever. Every webhook that
-- left pending is purged now, with its body (webhook_body cascades; payload
-- files follow through 008's trigger), deliveries and attempts.
--
-- note: queue.store.ts's purge uses the same condition, so SQLite uses this index.
DROP INDEX webhook_settled;
CREATE INDEX webhook_settled ON webhook (settled_at) WHERE status <> 'pending';
