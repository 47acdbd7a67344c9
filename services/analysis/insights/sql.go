package insights

import "github.com/devsmith/logs/internal/logstore"

// The analysis's SQL. Every statement runs as a one-shot statement
// (pgx.QueryExecModeExec), planned for its values: partitions outside the
// time bounds are pruned at planning, and the planner sees how many entries
// the range holds.

// estimateSQL estimates the entries of projects $1 in [$2, $3) from the
// per-day rollups, prorating each day by the part of it inside the range,
// the day taken to run from its midnight to its newest entry (so today,
// still being written, counts as the hours it has had) and its entries
// spread evenly over that span. Whole days inside the range count exactly.
const estimateSQL = `SELECT coalesce(sum(r.count * greatest(0, extract(epoch FROM
		least(d.end_ts, $3::timestamptz) - greatest(d.start_ts, $2::timestamptz)) / extract(epoch FROM d.end_ts - d.start_ts))), 0)::float8
FROM logs.entry_rollups r
CROSS JOIN LATERAL (SELECT r.day::timestamp AT TIME ZONE 'UTC' AS start_ts,
	least(r.day::timestamp AT TIME ZONE 'UTC' + interval '1 day', greatest(r.last_log_at, r.day::timestamp AT TIME ZONE 'UTC') + interval '1 second') AS end_ts) d
WHERE r.project_id = ANY($1::bigint[]) AND r.day >= ($2::timestamptz AT TIME ZONE 'UTC')::date AND r.day <= ($3::timestamptz AT TIME ZONE 'UTC')::date`

// aggregateSQL is the one scan of the entries an analysis makes: the
// entries of projects $1 in [$2, $4), counted per (project, service,
// pattern, level, bucket), a bucket being a window of $5 microseconds aligned on
// since ($3): the bucket starting at since is the window, the one before it
// the previous window, and so on. Per group it also counts the entries in [$6, $7) (the
// window 24 h earlier) and in [$6, $3) (the 24 h before since), and gives
// the oldest and newest ts.
//
// The entries are first counted per signature (a hash aggregate over the
// scan, of far fewer groups than entries), then each signature is mapped
// to its pattern: its row's pattern_id, or the signature itself while the
// row is unmined or has none (signature 0, the overflow pattern) — the
// mapping of package logstore. So the rows returned are bounded by the
// patterns (the miner bounds them per project), never by the entries.
//
// %s is the sampling clause ("" or TABLESAMPLE SYSTEM (p) REPEATABLE (s)).
const aggregateSQL = `WITH a AS (
	SELECT project_id, service_name, signature, level,
		date_bin($5::bigint * interval '1 microsecond', ts, $3::timestamptz) AS bucket,
		count(*) AS n,
		count(*) FILTER (WHERE ts >= $6::timestamptz AND ts < $7::timestamptz) AS day_before,
		count(*) FILTER (WHERE ts >= $6::timestamptz AND ts < $3::timestamptz) AS last_24h,
		min(ts) AS first_ts, max(ts) AS last_ts
	FROM logs.entries %s
	WHERE project_id = ANY($1::bigint[]) AND ts >= $2::timestamptz AND ts < $4::timestamptz
	GROUP BY 1, 2, 3, 4, 5
)
SELECT a.project_id, a.service_name, coalesce(s.pattern_id, a.signature), a.level, a.bucket,
	sum(a.n)::bigint, sum(a.day_before)::bigint, sum(a.last_24h)::bigint, min(a.first_ts), max(a.last_ts)
FROM a LEFT JOIN logs.pattern_signatures s ON s.project_id = a.project_id AND s.signature = a.signature
GROUP BY 1, 2, 3, 4, 5`

// weekSQL counts the entries of projects $1 in [$2, $3) (the window a week
// earlier) per (project, service, pattern), pattern as in aggregateSQL.
const weekSQL = `WITH a AS (
	SELECT project_id, service_name, signature, count(*) AS n
	FROM logs.entries %s
	WHERE project_id = ANY($1::bigint[]) AND ts >= $2::timestamptz AND ts < $3::timestamptz
	GROUP BY 1, 2, 3
)
SELECT a.project_id, a.service_name, coalesce(s.pattern_id, a.signature), sum(a.n)::bigint
FROM a LEFT JOIN logs.pattern_signatures s ON s.project_id = a.project_id AND s.signature = a.signature
GROUP BY 1, 2, 3`

// patternsSQL gives the template and first_seen of patterns ($1 projects,
// $2 ids, parallel): a mined pattern's template from logs.patterns and its
// first_seen the earliest of its own and its signatures' (a merge may
// bring in a signature seen before the pattern was founded); an unmined
// signature's (a pattern id that has no pattern row yet) its row's first
// message (its template is that message's, signature.Template) and
// first_seen. Pattern 0 matches nothing (no row).
const patternsSQL = `SELECT u.p, u.id, p.template, us.message, least(p.first_seen, ms.first_seen, us.first_seen)
FROM unnest($1::bigint[], $2::bigint[]) AS u(p, id)
LEFT JOIN logs.patterns p ON p.project_id = u.p AND p.id = u.id
LEFT JOIN LATERAL (
	SELECT min(s.first_seen) AS first_seen FROM logs.pattern_signatures s WHERE s.project_id = u.p AND s.pattern_id = u.id
) ms ON true
LEFT JOIN logs.pattern_signatures us ON us.project_id = u.p AND us.signature = u.id AND us.pattern_id IS NULL`

// examplesSQL reads, for each item $1 (project $2, pattern $3, service $4
// or ” for any, ts in [$5, $6]), its newest $7 entries,
// newest first: the entries whose signature maps to the pattern as in
// aggregateSQL. Columns: the item, then logstore.EntryColumns.
const examplesSQL = `SELECT i.item, x.*
FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::text[], $5::timestamptz[], $6::timestamptz[]) AS i(item, p, pat, svc, lo, hi)
CROSS JOIN LATERAL (
	SELECT ` + logstore.EntryColumns + ` FROM logs.entries e
	WHERE e.project_id = i.p AND e.ts >= i.lo AND e.ts <= i.hi AND (i.svc = '' OR e.service_name = i.svc)
	AND e.signature IN (
		SELECT s.signature FROM logs.pattern_signatures s WHERE s.project_id = i.p AND s.pattern_id = i.pat
		UNION ALL SELECT s.signature FROM logs.pattern_signatures s WHERE s.project_id = i.p AND s.pattern_id IS NULL AND s.signature = i.pat
		UNION ALL SELECT 0 WHERE i.pat = 0)
	ORDER BY e.ts DESC, e.id DESC LIMIT $7
) x`
