-- Whether each hub forwards only to HUB_ALLOWED_DESTINATIONS (issue #12).
--
-- A hub says so when it opens its stream: 'set' (an allowlist), 'none'
-- (any address the edge names: the Hubs page and status warn); NULL for a
-- hub that never said (from before, or never connected).
ALTER TABLE hub ADD COLUMN allowlist TEXT CHECK (allowlist IN ('set', 'none'));
