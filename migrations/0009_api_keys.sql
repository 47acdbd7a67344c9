-- Several API keys per project (docs/keys.md), each with a name, scopes and
-- an optional expiry. logs.api_keys becomes the one home of keys: every
-- project's key moves here as its default key and logs.projects.key_hash
-- goes.
--
-- key_hash is authn.Digest of the key (SHA-256), UNIQUE so a key is one
-- lookup by index, and NULL once the key is revoked. Being a unique
-- column, an UPDATE of it conflicts with the FOR KEY SHARE lock ingestion
-- takes on the key rows of every write transaction: a revocation or
-- rotation waits for the writes that verified the key, and every later one
-- refuses it (services/ingestion/keys.go).
CREATE TABLE logs.api_keys (
    id                bigserial   PRIMARY KEY,
    project_id        bigint      NOT NULL REFERENCES logs.projects (id),
    name              text        NOT NULL CHECK (name <> '' AND length(name) <= 100),
    key_hash          bytea       UNIQUE,
    prefix            text        NOT NULL,
    last_four         text        NOT NULL DEFAULT '',
    scopes            text[]      NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['ingest', 'read']),
    expire_time       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_used_at      timestamptz,
    last_used_address text        NOT NULL DEFAULT '',
    is_default        boolean     NOT NULL DEFAULT false,
    revoked_at        timestamptz,
    CHECK ((key_hash IS NULL) = (revoked_at IS NOT NULL))
);
CREATE INDEX api_keys_project_idx ON logs.api_keys (project_id, created_at, id) WHERE revoked_at IS NULL;
-- One live default key per project: the one RegenerateProjectKey replaces.
CREATE UNIQUE INDEX api_keys_default_idx ON logs.api_keys (project_id) WHERE is_default AND revoked_at IS NULL;

-- The addresses each key was seen from, so a new one is audited once
-- (key.new_address).
CREATE TABLE logs.api_key_addresses (
    key_id     bigint      NOT NULL REFERENCES logs.api_keys (id),
    address    text        NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, address)
);

-- The existing keys become default keys that may only ingest (all they
-- ever did). Their prefix and last four characters cannot be recovered
-- from a digest: the prefix is 'dsk_' alone and last_four is empty.
-- Deleted projects' keys (key_hash NULL) are moved as revoked keys.
INSERT INTO logs.api_keys (project_id, name, key_hash, prefix, last_four, scopes, created_at, is_default, revoked_at)
SELECT id, 'default', key_hash, 'dsk_', '', ARRAY['ingest'], created_at, true,
       CASE WHEN key_hash IS NULL THEN coalesce(deleted_at, updated_at) END
FROM logs.projects ORDER BY id;

ALTER TABLE logs.projects DROP COLUMN key_hash;
