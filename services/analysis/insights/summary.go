package insights

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// maxTemplateInSummary caps a template quoted in the summary (runes).
const maxTemplateInSummary = 80

// deterministicSummary is the summary built from the report alone, the
// same for the same report: the window and its volume, then one sentence
// per non-empty finding, most urgent first (spikes, new error patterns,
// silent and affected services, new and growing patterns), each naming at
// most three items; total is the entries in the window.
func deterministicSummary(res *logsv1.AnalyzeLogsResponse, total int64) string {
	r := res.GetReport()
	var b strings.Builder
	since, until := res.GetSince().AsTime().UTC(), res.GetUntil().AsTime().UTC()
	fmt.Fprintf(&b, "%s entries from %s to %s", count(total, "", ""), since.Format(time.DateTime), until.Format(time.DateTime)+" UTC")
	if res.GetSampled() {
		fmt.Fprintf(&b, " (estimated from a sample of %d)", res.GetSampleSize())
	}
	b.WriteString(".")
	if res.GetPartial() {
		b.WriteString(" The analysis ran out of time: part of the report is missing.")
	}
	if total == 0 && len(r.GetSilentServices()) == 0 {
		b.WriteString(" Nothing to report.")
		return b.String()
	}
	if s := r.GetSpikes(); len(s) > 0 {
		fmt.Fprintf(&b, " %s above baseline:", count(int64(len(s)), "spike", "spikes"))
		for i, x := range s[:min(3, len(s))] {
			sep(&b, i)
			fmt.Fprintf(&b, " %s/%s %q %d (expected about %.0f)", x.GetProjectSlug(), x.GetServiceName(), clip(x.GetTemplate()), x.GetCount(), x.GetBaseline())
		}
		b.WriteString(".")
	}
	patterns := func(label, labels string, ps []*logsv1.PatternInsight, detail func(*logsv1.PatternInsight) string) {
		if len(ps) == 0 {
			return
		}
		fmt.Fprintf(&b, " %s:", count(int64(len(ps)), label, labels))
		for i, p := range ps[:min(3, len(ps))] {
			sep(&b, i)
			fmt.Fprintf(&b, " %q in %s (%s)", clip(p.GetTemplate()), p.GetProjectSlug(), detail(p))
		}
		b.WriteString(".")
	}
	patterns("new error pattern", "new error patterns", r.GetNewErrorPatterns(), func(p *logsv1.PatternInsight) string {
		return fmt.Sprintf("%d errors", p.GetCountsByLevel()["ERROR"]+p.GetCountsByLevel()["FATAL"])
	})
	services := func(label, labels string, ss []*logsv1.ServiceInsight) {
		if len(ss) == 0 {
			return
		}
		fmt.Fprintf(&b, " %s:", count(int64(len(ss)), label, labels))
		for i, s := range ss[:min(3, len(ss))] {
			sep(&b, i)
			fmt.Fprintf(&b, " %s/%s (%s)", s.GetProjectSlug(), s.GetServiceName(), s.GetReason())
		}
		b.WriteString(".")
	}
	services("service went silent", "services went silent", r.GetSilentServices())
	services("service changed sharply", "services changed sharply", r.GetAffectedServices())
	patterns("new pattern", "new patterns", r.GetNewPatterns(), func(p *logsv1.PatternInsight) string {
		return count(p.GetCount(), "entry", "entries")
	})
	patterns("growing pattern", "growing patterns", r.GetGrowingPatterns(), func(p *logsv1.PatternInsight) string {
		return fmt.Sprintf("%d, was %d", p.GetCount(), p.GetPreviousCount())
	})
	if t := r.GetTopPatterns(); len(t) > 0 {
		fmt.Fprintf(&b, " Most frequent: %q in %s (%s).", clip(t[0].GetTemplate()), t[0].GetProjectSlug(), count(t[0].GetCount(), "entry", "entries"))
	}
	return b.String()
}

// count writes n with its noun ("1 spike", "3 spikes"; just n when the
// nouns are empty).
func count(n int64, one, many string) string {
	switch {
	case one == "":
		return fmt.Sprintf("%d", n)
	case n == 1:
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func sep(b *strings.Builder, i int) {
	if i > 0 {
		b.WriteString(";")
	}
}

// clip shortens a template to maxTemplateInSummary runes.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxTemplateInSummary {
		return s
	}
	r := []rune(s)
	return string(r[:maxTemplateInSummary-1]) + "…"
}
