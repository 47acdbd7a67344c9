// Package insights builds the analysis report of AnalyzeLogs: over the
// entries of some projects in a window [since, until), the most frequent,
// growing and new patterns, new error patterns, spikes of a pattern of a
// service against its baseline, services that went silent or changed
// sharply, and a summary (docs/analysis.md, "Insights").
//
// # One scan, aggregated in SQL
//
// An analysis reads the entries of [lo, until) once, where lo is the start
// of the baseline (the windows of the window's length before since, as many
// as cover 24 h, at most 96) or 24 h before since if earlier. The database
// counts them per (project, service, signature, level, window-sized bucket
// aligned on since), maps each signature to its pattern (its row's
// pattern_id, else the signature: package logstore's contract), and returns
// one row per (project, service, pattern, level, bucket): the rows are
// bounded by the patterns, never by the entries, and the process holds no
// entry but the few examples. A second, small scan counts the window a week
// earlier. Templates and first_seen come from logs.patterns (an unmined
// signature: its row's first message and first_seen), and examples from one
// LATERAL query, newest first, with their pattern ids.
//
// # Bounds
//
//   - Timeout: every analysis has a deadline, carried to every statement
//     (pgx cancels a statement in the server when its context ends). The
//     counting scans get 3/4 of it: when they do not finish, the answer is
//     DeadlineExceeded; when the templates or examples (or the week-ago
//     scan) do not, the report comes without them, partial.
//   - MaxConcurrent computations per Analyzer; beyond, ResourceExhausted
//     with a retry delay (429 with Retry-After over REST).
//   - Identical requests (the same project ids in any order, since and
//     until) share one computation, which runs detached from its callers
//     under the timeout and is cancelled when the last caller has gone; a
//     caller leaves when its own context ends.
//   - Reports are cached for CacheTTL under the same key, generated_at
//     kept.
//   - Past MaxEntries (estimated from the daily rollups), the scans read a
//     row sample (TABLESAMPLE BERNOULLI) of about MaxEntries entries and
//     scale the counts: sampled, sample_size.
//
// # Lists
//
// Every list holds at most 10 items, each with up to 3 examples:
//
//   - top_patterns: by count in the window.
//   - growing_patterns: not new, at least 20 entries and at least twice the
//     previous window's count, ranked by (count − previous)/√(previous+1).
//   - new_patterns: first_seen in the window, by count; new_error_patterns:
//     those of them with ERROR or FATAL entries, by those.
//   - spikes, per (project, service, pattern): at least 10 entries and a
//     robust z-score of at least 3.5 against the baseline windows (median,
//     1.4826 × MAD, floored at the Poisson noise √(m·(1+1.57/n))); for a
//     window of at most a day, also at least 3.5 against the same window a
//     day earlier and a week earlier, each when the service sent entries
//     then (so a daily or weekly rise is no spike).
//   - silent_services: entries in the 24 h before since (or in the previous
//     window) and none in the window.
//   - affected_services: volume up or down 3x, errors up 3x, or the error
//     rate at least doubled and up by 5 points, against the previous
//     window (at least 20 entries, 10 errors, to be judged).
package insights
