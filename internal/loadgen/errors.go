package loadgen

import (
	"time"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/fingerprint"
)

// seedErrorShare is the share of the seed's ERROR and FATAL entries that
// are failing requests with a stack (errorEntryOf); the others, and every
// WARN, are grouped by their message.
const seedErrorShare = 0.5

// seedGroups computes the error_fp of one seed chunk's rows as the
// ingestion writers do (package fingerprint, WARN and more severe) and
// collects the chunk's (project, fingerprint) pairs, each once with its
// first event, for logstore.RecordCommitted.
type seedGroups struct {
	f    fingerprint.Fingerprinter
	seen map[[2]int64]int // pair → index in out
	out  logstore.ErrorGroups
}

// add returns the row's error_fp (0 below WARN), records its pair and
// counts it in its hour.
func (g *seedGroups) add(project int64, service string, level logstore.Level, msg, ctx string, sig int64, ts time.Time) int64 {
	if level < logstore.LevelWarn {
		return 0
	}
	res := g.f.Compute(fingerprint.Input{Message: msg, Context: []byte(ctx), Signature: sig, Service: service})
	g.out.Hours.Add(project, res.Fingerprint, level, service, ts.UnixMicro())
	key := [2]int64{project, res.Fingerprint}
	if g.seen == nil {
		g.seen = map[[2]int64]int{}
	}
	if i, ok := g.seen[key]; ok {
		if ts.Before(g.out.FirstSeen[i]) {
			g.out.FirstSeen[i] = ts
		}
		return res.Fingerprint
	}
	g.seen[key] = g.out.Len()
	g.out.Add(project, res.Fingerprint, res.ExceptionType, res.Title, res.Culprit, ts)
	return res.Fingerprint
}
