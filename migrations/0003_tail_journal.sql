-- The live tail's journal: one row per project per ingestion transaction,
-- written in that transaction, naming the id and time ranges of the entries
-- it wrote (services/ingestion/tailnotify). The NOTIFY that comes with each
-- commit only wakes the query services; they read this table from where
-- their last read's snapshot left off (xid at or past its xmax, or in its
-- in-progress list), so an entry committed while a listener was
-- disconnected is still streamed, and a client can resume a tail from an
-- SSE Last-Event-ID. Rows older than a few minutes are pruned by the
-- ingestion service.
CREATE TABLE logs.tail_journal (
    xid        xid8        NOT NULL DEFAULT pg_current_xact_id(),
    project_id bigint      NOT NULL,
    min_id     bigint      NOT NULL,
    max_id     bigint      NOT NULL,
    min_ts     timestamptz NOT NULL,
    max_ts     timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (xid, project_id)
);
CREATE INDEX tail_journal_created_at_idx ON logs.tail_journal (created_at);
