-- A scratch table for the storage probe (storage.store.ts): while writes are
-- failing, the edge commits one row of a few pages here and deletes it again,
-- to learn when the disk takes writes again. Normally empty.
CREATE TABLE storage_probe (
  id INTEGER PRIMARY KEY,
  written_at INTEGER NOT NULL,
  filler BLOB NOT NULL
);
