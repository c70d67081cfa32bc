-- One-time background jobs of an upgrade, and how far each got (issue #12).
--
-- seal-secret-headers: webhooks stored before secret-bearing headers were
-- sealed (Authorization, Cookie, X-Telegram-Bot-Api-Secret-Token, …) hold
-- them as received; the edge seals them in batches after start, remembering
-- the last row done, so an interrupted run goes on where it stopped.
CREATE TABLE upgrade_job (
  name      TEXT PRIMARY KEY,
  after_seq INTEGER NOT NULL DEFAULT 0,
  done_at   INTEGER
) STRICT;

INSERT INTO upgrade_job (name) VALUES ('seal-secret-headers');
