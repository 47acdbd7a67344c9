-- The pattern filter's index: `pattern=<id>` selects
-- (project_id, signature) IN (the pattern's signatures) (docs/analysis.md),
-- and without an index that reads the project's whole time range to find a
-- rare pattern's rows. Measured over 1M entries of one project, a page of a
-- pattern holding 2% of them went from 170-250 ms to 21 ms through the API;
-- ingestion's peak fell by about 4% (pairs 0.957, 1.041, 0.956, 0.943;
-- docs/performance.md), the table's third index.
--
-- On a large existing table this builds the index on every partition while
-- holding writes (about 1 s per million entries on 2 cores); ingestion
-- resumes when the migration commits.
SET LOCAL maintenance_work_mem = '256MB';
CREATE INDEX entries_signature_idx ON logs.entries (project_id, signature, ts);
