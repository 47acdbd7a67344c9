package query

import (
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/devsmith/logs/internal/logstore"
)

// The service's SQL: its fixed statements, and the statements built from a
// request's filters (conditions by filters.addFilters). Entries are
// selected with logstore.EntryColumns and read with logstore.ScanEntry; the tail
// journal is read by logstore.ReadJournal.

// servicesSQL lists the services of the projects $1 (slugs $2, in the same
// order) from the rollups, with the newest entry of each: up to $5 of them
// after (slug $3, name $4) when $3 is not null. Sorted in byte order
// (COLLATE "C"), the order of the keyset condition, whatever the database's
// collation.
const servicesSQL = `SELECT p.slug, r.service_name, max(r.last_log_at)
FROM logs.entry_rollups r JOIN unnest($1::bigint[], $2::text[]) AS p(id, slug) ON p.id = r.project_id
WHERE $3::text IS NULL OR (p.slug COLLATE "C", r.service_name COLLATE "C") > ($3::text, $4::text)
GROUP BY p.slug, r.service_name
ORDER BY p.slug COLLATE "C", r.service_name COLLATE "C" LIMIT $5`

// oneShot makes a query's arguments run it as a one-shot statement, planned
// for these argument values. A prepared statement would switch to a generic
// plan after five runs, and without the values of since, until and the
// projects the planner misjudges how many entries match: with 10M entries
// it chose a bitmap heap scan over the covering index and 24 h stats of a
// project went from 40 ms to 170 ms (docs/performance.md). Planning costs
// well under a millisecond here.
func oneShot(args []any) []any {
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// oneShotBinary is oneShot with the statement described first (one more
// message in the same round of the extended protocol), so that its rows
// come in the binary format: for statements answering thousands of rows,
// parsing their times and numbers from text costs more than the
// description (the error groups' counts: docs/errors.md).
func oneShotBinary(args []any) []any {
	return append([]any{pgx.QueryExecModeDescribeExec}, args...)
}

// pageQuery selects up to limit entries after the cursor, newest first. With
// several projects each project's newest entries are read from its own
// primary-key range (a LATERAL join per project) and merged, so the newest
// page costs O(projects × limit) index reads, not a sort of every match.
//
// With service or level filters (and no q, context or pattern filter), the newest
// keys are found first by an index-only scan of the service index, which
// carries level and id (migration 0002), and only those rows are read: a
// filtered page then reads about limit heap pages instead of one for every
// entry the filters skip. The result is the same rows in the same order.
func pageQuery(f *filters, after *cursor, limit int) (string, []any) {
	b := &sqlBuilder{}
	var projectArg string
	switch {
	case len(f.errorGroups) > 0:
		// Each group's newest entries from its own range of the error
		// index (project_id, error_fp, ts), merged: a rare group's page does
		// not scan its project's range.
		projectArg = "unnest(" + b.arg(f.groupProjects) + "::bigint[], " + b.arg(f.groupFPs) + "::bigint[]) AS p(id, fp)"
		b.and("project_id = p.id")
		b.and("error_fp = p.fp")
	case len(f.projects) == 1:
		b.and("project_id = " + b.arg(f.projects[0]))
	default:
		projectArg = "unnest(" + b.arg(f.projects) + "::bigint[]) AS p(id)"
		b.and("project_id = p.id")
	}
	f.addFilters(b, filterOpts{times: true})
	if after != nil {
		t := b.arg(after.ts)
		// ts <= t lets the planner prune later partitions; the row
		// comparison is the keyset condition the primary key serves.
		b.and("ts <= " + t)
		b.and("(ts, id) < (" + t + ", " + b.arg(after.id) + ")")
	}
	lim := b.arg(limit)
	var inner string
	if keysFirst := (len(f.services) > 0 || len(f.levels) > 0) && f.q == "" && len(f.context) == 0 && len(f.patterns) == 0 && len(f.errorGroups) == 0; keysFirst {
		// The time bounds are repeated on the row lookup so that the planner
		// prunes partitions there as well.
		var bounds string
		if f.since != nil {
			bounds += " AND x.ts >= " + b.arg(*f.since)
		}
		if f.until != nil {
			bounds += " AND x.ts < " + b.arg(*f.until)
		}
		inner = "SELECT " + logstore.EntryColumnsOf("x") +
			" FROM (SELECT project_id, ts, id FROM logs.entries WHERE " + b.where() + " ORDER BY ts DESC, id DESC LIMIT " + lim + ") k" +
			" JOIN logs.entries x ON x.project_id = k.project_id AND x.ts = k.ts AND x.id = k.id" + bounds +
			" ORDER BY x.ts DESC, x.id DESC"
	} else {
		inner = "SELECT " + logstore.EntryColumns + " FROM logs.entries WHERE " + b.where() +
			" ORDER BY ts DESC, id DESC LIMIT " + lim
	}
	if projectArg == "" {
		return inner, b.args
	}
	return "SELECT " + logstore.EntryColumnsOf("e") + " FROM " + projectArg + " CROSS JOIN LATERAL (" + inner +
		") e ORDER BY e.ts DESC, e.id DESC LIMIT " + lim, b.args
}

// countQuery counts every match; with q, at most cap of them.
func countQuery(f *filters, limit int) (string, []any) {
	b := &sqlBuilder{}
	f.addFilters(b, filterOpts{projects: true, times: true})
	if f.q == "" {
		return "SELECT count(*) FROM logs.entries WHERE " + b.where(), b.args
	}
	return "SELECT count(*) FROM (SELECT 1 FROM logs.entries WHERE " + b.where() +
		" LIMIT " + b.arg(limit) + ") s", b.args
}

// statsQuery counts the entries in [since, until) in one scan: first per
// (bucket, level, service), a small hash aggregate, then that regrouped two
// ways, by (bucket, level) and by service. The first column is 0 for the rows
// grouped by service. (Grouping sets straight over the entries make the
// planner sort every row, several times slower.)
func statsQuery(f *filters, width time.Duration) (string, []any) {
	b := &sqlBuilder{}
	w := b.arg(int64(width / time.Second))
	f.addFilters(b, filterOpts{projects: true, times: true})
	// ns and e are the sampled entries and what they stand for (sum of
	// 1/sample_rate, docs/sampling.md): the estimate is n - ns + e. Every
	// entry is counted without reading its rate (an index-only scan of
	// entries_service_level_idx), and the sampled ones again, alone, from
	// their partial index (migration 0016): reading sample_rate in the
	// count would fetch every row.
	where := b.where()
	bucket := `date_bin(` + w + `::bigint * interval '1 second', ts, timestamptz '1970-01-01 00:00:00+00')`
	return `SELECT GROUPING(service_name), bucket, level, service_name, sum(n)::bigint, sum(ns)::bigint, sum(e) FROM (
		SELECT ` + bucket + ` AS bucket, level, service_name, count(*) AS n, 0::bigint AS ns, 0::float8 AS e
		FROM logs.entries WHERE ` + where + `
		GROUP BY 1, 2, 3
		UNION ALL
		SELECT ` + bucket + `, level, service_name, 0, count(*), sum(1 / sample_rate::float8)
		FROM logs.entries WHERE ` + where + ` AND sample_rate IS NOT NULL
		GROUP BY 1, 2, 3
	) s GROUP BY GROUPING SETS ((bucket, level), (service_name))`, b.args
}

// tailQuery reads one project's entries in the announced time range and id
// ranges (served by the primary key), after the cursor, oldest first.
func tailQuery(f *filters, project int64, lo, hi time.Time, ids []idRange, after *cursor, limit int) (string, []any) {
	b := &sqlBuilder{}
	b.and("project_id = " + b.arg(project))
	b.and("ts BETWEEN " + b.arg(lo) + " AND " + b.arg(hi))
	in := make([]string, len(ids))
	for i, r := range ids {
		in[i] = "id BETWEEN " + b.arg(r.lo) + " AND " + b.arg(r.hi)
	}
	b.and("(" + strings.Join(in, " OR ") + ")")
	f.addFilters(b, filterOpts{})
	if after != nil {
		b.and("(ts, id) > (" + b.arg(after.ts) + ", " + b.arg(after.id) + ")")
	}
	return "SELECT " + logstore.EntryColumns + " FROM logs.entries WHERE " + b.where() +
		" ORDER BY ts, id LIMIT " + b.arg(limit), b.args
}
