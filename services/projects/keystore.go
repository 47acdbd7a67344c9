package projects

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// apiKey is a row of logs.api_keys (never its secret).
type apiKey struct {
	ID              int64
	ProjectID       int64
	Name            string
	Scopes          []string
	Prefix          string
	LastFour        string
	ExpireTime      *time.Time
	CreatedAt       time.Time
	LastUsedAt      *time.Time
	LastUsedAddress string
	IsDefault       bool
}

// newKey is a key to insert: its row and its digest.
type newKey struct {
	apiKey
	Hash []byte
}

// keyShape returns the recognisable parts of a key as listed: `dsk_` and
// four characters, and the last four.
func keyShape(key string) (prefix, lastFour string) {
	return key[:min(len(key), 8)], key[max(0, len(key)-4):]
}

const keyColumns = `id, project_id, name, scopes, prefix, last_four, expire_time, created_at,
	last_used_at, last_used_address, is_default`

func scanKey(row pgx.Row) (apiKey, error) {
	var k apiKey
	err := row.Scan(&k.ID, &k.ProjectID, &k.Name, &k.Scopes, &k.Prefix, &k.LastFour, &k.ExpireTime,
		&k.CreatedAt, &k.LastUsedAt, &k.LastUsedAddress, &k.IsDefault)
	return k, err
}

