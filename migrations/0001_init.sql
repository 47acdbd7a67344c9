-- DevSmith Logs schema. Forward only: never edit a migration that has
-- shipped; add the next number instead.

CREATE SCHEMA IF NOT EXISTS logs;

CREATE TABLE logs.users (
    id            bigserial PRIMARY KEY,
    email         text        NOT NULL,
    password_hash text        NOT NULL,            -- bcrypt
    role          text        NOT NULL CHECK (role IN ('admin', 'member')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON logs.users (lower(email));

CREATE TABLE logs.sessions (
    token_hash bytea       PRIMARY KEY,            -- SHA-256 of the token
    user_id    bigint      NOT NULL REFERENCES logs.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expires_at_idx ON logs.sessions (expires_at);

CREATE TABLE logs.projects (
    id             bigserial PRIMARY KEY,
    owner_id       bigint      REFERENCES logs.users (id) ON DELETE SET NULL,
    name           text        NOT NULL,
    slug           text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{1,100}$'),
    description    text        NOT NULL DEFAULT '',
    repository_url text        NOT NULL DEFAULT '',
    key_hash       bytea       UNIQUE,             -- SHA-256 of the API key; NULL once deleted
    is_active      boolean     NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz
);

CREATE TABLE logs.project_members (
    project_id bigint      NOT NULL REFERENCES logs.projects (id),
    user_id    bigint      NOT NULL REFERENCES logs.users (id) ON DELETE CASCADE,
    role       text        NOT NULL CHECK (role IN ('viewer', 'maintainer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user_idx ON logs.project_members (user_id);

-- Log entries, range-partitioned by day of ts (UTC). Partitions are created
-- ahead and dropped past retention by the ingestion service. project_id and
-- ts lead the primary key so the table can be distributed by project.
-- Ids come in blocks: the ingestion writers treat each nextval as the start
-- of 1024 ids [v, v+1024) that they assign themselves, so one round trip
-- serves many rows. Ids are unique, not dense, and not in commit order.
CREATE SEQUENCE logs.entries_id_seq INCREMENT BY 1024;
CREATE TABLE logs.entries (
    project_id   bigint      NOT NULL,
    ts           timestamptz NOT NULL,
    id           bigint      NOT NULL DEFAULT nextval('logs.entries_id_seq'),
    service_name text        NOT NULL,
    level        smallint    NOT NULL,             -- 1 TRACE, 2 DEBUG, 3 INFO, 4 WARN, 5 ERROR, 6 FATAL
    message      text        NOT NULL,
    context      jsonb       NOT NULL DEFAULT '{}',
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, ts, id)
) PARTITION BY RANGE (ts);
CREATE INDEX entries_service_idx ON logs.entries (project_id, service_name, ts);

-- Exact per-day counts, maintained in the same transaction as the entries
-- they count and dropped with their partition: project lists and service
-- lists read these instead of counting entries.
CREATE TABLE logs.entry_rollups (
    project_id   bigint      NOT NULL,
    service_name text        NOT NULL,
    day          date        NOT NULL,
    count        bigint      NOT NULL,
    last_log_at  timestamptz NOT NULL,
    PRIMARY KEY (project_id, service_name, day)
);

-- Batches committed with a client batch_id, kept 24 hours, so a retried
-- batch gets its first answer again and stores nothing.
CREATE TABLE logs.ingested_batches (
    project_id bigint      NOT NULL,
    batch_id   text        NOT NULL,
    response   jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, batch_id)
);
CREATE INDEX ingested_batches_created_at_idx ON logs.ingested_batches (created_at);
