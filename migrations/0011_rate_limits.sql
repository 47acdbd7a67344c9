-- Rate limits (docs/rate-limits.md). A project may override the platform's
-- defaults (DEVSMITH_RATE_LIMIT_REQUESTS_PER_MINUTE per key and
-- DEVSMITH_RATE_LIMIT_LOGS_PER_SECOND per project); NULL means the default.
-- The limiters of every replica read these columns in the background (one
-- query every few seconds for the projects they have seen), never per batch.
ALTER TABLE logs.projects
    ADD COLUMN rate_limit_requests_per_minute integer CHECK (rate_limit_requests_per_minute > 0),
    ADD COLUMN rate_limit_logs_per_second     integer CHECK (rate_limit_logs_per_second > 0);

-- What each replica's limiter has admitted per bucket (a key's requests,
-- a project's entries): its running total since it started, written every
-- second in the background. Each replica reads the others' totals for the
-- buckets it holds and takes what they admitted since its previous read out
-- of its own token buckets, so a key's limit holds across replicas (shared
-- counters synced in the background; the error is measured in
-- docs/rate-limits.md). The numbers are worth nothing after a crash, so the
-- table is UNLOGGED; rows of replicas silent for ten minutes are deleted by
-- the limiters themselves.
CREATE UNLOGGED TABLE logs.rate_limit_usage (
    bucket     bytea       NOT NULL, -- kind byte + key digest, or kind byte + project id
    replica    uuid        NOT NULL, -- the limiter's random id, new at every start
    admitted   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket, replica)
);
CREATE INDEX rate_limit_usage_updated_idx ON logs.rate_limit_usage (updated_at);
