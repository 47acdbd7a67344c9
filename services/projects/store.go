package projects

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/logstore"
)

// store holds the service's SQL. It returns wrapped errors, or client errors (apierr)
// whose message a caller may see (NotFound, AlreadyExists, ...).
type store struct {
	pool *pgxpool.Pool
}

// bootstrapLockKey serialises first-admin creation across replicas.
const bootstrapLockKey = 7_411_200_201

const (
	roleAdmin      = "admin"
	roleMember     = "member"
	roleOwner      = "owner"
	roleMaintainer = "maintainer"
	roleViewer     = "viewer"
)

type user struct {
	ID        int64
	Email     string
	Role      string
	CreatedAt time.Time
}

type project struct {
	ID            int64
	OwnerID       int64 // 0 when the owner was removed
	Name          string
	Slug          string
	Description   string
	RepositoryURL string
	IsActive      bool
	CreatedAt     time.Time
	LogCount      int64
	LastLogAt     *time.Time
	// Role is the caller's role: owner, maintainer, viewer, admin, or ""
	// when the caller may not read the project.
	Role string
	// RequestsPerMinute and LogsPerSecond are the project's own rate
	// limits; nil: the platform's default (update.go).
	RequestsPerMinute, LogsPerSecond *int32
	// RetentionDays is the project's own retention; nil: the platform's
	// default (update.go).
	RetentionDays *int32
	// OldestLogAt is the timestamp of its oldest entry kept; nil when none.
	OldestLogAt *time.Time
	// SampledOut counts the entries its sampling rules left out.
	SampledOut int64
	// Sampling are its sampling rules, by service name.
	Sampling []samplingRule
}

type member struct {
	UserID    int64
	Email     string
	Role      string
	CreatedAt time.Time
}

// pageKey is the sort key of the last row of a page.
type pageKey struct {
	T  time.Time
	ID int64
}

func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint
}

// --- users ---

const userColumns = `id, email, role, created_at`

func scanUser(row pgx.Row) (user, error) {
	var u user
	err := row.Scan(&u.ID, &u.Email, &u.Role, &u.CreatedAt)
	return u, err
}

func (st *store) createUser(ctx context.Context, tx pgx.Tx, email, passwordHash, role string) (user, error) {
	u, err := scanUser(tx.QueryRow(ctx,
		`INSERT INTO logs.users (email, password_hash, role) VALUES ($1, $2, $3) RETURNING `+userColumns,
		email, passwordHash, role))
	if isUniqueViolation(err, "users_email_key") {
		return user{}, apierr.Existsf("a user with email %s already exists", email)
	}
	if err != nil {
		return user{}, fmt.Errorf("inserting user: %w", err)
	}
	return u, nil
}

// bootstrapAdmin creates an admin when no user exists, under an advisory
// lock so that replicas starting together make only one. It tells whether
// it created the user.
func (st *store) bootstrapAdmin(ctx context.Context, email, passwordHash string, actor auditActor) (bool, error) {
	tx, err := st.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("beginning bootstrap transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(bootstrapLockKey)); err != nil {
		return false, fmt.Errorf("taking bootstrap lock: %w", err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM logs.users)`).Scan(&exists); err != nil {
		return false, fmt.Errorf("checking for users: %w", err)
	}
	if exists {
		return false, nil
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO logs.users (email, password_hash, role) VALUES ($1, $2, 'admin') RETURNING id`,
		email, passwordHash).Scan(&id); err != nil {
		return false, fmt.Errorf("inserting first admin: %w", err)
	}
	if err := recordAudit(ctx, tx, actor, auditEvent{Action: auditUserCreate, Details: map[string]any{
		"user_id": id, "email": email, "role": roleAdmin, "first_admin": true,
	}}); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("committing first admin: %w", err)
	}
	return true, nil
}

