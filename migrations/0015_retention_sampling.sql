-- Retention per project (docs/retention.md) and sampling (docs/sampling.md).
--
-- Retention classes. An entry is written with its project's retention in
-- days at the time of writing (retention_days; 0 = the platform's default,
-- DEVSMITH_RETENTION). Each day's partition of logs.entries is itself
-- partitioned by LIST (retention_days): entries_YYYYMMDD holds
-- entries_YYYYMMDD_r0 (the default class), entries_YYYYMMDD_r7, ... one leaf
-- per retention value in use. A leaf is dropped whole once its day is past
-- its class's retention, so expiry never deletes rows one by one, whatever
-- mix of retentions the projects have.
--
-- A unique constraint on a partitioned table must hold every partitioning
-- column; entry ids are unique by construction (blocks of a sequence), so the
-- key (project_id, ts, id) becomes a plain index, which serves the same
-- reads (ranges and keyset pages).

ALTER TABLE logs.projects
    ADD COLUMN retention_days integer CHECK (retention_days > 0), -- NULL: the platform's default
    ADD COLUMN retention_changed_at timestamptz;                  -- when retention_days last changed (a shortened retention purges the entries kept under the former one)

-- Sampling rules: a fraction of TRACE/DEBUG and of INFO entries kept per
-- project and service ('' = every service without a rule of its own).
CREATE TABLE logs.sampling_rules (
    project_id   bigint NOT NULL REFERENCES logs.projects (id) ON DELETE CASCADE,
    service_name text   NOT NULL DEFAULT '',
    debug_rate   real   NOT NULL CHECK (debug_rate > 0 AND debug_rate <= 1),
    info_rate    real   NOT NULL CHECK (info_rate > 0 AND info_rate <= 1),
    PRIMARY KEY (project_id, service_name)
);

ALTER TABLE logs.entries
    ADD COLUMN retention_days smallint NOT NULL DEFAULT 0,   -- the class: 0 = the default
    ADD COLUMN sample_rate    real;              -- NULL: not sampled; else the fraction kept

-- Entries a sampling rule left out, counted exactly at ingest.
ALTER TABLE logs.entry_rollups
    ADD COLUMN sampled_out bigint NOT NULL DEFAULT 0;

-- Every existing day partition becomes a LIST-partitioned table whose
-- default-class leaf is the old table: no row is rewritten; each old table is
-- scanned once (the partition constraint) and gets the new key index.
CREATE TEMP TABLE entries_days ON COMMIT DROP AS
SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'logs.entries'::regclass;

DO $$
DECLARE
    d record;
    pk text;
BEGIN
    FOR d IN SELECT name FROM entries_days ORDER BY name LOOP
        EXECUTE format('ALTER TABLE logs.entries DETACH PARTITION logs.%I', d.name);
        SELECT conname INTO pk FROM pg_constraint
        WHERE conrelid = format('logs.%I', d.name)::regclass AND contype = 'p';
        IF pk IS NOT NULL THEN
            EXECUTE format('ALTER TABLE logs.%I DROP CONSTRAINT %I', d.name, pk);
        END IF;
        EXECUTE format('ALTER TABLE logs.%I RENAME TO %I', d.name, d.name || '_r0');
    END LOOP;
END $$;

ALTER TABLE logs.entries DROP CONSTRAINT entries_pkey;
CREATE INDEX entries_key_idx ON logs.entries (project_id, ts, id);

DO $$
DECLARE
    d record;
BEGIN
    FOR d IN SELECT name, bound FROM entries_days ORDER BY name LOOP
        EXECUTE format('CREATE TABLE logs.%I PARTITION OF logs.entries %s PARTITION BY LIST (retention_days)', d.name, d.bound);
        EXECUTE format('ALTER TABLE logs.%I ATTACH PARTITION logs.%I FOR VALUES IN (0)', d.name, d.name || '_r0');
    END LOOP;
END $$;
