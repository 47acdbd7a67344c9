-- Log patterns. Every entry carries the signature of its message: the hash
-- of its tokens with every variable masked (internal/logstore/signature),
-- computed by the ingestion service as it writes the entry. The analysis
-- service groups signatures into patterns (docs/analysis.md): an entry's
-- pattern is the pattern of its signature, so an entry is in exactly one
-- pattern of its project, and a merge of two patterns re-points signature
-- rows, never entries.
--
-- Entries stored before this migration have signature 0, the overflow
-- pattern's id (template "<overflow>"). Adding a column with a constant
-- default rewrites nothing.
ALTER TABLE logs.entries ADD COLUMN signature bigint NOT NULL DEFAULT 0;

-- One row per distinct signature of a project, inserted in the transaction
-- that writes its first entry, so a committed entry's signature always has
-- its row. pattern_id is NULL until the
-- analysis service has mined the row's message; mined_seq is the order it
-- was mined in, which a restarting miner replays to rebuild the same
-- patterns.
CREATE TABLE logs.pattern_signatures (
    project_id bigint      NOT NULL,
    signature  bigint      NOT NULL,
    message    text        NOT NULL,             -- the first message seen with this signature
    first_seen timestamptz NOT NULL,             -- the oldest ts written with it
    created_at timestamptz NOT NULL DEFAULT now(),
    pattern_id bigint,                            -- the live pattern; NULL until mined
    mined_seq  bigint,
    PRIMARY KEY (project_id, signature)
);
CREATE INDEX pattern_signatures_unmined_idx ON logs.pattern_signatures (created_at) WHERE pattern_id IS NULL;
CREATE INDEX pattern_signatures_pattern_idx ON logs.pattern_signatures (project_id, pattern_id);

-- The patterns of each project, written by the analysis service's miner.
-- A pattern merged into another keeps its row with merged_into set (its id
-- still resolves), and no signature points at it any more.
CREATE TABLE logs.patterns (
    project_id  bigint      NOT NULL,
    id          bigint      NOT NULL,
    template    text        NOT NULL,
    merged_into bigint,
    first_seen  timestamptz NOT NULL,            -- first_seen of its founding signature
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, id)
);
