// Package partition keeps the partitions of logs.entries: one per UTC day,
// each partitioned again by retention class (migration 0015), created ahead
// of the data and dropped a leaf at a time once past its class's retention,
// never row by row (docs/retention.md).
//
// An entry's class is its project's retention in days when it was written
// (logs.entries.retention_days), 0 for the platform's default retention.
// The day partition entries_YYYYMMDD holds the leaves entries_YYYYMMDD_r0,
// entries_YYYYMMDD_r7, ...: the leaf of class c for day d is dropped once d
// ends before now minus c days (or the default retention for class 0), so
// each project's entries are kept for its retention rounded up to whole
// days, whatever the other projects' retentions.
//
// Its lock and listing (Locked, Children) serve other partitioned tables'
// maintenance too (the projects service's monthly logs.audit_events).
package partition

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lockKey serialises the creation of partitions across replicas.
const lockKey = 7_411_200_119

// dropLockKey serialises expiry (archiving and dropping leaves) across
// replicas; it is not lockKey, so that a long archive never delays the
// creation of the partitions writes need.
const dropLockKey = 7_411_200_121

// Ahead is how many days past today partitions exist.
const Ahead = 2

// DefaultClass is the retention class of projects without a retention of
// their own: the platform's default retention.
const DefaultClass = 0

// Name is the partition that holds entries of the UTC day of t.
func Name(t time.Time) string { return "entries_" + t.UTC().Format("20060102") }

// LeafName is the partition that holds entries of the UTC day of t written
// with retention class class.
func LeafName(t time.Time, class int) string { return Name(t) + "_r" + strconv.Itoa(class) }

// Day truncates t to its UTC day.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Retention is how long entries of class are kept: class days, or
// defaultRetention for DefaultClass.
func Retention(class int, defaultRetention time.Duration) time.Duration {
	if class == DefaultClass {
		return defaultRetention
	}
	return time.Duration(class) * 24 * time.Hour
}

// CutoffSQL is, in SQL, each project's cut-off as DropExpired keeps it:
// the UTC midnight of now minus its retention, its own (retentionDays, a
// column of logs.projects) else the default, the day of its oldest leaf
// kept (Day(now - Retention(class, default)) in Go). now and defaultMicros
// are the placeholders of the time and of the default retention in
// microseconds; the value is a timestamptz.
func CutoffSQL(retentionDays, now, defaultMicros string) string {
	return "date_bin('1 day', " + now + "::timestamptz - coalesce(" + retentionDays + " * interval '1 day', " +
		defaultMicros + "::bigint * interval '1 microsecond'), timestamptz '1970-01-01 00:00:00+00')"
}

