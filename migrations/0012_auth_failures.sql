-- Failed sign-ins and invalid API keys, counted where every replica of the
-- projects service sees them (services/projects, lockout.go; docs/security.md).
-- One row per counted subject: a client address or an account (the
-- lowercased email tried, whether or not a user has it). A row counts the
-- failures of a window that began with its first failure; reaching the
-- limit within the window locks the subject until locked_until. Only
-- failures write here: a good sign-in or key reads at most.
CREATE TABLE logs.auth_failures (
    scope        text        NOT NULL CHECK (scope IN ('address', 'account', 'key_address')),
    subject      text        NOT NULL,
    window_start timestamptz NOT NULL,
    failures     integer     NOT NULL,
    locked_until timestamptz,
    PRIMARY KEY (scope, subject)
);
-- The sweep deletes rows whose window and lock have both ended.
CREATE INDEX auth_failures_window_start_idx ON logs.auth_failures (window_start);
