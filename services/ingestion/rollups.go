package ingestion

import (
	"cmp"
	"slices"
	"time"

	"github.com/devsmith/logs/internal/logstore"
)

// What a group's written rows add to logs.entry_rollups, and its tail
// journal rows: the arguments of logstore.QueueCommitted.

type rollupKey struct {
	project int64
	service string
	day     int64 // days since the Unix epoch (UTC)
}

type rollup struct {
	count      int64
	sampledOut int64
	last       int64 // microseconds
}

type span struct{ minID, maxID, minTS, maxTS int64 }

const microsPerDay = 86_400_000_000

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// summarize is what the group's written rows, and the entries its batches'
// sampling rules left out, add to the per-day rollups, and its tail journal
// rows: one per project. A day whose entries were all left out still gets
// its rollup row (count 0): sampled_out counts what the service sent, and
// last_log_at is the newest entry received, kept or not.
func summarize(group []*batch) (logstore.Rollups, logstore.Spans) {
	rolls := make(map[rollupKey]rollup)
	spans := make(map[int64]span)
	for _, b := range group {
		if !b.write {
			continue
		}
		for _, so := range b.sampledOut {
			k := rollupKey{b.projectID, b.service, so.day}
			r := rolls[k]
			r.sampledOut += so.n
			r.last = max(r.last, so.last)
			rolls[k] = r
		}
		if len(b.rows) == 0 {
			continue
		}
		sp, ok := spans[b.projectID]
		if !ok {
			r0 := &b.rows[0]
			sp = span{minID: r0.id, maxID: r0.id, minTS: r0.ts, maxTS: r0.ts}
		}
		cur := rollupKey{b.projectID, b.service, floorDiv(b.rows[0].ts, microsPerDay)}
		var acc rollup
		flush := func() {
			r := rolls[cur]
			r.count += acc.count
			r.last = max(r.last, acc.last)
			rolls[cur] = r
		}
		for i := range b.rows {
			r := &b.rows[i]
			sp.minID, sp.maxID = min(sp.minID, r.id), max(sp.maxID, r.id)
			sp.minTS, sp.maxTS = min(sp.minTS, r.ts), max(sp.maxTS, r.ts)
			if d := floorDiv(r.ts, microsPerDay); d != cur.day {
				flush()
				cur.day, acc = d, rollup{}
			}
			acc.count++
			acc.last = max(acc.last, r.ts)
		}
		flush()
		spans[b.projectID] = sp
	}
	keys := make([]rollupKey, 0, len(rolls))
	for k := range rolls {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b rollupKey) int {
		return cmp.Or(cmp.Compare(a.project, b.project), cmp.Compare(a.service, b.service), cmp.Compare(a.day, b.day))
	})
	r := logstore.Rollups{
		ProjectIDs: make([]int64, len(keys)),
		Services:   make([]string, len(keys)),
		Days:       make([]time.Time, len(keys)),
		Counts:     make([]int64, len(keys)),
		LastLogAt:  make([]time.Time, len(keys)),
		SampledOut: make([]int64, len(keys)),
	}
	for i, k := range keys {
		ru := rolls[k]
		r.ProjectIDs[i], r.Services[i], r.Counts[i], r.SampledOut[i] = k.project, k.service, ru.count, ru.sampledOut
		r.Days[i] = time.UnixMicro(k.day * microsPerDay).UTC()
		r.LastLogAt[i] = time.UnixMicro(ru.last).UTC()
	}
	// The tail journal: one row per project.
	j := logstore.Spans{
		ProjectIDs: make([]int64, 0, len(spans)),
		MinIDs:     make([]int64, 0, len(spans)),
		MaxIDs:     make([]int64, 0, len(spans)),
		MinTS:      make([]time.Time, 0, len(spans)),
		MaxTS:      make([]time.Time, 0, len(spans)),
	}
	for p, sp := range spans {
		j.Add(logstore.Span{ProjectID: p, MinID: sp.minID, MaxID: sp.maxID,
			MinTS: time.UnixMicro(sp.minTS).UTC(), MaxTS: time.UnixMicro(sp.maxTS).UTC()})
	}
	return r, j
}
