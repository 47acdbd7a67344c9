-- Error group counts per hour and level, without the service
-- (docs/errors.md): the sums of logs.error_group_hours (migration 0008)
-- over its services. Ranking every group of a range (ListErrorGroups
-- without a service filter) reads these rows: a day of 10M entries in 20
-- projects is about 64,000 of them against 289,000 per service. The
-- writers add them in the statement that adds the per-service rows, from
-- the same arrays, in key order (logstore.QueueCommitted). The primary key
-- leads with (project_id, hour): the ranking's range scan.
CREATE TABLE logs.error_group_level_hours (
    project_id bigint      NOT NULL,
    hour       timestamptz NOT NULL,
    error_fp   bigint      NOT NULL,
    level      smallint    NOT NULL,
    count      bigint      NOT NULL,
    first_ts   timestamptz NOT NULL,
    last_ts    timestamptz NOT NULL,
    PRIMARY KEY (project_id, hour, error_fp, level)
) WITH (fillfactor = 70); -- room for HOT updates of count, first_ts, last_ts

SET LOCAL work_mem = '256MB';
INSERT INTO logs.error_group_level_hours (project_id, hour, error_fp, level, count, first_ts, last_ts)
SELECT project_id, hour, error_fp, level, sum(count), min(first_ts), max(last_ts)
FROM logs.error_group_hours
GROUP BY 1, 2, 3, 4;
ANALYZE logs.error_group_level_hours;
