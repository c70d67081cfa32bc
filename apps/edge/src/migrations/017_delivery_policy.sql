-- Delivery policy per destination (issue #13): ordering (strict or
-- concurrent with a limit), per-attempt timeout, retry limits, headers added
-- to each forward, and what happens to unverified webhooks. NULL keeps
-- today's behaviour (strict, the hub's timeout, 7 days, nothing added,
-- unverified ones delivered).
ALTER TABLE destination ADD COLUMN policy TEXT;          -- JSON, without the headers
ALTER TABLE destination ADD COLUMN policy_headers TEXT;  -- sealed with ENCRYPTION_KEY: JSON [[name, value], …]

-- A delivery held because its webhook was unverified and its destination
-- holds those: pending but out of the queue until an operator releases it
-- (it then joins the tail) or skips it.
ALTER TABLE delivery ADD COLUMN held_at INTEGER;
CREATE INDEX delivery_held ON delivery (destination_id, seq) WHERE held_at IS NOT NULL;
