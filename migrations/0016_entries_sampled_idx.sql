-- The sampled entries' own index (docs/sampling.md): stats count every
-- entry with an index-only scan of entries_service_level_idx, and add what
-- the sampled ones stand for (sum of 1/sample_rate) from this partial index,
-- which holds only the entries a sampling rule kept: empty, and free, for
-- projects that sample nothing. Reading sample_rate in the main count would
-- visit every row's heap tuple (measured: a project's 24 h stats 274 ms →
-- 1,489 ms over 500k entries).
CREATE INDEX entries_sampled_idx ON logs.entries (project_id, ts) INCLUDE (service_name, level, sample_rate)
    WHERE sample_rate IS NOT NULL;
