-- Full-text search over webhooks (issue #14): the first 64 KiB of each
-- text body and its header values (never the sealed, secret-bearing ones),
-- in a contentless FTS5 index keyed by webhook seq. Contentless: the text is
-- not stored twice, only the index. Filled in the background after ingest
-- (webhook/webhook.search.ts; `search_progress` says how far), so ingest
-- does not pay for it; emptied of a webhook when retention (or anything)
-- deletes it, by the trigger below.
CREATE VIRTUAL TABLE webhook_text USING fts5(text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2');

CREATE TABLE search_progress (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_through INTEGER NOT NULL       -- every webhook with seq ≤ this is indexed
) STRICT;
INSERT INTO search_progress (id, indexed_through) VALUES (1, 0);

CREATE TRIGGER webhook_text_forget AFTER DELETE ON webhook BEGIN
  DELETE FROM webhook_text WHERE rowid = old.seq;
END;
