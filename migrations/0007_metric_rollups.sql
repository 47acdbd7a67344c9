-- Metric rollups (docs/metrics.md). For every entry whose context has a
-- summarised field (the ingestion service's --metric-fields, default
-- duration_ms) at its top level, the writer that stores the entry adds it
-- to one row per (project, minute of ts, field, service, dimensions) in
-- the same transaction: a committed entry is always counted, once. Rows
-- are only appended (no upsert: concurrent writers never wait on each
-- other); the analysis service's compactor merges each key's rows of a
-- minute into one (compacted) row, then, past two hours, each key's rows of
-- ten minutes into one row of minutes = 10 (so a day is 144 + 120 rows per
-- key, not 1440), and deletes the rows older than the oldest partition of
-- logs.entries. A row covers [minute, minute + minutes).
--
-- dims: the value of each dimension key (--metric-dimensions, default
-- route, method, status) as a JSON object of strings, every configured key
-- present ("" when the entry has none), so a reader knows which keys a row
-- can be grouped by. count, errors (counted entries with status >= 500 or
-- level ERROR or FATAL), sum, min, max and sketch (package
-- internal/logstore/sketch: the values exactly up to 1024 of them, else
-- logarithmic buckets with 1% relative error) cover the entries whose
-- field is a number; non_numeric counts those where it is present but not
-- a number.
CREATE TABLE logs.metric_rollups (
    project_id   bigint           NOT NULL,
    minute       timestamptz      NOT NULL,
    field        text             NOT NULL,
    service_name text             NOT NULL,
    dims         jsonb            NOT NULL,
    count        bigint           NOT NULL,
    errors       bigint           NOT NULL,
    non_numeric  bigint           NOT NULL,
    sum          double precision NOT NULL,
    min          double precision NOT NULL,
    max          double precision NOT NULL,
    sketch       bytea            NOT NULL,
    compacted    boolean          NOT NULL DEFAULT false,
    minutes      smallint         NOT NULL DEFAULT 1,
    created_at   timestamptz      NOT NULL DEFAULT now()
);
-- A query reads a field's rows of a range of minutes of some projects.
CREATE INDEX metric_rollups_query_idx ON logs.metric_rollups (project_id, field, minute);
-- The compactor finds the minutes with rows it has not merged yet.
CREATE INDEX metric_rollups_pending_idx ON logs.metric_rollups (minute) WHERE NOT compacted;
-- ... and the minute rows not yet merged into ten-minute rows.
CREATE INDEX metric_rollups_minute_rows_idx ON logs.metric_rollups (minute) WHERE minutes = 1;
