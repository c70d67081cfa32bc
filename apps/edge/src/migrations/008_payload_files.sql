-- Payload files (payload/, issue #11).
--
-- A body larger than 1 MiB is no longer a blob in webhook_body: it is a file
-- in <DATABASE_PATH>-payloads/, named by payload_file, and its payload column
-- is empty. Smaller bodies stay in the row. Existing rows keep their bodies
-- where they are; the payload service moves large ones to files afterwards.
--
-- payload_sha256 (hex) is computed at ingest; rows from before are filled in
-- when first shown.
--
-- When a row naming a file goes (retention, endpoint deletion: both cascade
-- here), the trigger records the name in payload_file_gone, in the same
-- transaction; the payload service deletes those files and the names. So a
-- file outlives its row only until the next collection, never the other way.
ALTER TABLE webhook_body ADD COLUMN payload_file TEXT;
ALTER TABLE webhook ADD COLUMN payload_sha256 TEXT;

CREATE TABLE payload_file_gone (
  name TEXT PRIMARY KEY
) STRICT;

CREATE TRIGGER webhook_body_file_gone AFTER DELETE ON webhook_body
WHEN OLD.payload_file IS NOT NULL
BEGIN
  INSERT OR IGNORE INTO payload_file_gone (name) VALUES (OLD.payload_file);
END;

CREATE INDEX webhook_body_file ON webhook_body (payload_file) WHERE payload_file IS NOT NULL;