// Classes returns the retention classes in use: DefaultClass and every
// project's own retention (logs.projects.retention_days), ascending.
func Classes(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]int, error) {
	rows, err := db.Query(ctx, `SELECT 0 UNION SELECT DISTINCT retention_days FROM logs.projects WHERE retention_days IS NOT NULL ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("reading retention classes: %w", err)
	}
	classes, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("reading retention classes: %w", err)
	}
	return classes, nil
}

// Ensure creates, for every retention class in use (Classes), the
// partitions of every day from its cut-off (now minus its retention) to
// Ahead days after now.
func Ensure(ctx context.Context, pool *pgxpool.Pool, now time.Time, defaultRetention time.Duration) error {
	return withLock(ctx, pool, func(conn *pgxpool.Conn) error {
		classes, err := Classes(ctx, conn)
		if err != nil {
			return err
		}
		for _, c := range classes {
			if err := ensureClass(ctx, conn, now, c, Retention(c, defaultRetention)); err != nil {
				return err
			}
		}
		return nil
	})
}

// EnsureClass creates the partitions of class (a retention in days, at
// least 1) for every day from now minus class days to Ahead days after now.
// A project's retention may be set to class once it has returned: from then
// on writes of that class find their partitions. Each partition is created
// in its own statement, so no lock is held for the whole range.
func EnsureClass(ctx context.Context, pool *pgxpool.Pool, now time.Time, class int) error {
	if class < 1 {
		return fmt.Errorf("retention class %d: must be at least 1 day", class)
	}
	return withLock(ctx, pool, func(conn *pgxpool.Conn) error {
		return ensureClass(ctx, conn, now, class, Retention(class, 0))
	})
}

func ensureClass(ctx context.Context, conn *pgxpool.Conn, now time.Time, class int, retention time.Duration) error {
	for d := Day(now.Add(-retention)); !d.After(Day(now).AddDate(0, 0, Ahead)); d = d.AddDate(0, 0, 1) {
		if err := CreateClass(ctx, conn, d, class); err != nil {
			return err
		}
	}
	return nil
}

type execer interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}

// Create makes the partition for the UTC day d, with its leaf of the
// default class, if they do not exist.
func Create(ctx context.Context, db execer, d time.Time) error {
	return CreateClass(ctx, db, d, DefaultClass)
}

// CreateClass makes the partition for the UTC day d and its leaf of class,
// if they do not exist.
func CreateClass(ctx context.Context, db execer, d time.Time, class int) error {
	d = Day(d)
	day := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS logs.%s PARTITION OF logs.entries FOR VALUES FROM ('%s') TO ('%s') PARTITION BY LIST (retention_days)`,
		Name(d), d.Format(time.RFC3339), d.AddDate(0, 0, 1).Format(time.RFC3339))
	if _, err := db.Exec(ctx, day); err != nil {
		return fmt.Errorf("creating partition %s: %w", Name(d), err)
	}
	leaf := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS logs.%s PARTITION OF logs.%s FOR VALUES IN (%d)`, LeafName(d, class), Name(d), class)
	if _, err := db.Exec(ctx, leaf); err != nil {
		return fmt.Errorf("creating partition %s: %w", LeafName(d, class), err)
	}
	return nil
}

// Leaf is one leaf partition of logs.entries: the entries of a day written
// with a retention class.
type Leaf struct {
	// Name is the table's name in schema logs.
	Name string
	// Day is the UTC day it holds: [Day, Day + 24 h).
	Day time.Time
	// Class is the retention class of its entries.
	Class int
}

// Leaves returns the leaf partitions of logs.entries, by day then class.
func Leaves(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]Leaf, error) {
	rows, err := db.Query(ctx, `SELECT l.relname FROM pg_inherits di
		JOIN pg_inherits li ON li.inhparent = di.inhrelid
		JOIN pg_class l ON l.oid = li.inhrelid
		WHERE di.inhparent = 'logs.entries'::regclass`)
	if err != nil {
		return nil, fmt.Errorf("listing leaf partitions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing leaf partitions: %w", err)
	}
	var out []Leaf
	for _, n := range names {
		if l, ok := parseLeaf(n); ok {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Day.Equal(out[j].Day) {
			return out[i].Day.Before(out[j].Day)
		}
		return out[i].Class < out[j].Class
	})
	return out, nil
}

func parseLeaf(name string) (Leaf, bool) {
	dayPart, classPart, ok := strings.Cut(strings.TrimPrefix(name, "entries_"), "_r")
	if !ok {
		return Leaf{}, false
	}
	day, err := time.Parse("20060102", dayPart)
	if err != nil {
		return Leaf{}, false
	}
	class, err := strconv.Atoi(classPart)
	if err != nil || class < 0 {
		return Leaf{}, false
	}
	return Leaf{Name: name, Day: day, Class: class}, true
}

// Archiver is called with a leaf about to be dropped, on a connection that
// holds the expiry lock; when it fails the leaf is kept and tried again on
// the next round.
type Archiver func(ctx context.Context, conn *pgxpool.Conn, leaf Leaf) error

// DropExpired drops every leaf whose whole day ends at or before its
// class's cut-off (now minus its retention; defaultRetention for the
// default class), once archive (when not nil) has archived it; then the
// rollup rows of the days it dropped whose project and service have no
// entries left that day, and the day partitions left without leaves. It
// returns the leaves dropped; a leaf that could not be archived or dropped
// is kept, and its error returned with the others.
func DropExpired(ctx context.Context, pool *pgxpool.Pool, now time.Time, defaultRetention time.Duration, archive Archiver) ([]string, error) {
	var dropped []string
	var errs []error
	err := Locked(ctx, pool, dropLockKey, func(conn *pgxpool.Conn) error {
		leaves, err := Leaves(ctx, conn)
		if err != nil {
			return err
		}
		days := map[time.Time]bool{}
		for _, l := range leaves {
			if !l.Day.Before(Day(now.Add(-Retention(l.Class, defaultRetention)))) {
				continue
			}
			if archive != nil {
				if err := archive(ctx, conn, l); err != nil {
					errs = append(errs, fmt.Errorf("archiving partition %s: %w", l.Name, err))
					continue
				}
			}
			if _, err := conn.Exec(ctx, "DROP TABLE logs."+pgx.Identifier{l.Name}.Sanitize()); err != nil {
				errs = append(errs, fmt.Errorf("dropping partition %s: %w", l.Name, err))
				continue
			}
			dropped = append(dropped, l.Name)
			days[l.Day] = true
		}
		for d := range days {
			if err := deleteEmptyRollups(ctx, conn, "r.day = $1", d); err != nil {
				errs = append(errs, fmt.Errorf("deleting the rollups of %s: %w", d.Format(time.DateOnly), err))
			}
		}
		if err := deleteSampledOutRollups(ctx, conn, now, defaultRetention); err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		return dropped, err
	}
	if err := dropEmptyDays(ctx, pool); err != nil {
		errs = append(errs, err)
	}
	return dropped, errors.Join(errs...)
}

// deleteSampledOutRollups deletes the rollup rows of sampled-out entries
// alone (count 0) whose day is before their project's cut-off: the UTC
// midnight of now minus its retention (its own, else defaultRetention), as
// its leaves are dropped.
func deleteSampledOutRollups(ctx context.Context, conn *pgxpool.Conn, now time.Time, defaultRetention time.Duration) error {
	_, err := conn.Exec(ctx, `DELETE FROM logs.entry_rollups r USING logs.projects p
		WHERE r.project_id = p.id AND r.count = 0
		AND r.day < (`+CutoffSQL("p.retention_days", "$1", "$2")+` AT TIME ZONE 'UTC')::date`, now, defaultRetention.Microseconds())
	if err != nil {
		return fmt.Errorf("deleting the rollups of sampled-out entries past their project's retention: %w", err)
	}
	return nil
}

// dropEmptyDays drops the day partitions that have no leaf left, under the
// creation lock (Ensure recreates a day it needs).
func dropEmptyDays(ctx context.Context, pool *pgxpool.Pool) error {
	return withLock(ctx, pool, func(conn *pgxpool.Conn) error {
		rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_inherits i
			JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = 'logs.entries'::regclass
			AND NOT EXISTS (SELECT 1 FROM pg_inherits l WHERE l.inhparent = c.oid)`)
		if err != nil {
			return fmt.Errorf("listing empty day partitions: %w", err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("listing empty day partitions: %w", err)
		}
		for _, n := range names {
			if _, err := conn.Exec(ctx, "DROP TABLE logs."+pgx.Identifier{n}.Sanitize()); err != nil {
				return fmt.Errorf("dropping partition %s: %w", n, err)
			}
		}
		return nil
	})
}