func (st *store) hasUsers(ctx context.Context) (bool, error) {
	var exists bool
	if err := st.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM logs.users)`).Scan(&exists); err != nil {
		return false, fmt.Errorf("checking for users: %w", err)
	}
	return exists, nil
}

// userByEmail finds a user and their password hash, case-insensitively.
// found is false when there is none.
func (st *store) userByEmail(ctx context.Context, email string) (u user, passwordHash string, found bool, err error) {
	err = st.pool.QueryRow(ctx,
		`SELECT `+userColumns+`, password_hash FROM logs.users WHERE lower(email) = lower($1)`, email).
		Scan(&u.ID, &u.Email, &u.Role, &u.CreatedAt, &passwordHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return user{}, "", false, nil
	}
	if err != nil {
		return user{}, "", false, fmt.Errorf("looking up user by email: %w", err)
	}
	return u, passwordHash, true, nil
}

func (st *store) userByID(ctx context.Context, id int64) (user, error) {
	u, err := scanUser(st.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM logs.users WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return user{}, apierr.NotFoundf("user %d not found", id)
	}
	if err != nil {
		return user{}, fmt.Errorf("looking up user %d: %w", id, err)
	}
	return u, nil
}

// listUsers returns up to limit users oldest first, after the key if given.
func (st *store) listUsers(ctx context.Context, after *pageKey, limit int) ([]user, error) {
	var t *time.Time
	var id int64
	if after != nil {
		t, id = &after.T, after.ID
	}
	rows, err := st.pool.Query(ctx, `SELECT `+userColumns+` FROM logs.users
		WHERE $1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::bigint)
		ORDER BY created_at, id LIMIT $3`, t, id, limit)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (user, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("reading users: %w", err)
	}
	return users, nil
}

// deleteUser removes a user in tx and returns them; the database cascades
// their sessions and memberships and clears the owner of their projects.
// The last admin cannot be removed: every admin row is locked while
// counting, so two admins removing each other at once cannot both succeed.
func (st *store) deleteUser(ctx context.Context, tx pgx.Tx, id int64) (user, error) {
	u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM logs.users WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return user{}, apierr.NotFoundf("user %d not found", id)
	}
	if err != nil {
		return user{}, fmt.Errorf("locking user %d: %w", id, err)
	}
	role := u.Role
	if role == roleAdmin {
		var admins int64
		if err := tx.QueryRow(ctx,
			`SELECT count(*) FROM (SELECT id FROM logs.users WHERE role = 'admin' ORDER BY id FOR UPDATE) a`).Scan(&admins); err != nil {
			return user{}, fmt.Errorf("counting admins: %w", err)
		}
		if admins <= 1 {
			return user{}, apierr.Preconditionf("user %d is the last admin and cannot be deleted", id)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM logs.users WHERE id = $1`, id); err != nil {
		return user{}, fmt.Errorf("deleting user %d: %w", id, err)
	}
	return u, nil
}

// --- sessions ---

// createSession stores a session lasting ttl from the database's clock (the
// clock that later checks it) and returns when it expires.
func (st *store) createSession(ctx context.Context, tx pgx.Tx, tokenHash []byte, userID int64, ttl time.Duration) (time.Time, error) {
	var expires time.Time
	if err := tx.QueryRow(ctx, `INSERT INTO logs.sessions (token_hash, user_id, expires_at)
		VALUES ($1, $2, now() + $3::bigint * interval '1 microsecond') RETURNING expires_at`,
		tokenHash, userID, ttl.Microseconds()).Scan(&expires); err != nil {
		return time.Time{}, fmt.Errorf("inserting session: %w", err)
	}
	return expires, nil
}

// sessionUser returns the user of an unexpired session.
func (st *store) sessionUser(ctx context.Context, tokenHash []byte) (user, error) {
	u, err := scanUser(st.pool.QueryRow(ctx, `SELECT u.id, u.email, u.role, u.created_at
		FROM logs.sessions s JOIN logs.users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > now()`, tokenHash))
	if errors.Is(err, pgx.ErrNoRows) {
		return user{}, errBadSession
	}
	if err != nil {
		return user{}, fmt.Errorf("looking up session: %w", err)
	}
	return u, nil
}