// insertKey stores a key in tx and returns its row.
func insertKey(ctx context.Context, tx pgx.Tx, k newKey) (apiKey, error) {
	out, err := scanKey(tx.QueryRow(ctx, `INSERT INTO logs.api_keys
		(project_id, name, key_hash, prefix, last_four, scopes, expire_time, is_default)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+keyColumns,
		k.ProjectID, k.Name, k.Hash, k.Prefix, k.LastFour, k.Scopes, k.ExpireTime, k.IsDefault))
	if err != nil {
		return apiKey{}, fmt.Errorf("inserting API key of project %d: %w", k.ProjectID, err)
	}
	return out, nil
}

// listKeys returns up to limit live keys of a project, oldest first, after
// the key if given.
func (st *store) listKeys(ctx context.Context, projectID int64, after *pageKey, limit int) ([]apiKey, error) {
	var t *time.Time
	var id int64
	if after != nil {
		t, id = &after.T, after.ID
	}
	rows, err := st.pool.Query(ctx, `SELECT `+keyColumns+` FROM logs.api_keys
		WHERE project_id = $1 AND revoked_at IS NULL
		  AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::bigint))
		ORDER BY created_at, id LIMIT $4`, projectID, t, id, limit)
	if err != nil {
		return nil, fmt.Errorf("listing keys of project %d: %w", projectID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (apiKey, error) { return scanKey(r) })
	if err != nil {
		return nil, fmt.Errorf("reading keys of project %d: %w", projectID, err)
	}
	return out, nil
}

// revokeKey revokes a live key of a project in tx: its digest goes (an
// UPDATE of the unique column, which waits for the write transactions
// holding FOR KEY SHARE on the row), so no lookup finds it again. found is
// false when the project has no such live key.
func revokeKey(ctx context.Context, tx pgx.Tx, projectID, keyID int64) (k apiKey, found bool, err error) {
	k, err = scanKey(tx.QueryRow(ctx, `UPDATE logs.api_keys SET key_hash = NULL, revoked_at = now()
		WHERE id = $1 AND project_id = $2 AND revoked_at IS NULL RETURNING `+keyColumns, keyID, projectID))
	if errors.Is(err, pgx.ErrNoRows) {
		return apiKey{}, false, nil
	}
	if err != nil {
		return apiKey{}, false, fmt.Errorf("revoking key %d of project %d: %w", keyID, projectID, err)
	}
	return k, true, nil
}

// revokeProjectKeys revokes every live key of a project in tx and tells
// how many there were.
func revokeProjectKeys(ctx context.Context, tx pgx.Tx, projectID int64) (int64, error) {
	tag, err := tx.Exec(ctx, `UPDATE logs.api_keys SET key_hash = NULL, revoked_at = now()
		WHERE project_id = $1 AND revoked_at IS NULL`, projectID)
	if err != nil {
		return 0, fmt.Errorf("revoking keys of project %d: %w", projectID, err)
	}
	return tag.RowsAffected(), nil
}

// rotateDefaultKey gives a project's default key a new secret in tx (the
// old digest is replaced, so it is refused at once, as revokeKey's is). A
// project whose default key was revoked gets a new one, ingest only as
// default keys are.
func rotateDefaultKey(ctx context.Context, tx pgx.Tx, projectID int64, k newKey) (apiKey, error) {
	out, err := scanKey(tx.QueryRow(ctx, `UPDATE logs.api_keys
		SET key_hash = $2, prefix = $3, last_four = $4, last_used_at = NULL, last_used_address = ''
		WHERE project_id = $1 AND is_default AND revoked_at IS NULL RETURNING `+keyColumns,
		projectID, k.Hash, k.Prefix, k.LastFour))
	if errors.Is(err, pgx.ErrNoRows) {
		k.ProjectID, k.Name, k.Scopes, k.IsDefault = projectID, defaultKeyName, defaultKeyScopes(), true
		return insertKey(ctx, tx, k)
	}
	if err != nil {
		return apiKey{}, fmt.Errorf("rotating the default key of project %d: %w", projectID, err)
	}
	return out, nil
}

// resolvedKey is what a lookup of a key's digest finds.
type resolvedKey struct {
	apiKey
	ProjectSlug string
	Expired     bool // by the database's clock
}

// resolveAPIKey finds the live key of an active project with a digest:
// one lookup by the unique index on key_hash. Revoked keys have no digest,
// so they are not found.
func (st *store) resolveAPIKey(ctx context.Context, keyHash []byte) (resolvedKey, error) {
	var r resolvedKey
	err := st.pool.QueryRow(ctx, `SELECT k.id, k.project_id, k.name, k.scopes, k.prefix, k.last_four,
		k.expire_time, k.created_at, k.last_used_at, k.last_used_address, k.is_default,
		p.slug, coalesce(k.expire_time <= now(), false)
		FROM logs.api_keys k JOIN logs.projects p ON p.id = k.project_id
		WHERE k.key_hash = $1 AND p.is_active`, keyHash).Scan(
		&r.ID, &r.ProjectID, &r.Name, &r.Scopes, &r.Prefix, &r.LastFour, &r.ExpireTime, &r.CreatedAt,
		&r.LastUsedAt, &r.LastUsedAddress, &r.IsDefault, &r.ProjectSlug, &r.Expired)
	if errors.Is(err, pgx.ErrNoRows) {
		return resolvedKey{}, errBadAPIKey
	}
	if err != nil {
		return resolvedKey{}, fmt.Errorf("looking up API key: %w", err)
	}
	return r, nil
}

// keyUse is one report of a key's use: when (to the minute) and from where.
type keyUse struct {
	KeyID   int64
	Address string
	Time    time.Time
}

// usedKey is a live key whose use was recorded, and whether the address
// was new for it.
type usedKey struct {
	ProjectID   int64
	ProjectSlug string
	Prefix      string
	NewAddress  bool
}

// recordKeyUse stores a use of a live key in tx: last_used_at moves only
// forward, last_used_address follows it, and the address is remembered.
// found is false for a revoked or unknown key. The UPDATE touches no
// unique column, so it does not wait for ingestion's FOR KEY SHARE locks.
func recordKeyUse(ctx context.Context, tx pgx.Tx, u keyUse) (k usedKey, found bool, err error) {
	err = tx.QueryRow(ctx, `UPDATE logs.api_keys k
		SET last_used_at = greatest(k.last_used_at, $2),
		    last_used_address = CASE WHEN k.last_used_at IS NULL OR k.last_used_at <= $2 THEN $3 ELSE k.last_used_address END
		FROM logs.projects p
		WHERE k.id = $1 AND k.revoked_at IS NULL AND p.id = k.project_id
		RETURNING k.project_id, p.slug, k.prefix`, u.KeyID, u.Time, u.Address).Scan(&k.ProjectID, &k.ProjectSlug, &k.Prefix)
	if errors.Is(err, pgx.ErrNoRows) {
		return usedKey{}, false, nil
	}
	if err != nil {
		return usedKey{}, false, fmt.Errorf("recording use of key %d: %w", u.KeyID, err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO logs.api_key_addresses (key_id, address, first_seen) VALUES ($1, $2, $3)
		ON CONFLICT (key_id, address) DO NOTHING`, u.KeyID, u.Address, u.Time)
	if err != nil {
		return usedKey{}, false, fmt.Errorf("recording address of key %d: %w", u.KeyID, err)
	}
	k.NewAddress = tag.RowsAffected() == 1
	return k, true, nil
}
