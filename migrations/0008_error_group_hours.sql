-- Error group counts per hour (docs/errors.md). The transaction that
-- writes entries with a fingerprint (logs.entries.error_fp <> 0) also adds
-- them here, one row per (project, fingerprint, hour of ts, level,
-- service): how many, and the oldest and newest ts. The error groups'
-- counts, first and last seen, trends and services over a range read the
-- range's whole hours from these rows and only its partial hours at either
-- end from entries_error_fp_idx: a day of 3M fingerprinted entries in 20
-- projects is about 150,000 rows here. Writers upsert in key order in the
-- commit's one statement (logstore.QueueCommitted), as they do
-- logs.entry_rollups. hour is aligned to the Unix epoch (date_bin), not to
-- a time zone. Rows older than the oldest partition of logs.entries are
-- deleted with the metric rollups.
CREATE TABLE logs.error_group_hours (
    project_id   bigint      NOT NULL,
    error_fp     bigint      NOT NULL,
    hour         timestamptz NOT NULL,
    level        smallint    NOT NULL,
    service_name text        NOT NULL,
    count        bigint      NOT NULL,
    first_ts     timestamptz NOT NULL,
    last_ts      timestamptz NOT NULL,
    PRIMARY KEY (project_id, error_fp, hour, level, service_name)
) WITH (fillfactor = 70); -- room for HOT updates of count, first_ts, last_ts

-- The projects' rows of a range of hours, for ranking their groups.
CREATE INDEX error_group_hours_range_idx ON logs.error_group_hours (project_id, hour);

-- Entries stored before this migration are counted too.
SET LOCAL work_mem = '256MB';
INSERT INTO logs.error_group_hours (project_id, error_fp, hour, level, service_name, count, first_ts, last_ts)
SELECT project_id, error_fp, date_bin('1 hour', ts, timestamptz '1970-01-01 00:00:00+00'), level, service_name, count(*), min(ts), max(ts)
FROM logs.entries WHERE error_fp <> 0
GROUP BY 1, 2, 3, 4, 5;
ANALYZE logs.error_group_hours;