func (st *store) deleteSession(ctx context.Context, tx pgx.Tx, tokenHash []byte) error {
	if _, err := tx.Exec(ctx, `DELETE FROM logs.sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}

func (st *store) deleteExpiredSessions(ctx context.Context) (int64, error) {
	tag, err := st.pool.Exec(ctx, `DELETE FROM logs.sessions WHERE expires_at <= now()`)
	if err != nil {
		return 0, fmt.Errorf("deleting expired sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// --- projects ---

// projectFrom and projectRole take $1 = the caller's user id and $2 =
// whether the caller is an admin.
const (
	projectFrom = ` FROM logs.projects p
		LEFT JOIN logs.project_members m ON m.project_id = p.id AND m.user_id = $1`
	projectRole = `CASE WHEN p.owner_id = $1 THEN 'owner'
		WHEN m.role IS NOT NULL THEN m.role
		WHEN $2::boolean THEN 'admin' ELSE '' END`
	projectReadable = `($2::boolean OR p.owner_id = $1 OR m.user_id IS NOT NULL)`
	projectColumns  = `p.id, coalesce(p.owner_id, 0), p.name, p.slug, p.description, p.repository_url,
		p.is_active, p.created_at, ` + projectRole + `, coalesce(r.cnt, 0), r.last,
		p.rate_limit_requests_per_minute, p.rate_limit_logs_per_second, p.retention_days,
		coalesce(r.sampled_out, 0), o.oldest,
		coalesce(s.services, '{}'), coalesce(s.debug, '{}'), coalesce(s.info, '{}')`
	// projectOldest is a project's oldest entry kept: the first entry of
	// its rollups' oldest day onwards (docs/api.md, "Oldest entry kept").
	projectOldest = `
		LEFT JOIN LATERAL (
		SELECT min(e.ts) AS oldest FROM logs.entries e
		WHERE e.project_id = p.id AND e.ts >= r.first_day::timestamp AT TIME ZONE 'UTC') o ON true`
	// projectRollups reads a project's counts from its rollups, its oldest
	// entry kept (o: docs/api.md, "Oldest entry kept") and its sampling
	// rules (s).
	projectRollups = ` LEFT JOIN LATERAL (
		SELECT sum(e.count)::bigint AS cnt, max(e.last_log_at) AS last,
			sum(e.sampled_out)::bigint AS sampled_out, min(e.day) AS first_day
		FROM logs.entry_rollups e WHERE e.project_id = p.id) r ON true` + projectOldest + `
		LEFT JOIN LATERAL (
		SELECT array_agg(sr.service_name ORDER BY sr.service_name) AS services,
			array_agg(sr.debug_rate ORDER BY sr.service_name) AS debug,
			array_agg(sr.info_rate ORDER BY sr.service_name) AS info
		FROM logs.sampling_rules sr WHERE sr.project_id = p.id) s ON true`
)

func scanProject(row pgx.Row) (project, error) {
	var p project
	var services []string
	var debug, info []float32
	err := row.Scan(&p.ID, &p.OwnerID, &p.Name, &p.Slug, &p.Description, &p.RepositoryURL,
		&p.IsActive, &p.CreatedAt, &p.Role, &p.LogCount, &p.LastLogAt,
		&p.RequestsPerMinute, &p.LogsPerSecond, &p.RetentionDays,
		&p.SampledOut, &p.OldestLogAt, &services, &debug, &info)
	if err != nil || len(services) != len(debug) || len(services) != len(info) {
		return p, err
	}
	for i, svc := range services {
		p.Sampling = append(p.Sampling, samplingRule{Service: svc, DebugRate: logstore.Rate(debug[i]), InfoRate: logstore.Rate(info[i])})
	}
	return p, nil
}

// access lists every project a user may read with their role on it: all
// projects (deleted ones too) for an admin.
func (st *store) access(ctx context.Context, userID int64, isAdmin bool) ([]authn.ProjectAccess, error) {
	rows, err := st.pool.Query(ctx, `SELECT p.id, p.slug, `+projectRole+`, p.is_active`+projectFrom+`
		WHERE `+projectReadable+` ORDER BY p.id`, userID, isAdmin)
	if err != nil {
		return nil, fmt.Errorf("listing readable projects: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (authn.ProjectAccess, error) {
		var a authn.ProjectAccess
		err := r.Scan(&a.ID, &a.Slug, &a.Role, &a.IsActive)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading readable projects: %w", err)
	}
	return out, nil
}

// insertProject stores a project in tx.
func insertProject(ctx context.Context, tx pgx.Tx, ownerID int64, p project) (project, error) {
	err := tx.QueryRow(ctx, `INSERT INTO logs.projects (owner_id, name, slug, description, repository_url)
		VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at, is_active`,
		ownerID, p.Name, p.Slug, p.Description, p.RepositoryURL).Scan(&p.ID, &p.CreatedAt, &p.IsActive)
	if isUniqueViolation(err, "projects_slug_key") {
		return project{}, apierr.Existsf("slug %q is already taken", p.Slug)
	}
	if err != nil {
		return project{}, fmt.Errorf("inserting project: %w", err)
	}
	p.OwnerID = ownerID
	p.Role = roleOwner
	return p, nil
}

// listProjects returns up to limit projects the user may read, newest
// first, after the key if given.
func (st *store) listProjects(ctx context.Context, userID int64, isAdmin bool, after *pageKey, limit int) ([]project, error) {
	var t *time.Time
	var id int64
	if after != nil {
		t, id = &after.T, after.ID
	}
	rows, err := st.pool.Query(ctx, `SELECT `+projectColumns+projectFrom+projectRollups+`
		WHERE `+projectReadable+`
		  AND ($3::timestamptz IS NULL OR (p.created_at, p.id) < ($3::timestamptz, $4::bigint))
		ORDER BY p.created_at DESC, p.id DESC LIMIT $5`, userID, isAdmin, t, id, limit)
	if err != nil {
		return nil, fmt.Errorf("listing projects: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (project, error) { return scanProject(r) })
	if err != nil {
		return nil, fmt.Errorf("reading projects: %w", err)
	}
	return out, nil
}

// getProject returns a project with the caller's role on it ("" when the
// caller may not read it), or NotFound.
func (st *store) getProject(ctx context.Context, id, userID int64, isAdmin bool) (project, error) {
	p, err := scanProject(st.pool.QueryRow(ctx, `SELECT `+projectColumns+projectFrom+projectRollups+`
		WHERE p.id = $3`, userID, isAdmin, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return project{}, apierr.NotFoundf("project %d not found", id)
	}
	if err != nil {
		return project{}, fmt.Errorf("looking up project %d: %w", id, err)
	}
	return p, nil
}

// deleteProject soft-deletes a project in tx (its keys are revoked
// beside it, keys.go); the row and its logs stay. Deleting a deleted
// project changes nothing.
func deleteProject(ctx context.Context, tx pgx.Tx, id int64) error {
	if _, err := tx.Exec(ctx, `UPDATE logs.projects
		SET is_active = false, deleted_at = coalesce(deleted_at, now()), updated_at = now()
		WHERE id = $1`, id); err != nil {
		return fmt.Errorf("deleting project %d: %w", id, err)
	}
	return nil
}

// --- members ---

// listMembers returns up to limit members of a project in the order they
// were added, after the key if given.
func (st *store) listMembers(ctx context.Context, projectID int64, after *pageKey, limit int) ([]member, error) {
	var t *time.Time
	var id int64
	if after != nil {
		t, id = &after.T, after.ID
	}
	rows, err := st.pool.Query(ctx, `SELECT m.user_id, u.email, m.role, m.created_at
		FROM logs.project_members m JOIN logs.users u ON u.id = m.user_id
		WHERE m.project_id = $1
		  AND ($2::timestamptz IS NULL OR (m.created_at, m.user_id) > ($2::timestamptz, $3::bigint))
		ORDER BY m.created_at, m.user_id LIMIT $4`, projectID, t, id, limit)
	if err != nil {
		return nil, fmt.Errorf("listing members of project %d: %w", projectID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (member, error) {
		var m member
		err := r.Scan(&m.UserID, &m.Email, &m.Role, &m.CreatedAt)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading members of project %d: %w", projectID, err)
	}
	return out, nil
}

// upsertMember shares a project with the user who has the email, or changes
// their role if it is already shared with them, in tx.
func (st *store) upsertMember(ctx context.Context, tx pgx.Tx, p project, email, role string) (member, error) {
	u, _, found, err := st.userByEmail(ctx, email)
	if err != nil {
		return member{}, err
	}
	if !found {
		return member{}, apierr.NotFoundf("no user with email %s", email)
	}
	if u.ID == p.OwnerID {
		return member{}, apierr.Invalidf("email: %s owns project %d; an owner cannot also be a member", u.Email, p.ID)
	}
	m := member{UserID: u.ID, Email: u.Email, Role: role}
	err = tx.QueryRow(ctx, `INSERT INTO logs.project_members (project_id, user_id, role) VALUES ($1, $2, $3)
		ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role
		RETURNING created_at`, p.ID, u.ID, role).Scan(&m.CreatedAt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" { // the user was deleted meanwhile
		return member{}, apierr.NotFoundf("no user with email %s", email)
	}
	if err != nil {
		return member{}, fmt.Errorf("sharing project %d: %w", p.ID, err)
	}
	return m, nil
}

// removeMember stops sharing a project with a user in tx and returns the
// email and role they had.
func (st *store) removeMember(ctx context.Context, tx pgx.Tx, projectID, userID int64) (member, error) {
	m := member{UserID: userID}
	err := tx.QueryRow(ctx, `DELETE FROM logs.project_members m USING logs.users u
		WHERE m.project_id = $1 AND m.user_id = $2 AND u.id = m.user_id RETURNING u.email, m.role`,
		projectID, userID).Scan(&m.Email, &m.Role)
	if errors.Is(err, pgx.ErrNoRows) {
		return member{}, apierr.NotFoundf("user %d is not a member of project %d", userID, projectID)
	}
	if err != nil {
		return member{}, fmt.Errorf("removing member of project %d: %w", projectID, err)
	}
	return m, nil
}
