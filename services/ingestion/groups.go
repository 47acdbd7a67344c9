package ingestion

import (
	"time"
	"unsafe"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/fingerprint"
)

// Error groups (docs/errors.md). Each WARN, ERROR and FATAL entry's
// fingerprint is computed with the entry (normalize, after its signature),
// in the handler's goroutine, and goes into the COPY as error_fp (0 for
// other levels). A batch keeps one errorDesc per fingerprint its rows
// carry. The writer inserts a logs.error_groups row for each (project,
// fingerprint) its transaction writes that it does not know to have one,
// in the commit's one statement (logstore.QueueCommitted): no round trip of
// its own, and none at all for pairs it remembers (pairs.go). The same
// statement adds every written row with a fingerprint to its hour's count
// (logs.error_group_hours).

// errorDesc is one fingerprint of a batch's rows: its group's description
// (its first row's) and the oldest ts of its rows.
type errorDesc struct {
	fp                  int64
	typ, title, culprit string
	firstSeen           int64 // microseconds since the Unix epoch
}

// batchGroups computes the fingerprints of one batch's rows.
type batchGroups struct {
	f  fingerprint.Fingerprinter
	at map[int64]int32 // fingerprint → index in the batch's errs
}

// add sets r's fingerprint, if r is WARN or more severe, and records its
// group in b.errs; it returns the bytes it added to the batch.
func (g *batchGroups) add(b *batch, r *row) int {
	if r.level < logstore.LevelWarn {
		return 0
	}
	res := g.f.Compute(fingerprint.Input{Message: r.msg, Context: readOnly(r.ctx), Signature: r.sig, Service: b.service})
	r.fp = res.Fingerprint
	if i, ok := g.at[r.fp]; ok {
		d := &b.errs[i]
		d.firstSeen = min(d.firstSeen, r.ts)
		return 0
	}
	if g.at == nil {
		g.at = make(map[int64]int32)
	}
	g.at[r.fp] = int32(len(b.errs))
	b.errs = append(b.errs, errorDesc{fp: r.fp, typ: res.ExceptionType, title: res.Title, culprit: res.Culprit, firstSeen: r.ts})
	return len(res.ExceptionType) + len(res.Title) + len(res.Culprit) + 64
}

// readOnly views s as bytes for a reader that neither modifies nor keeps
// them (Fingerprinter.Compute): no copy of the context per entry.
func readOnly(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

type groupKey struct{ project, fp int64 }

// knownGroups is one writer's memory of committed pairs (pairs.go).
type knownGroups struct {
	mem pairMemory[groupKey]
	out logstore.ErrorGroups
}

// collect returns the pairs of the group's written rows the writer does not
// know to have a row, or whose rows are older than the writer knows, each
// once, with its description and oldest ts, and the hourly counts of all
// the rows with a fingerprint.
func (k *knownGroups) collect(group []*batch) *logstore.ErrorGroups {
	k.out.Reset()
	for _, b := range group {
		if !b.write || len(b.errs) == 0 {
			continue
		}
		for i := range b.rows {
			if r := &b.rows[i]; r.fp != 0 {
				k.out.Hours.Add(b.projectID, r.fp, r.level, b.service, r.ts)
			}
		}
		for i := range b.errs {
			d := &b.errs[i]
			switch add, at := k.mem.offer(groupKey{b.projectID, d.fp}, d.firstSeen, k.out.Len()); {
			case add:
				k.out.Add(b.projectID, d.fp, d.typ, d.title, d.culprit, time.UnixMicro(d.firstSeen).UTC())
			case at >= 0:
				k.out.FirstSeen[at] = time.UnixMicro(d.firstSeen).UTC()
			}
		}
	}
	return &k.out
}

// done records the outcome of the transaction the last collect was for.
func (k *knownGroups) done(committed bool) {
	k.mem.done(committed)
	k.out.Reset() // drop the strings it referenced
}
