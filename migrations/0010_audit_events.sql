-- The audit trail (docs/audit.md): who signed in, created, changed or
-- deleted what, from where. The projects service writes each event in the
-- same transaction as the change it records (services/projects, audit.go).
-- Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE, so only
-- dropping a whole month's partition (retention) removes events.
-- Partitioned by month of time (UTC), named audit_events_YYYYMM; the
-- projects service creates the coming months ahead and drops those past
-- the audit retention. The migration creates this month and the next so
-- events can be written before the service's first maintenance pass.
CREATE SEQUENCE logs.audit_events_id_seq;
CREATE TABLE logs.audit_events (
    id               bigint      NOT NULL DEFAULT nextval('logs.audit_events_id_seq'),
    time             timestamptz NOT NULL DEFAULT now(),
    actor_user_id    bigint,                 -- NULL for a key or an unknown account
    actor_email      text        NOT NULL DEFAULT '',
    actor_key_prefix text        NOT NULL DEFAULT '',
    action           text        NOT NULL,
    project_id       bigint,                 -- NULL when no project is concerned
    project_slug     text        NOT NULL DEFAULT '',
    client_ip        text        NOT NULL DEFAULT '',
    user_agent       text        NOT NULL DEFAULT '',
    details          jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (time, id)
) PARTITION BY RANGE (time);
ALTER SEQUENCE logs.audit_events_id_seq OWNED BY logs.audit_events.id;

CREATE INDEX audit_events_project_idx ON logs.audit_events (project_id, time DESC, id DESC);

CREATE FUNCTION logs.audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'logs.audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON logs.audit_events
    FOR EACH ROW EXECUTE FUNCTION logs.audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON logs.audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION logs.audit_events_append_only();

DO $$
DECLARE
    m date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
    FOR i IN 0..1 LOOP
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS logs.%I PARTITION OF logs.audit_events FOR VALUES FROM (%L) TO (%L)',
            'audit_events_' || to_char(m + make_interval(months => i), 'YYYYMM'),
            (m + make_interval(months => i))::timestamp AT TIME ZONE 'UTC',
            (m + make_interval(months => i + 1))::timestamp AT TIME ZONE 'UTC');
    END LOOP;
END;
$$;