// List returns the names of the partitions of logs.entries, oldest first.
func List(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]string, error) {
	return Children(ctx, db, "entries")
}

// Children returns the names of the partitions of the partitioned table
// logs.<table>, in name order.
func Children(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, table string) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		JOIN pg_class p ON p.oid = i.inhparent
		JOIN pg_namespace n ON n.oid = p.relnamespace
		WHERE n.nspname = 'logs' AND p.relname = $1 ORDER BY c.relname`, table)
	if err != nil {
		return nil, fmt.Errorf("listing partitions of %s: %w", table, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing partitions of %s: %w", table, err)
	}
	return names, nil
}

func withLock(ctx context.Context, pool *pgxpool.Pool, fn func(*pgxpool.Conn) error) error {
	return Locked(ctx, pool, lockKey, fn)
}

// Locked runs fn on a connection of pool that holds the session advisory
// lock key for as long as fn runs, so that replicas maintaining the same
// partitions take turns.
func Locked(ctx context.Context, pool *pgxpool.Pool, key int64, fn func(*pgxpool.Conn) error) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquiring connection for partition maintenance: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("taking partition lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key) //nolint:errcheck
	return fn(conn)
}

// purgeChunk is how many rows one statement of PurgeShortened deletes.
const purgeChunk = 10_000

// PurgeShortened deletes the entries a shortened retention no longer
// keeps: for each project whose retention changed (retention_changed_at)
// within the longest retention of the leaves still stored, its rows of the
// days before its cut-off's day (now minus its retention, rounded down to
// its UTC day, as DropExpired keeps a leaf) written under another class.
// Rows of the project's own class are left to DropExpired, a leaf at a
// time.
//
// The work is bounded: new rows are written with the project's current
// class, so only rows written before the change match, each is deleted
// once, and past the longest class since the change there can be none left
// (their leaves are dropped). Each statement deletes at most purgeChunk
// rows of one project, found by the (project_id, ts, id) index, in its own
// transaction, so no long lock or transaction is held. It runs under the
// expiry lock, so replicas do not purge the same rows twice and no leaf is
// archived while rows of it are being deleted. It returns the rows
// deleted; the entry_rollups rows of the project's days before the cut-off
// day that have no entries left go too.
func PurgeShortened(ctx context.Context, pool *pgxpool.Pool, now time.Time, defaultRetention time.Duration) (int64, error) {
	var total int64
	err := Locked(ctx, pool, dropLockKey, func(conn *pgxpool.Conn) error {
		leaves, err := Leaves(ctx, conn)
		if err != nil {
			return err
		}
		longest := defaultRetention
		for _, l := range leaves {
			longest = max(longest, Retention(l.Class, defaultRetention))
		}
		rows, err := conn.Query(ctx, `SELECT id, coalesce(retention_days, 0) FROM logs.projects
			WHERE retention_changed_at > $1 ORDER BY id`, now.Add(-longest))
		if err != nil {
			return fmt.Errorf("reading projects whose retention changed: %w", err)
		}
		type project struct {
			id    int64
			class int
		}
		projects, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (project, error) {
			var p project
			return p, r.Scan(&p.id, &p.class)
		})
		if err != nil {
			return fmt.Errorf("reading projects whose retention changed: %w", err)
		}
		for _, p := range projects {
			n, err := purgeProject(ctx, conn, p.id, p.class, Day(now.Add(-Retention(p.class, defaultRetention))))
			total += n
			if err != nil {
				return err
			}
		}
		return nil
	})
	return total, err
}

// purgeProject deletes project's rows before cutoff (a UTC midnight) not
// of class, a chunk at a time, then its rollups of the days before cutoff
// left without entries.
func purgeProject(ctx context.Context, conn *pgxpool.Conn, project int64, class int, cutoff time.Time) (int64, error) {
	var total int64
	for {
		// The chunk ends at the purgeChunk-th row in key order, else takes
		// the rest; (ts, id) is unique within a project. The bound is a
		// constant of the DELETE, so that ts <= it is an index condition.
		end, ts, id := cutoff, time.Time{}, int64(0)
		err := conn.QueryRow(ctx, `SELECT ts, id FROM logs.entries
			WHERE project_id = $1 AND ts < $2 AND retention_days <> $3
			ORDER BY ts, id OFFSET $4 LIMIT 1`, project, cutoff, class, purgeChunk-1).Scan(&ts, &id)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			id = math.MaxInt64
		case err != nil:
			return total, fmt.Errorf("finding a chunk of project %d's entries before its retention's cut-off %s: %w", project, cutoff.Format(time.RFC3339), err)
		default:
			end = ts.Add(time.Microsecond)
		}
		tag, err := conn.Exec(ctx, `DELETE FROM logs.entries
			WHERE project_id = $1 AND ts < $2 AND retention_days <> $3 AND (ts < $4 OR id <= $5)`,
			project, end, class, ts, id)
		if err != nil {
			return total, fmt.Errorf("deleting entries of project %d before its retention's cut-off %s: %w", project, cutoff.Format(time.RFC3339), err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < purgeChunk {
			break
		}
	}
	if total == 0 {
		return 0, nil
	}
	if err := deleteEmptyRollups(ctx, conn, "r.project_id = $1 AND r.day < $2", project, cutoff); err != nil {
		return total, fmt.Errorf("deleting the rollups of project %d before %s: %w", project, cutoff.Format(time.DateOnly), err)
	}
	return total, nil
}

// deleteEmptyRollups deletes the logs.entry_rollups rows r matching where
// (over args) whose project and service have no entries left that day:
// their entries went with a dropped leaf or a purge. A row that counts no
// stored entry (count 0: every entry of that day a sampling rule left out,
// docs/sampling.md) has none to lose; it stays until its project's own
// cut-off (deleteSampledOutRollups), not the first leaf of its day dropped.
func deleteEmptyRollups(ctx context.Context, conn *pgxpool.Conn, where string, args ...any) error {
	_, err := conn.Exec(ctx, `DELETE FROM logs.entry_rollups r WHERE `+where+` AND r.count > 0 AND NOT EXISTS (
		SELECT 1 FROM logs.entries e WHERE e.project_id = r.project_id AND e.service_name = r.service_name
		AND e.ts >= r.day::timestamp AT TIME ZONE 'UTC' AND e.ts < (r.day + 1)::timestamp AT TIME ZONE 'UTC')`, args...)
	return err
}
