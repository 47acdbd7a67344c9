package llm

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// systemPrompt tells the model what to write.
const systemPrompt = `You summarise a log analysis report for the engineers who own the services.
Write 3 to 6 short sentences of plain text (no markdown, no lists): what needs attention first
(spikes, new error patterns, services that went silent or changed sharply), then anything else notable.
Use only the facts in the report; quote templates as given; do not guess causes you cannot see.
Placeholders such as <num>, <ip>, <*> and [redacted] stand for values that were removed.`

// Bounds of what the model is shown.
const (
	maxItems        = 5   // items per list
	maxExamples     = 1   // example messages per item
	maxMessageRunes = 200 // runes of a template or example message
)

// Prompt is the user message for res: the window, then each list of the
// report with counts, templates and one example message per item, all
// redacted.
func Prompt(res *logsv1.AnalyzeLogsResponse) string {
	var b strings.Builder
	r := res.GetReport()
	fmt.Fprintf(&b, "Window: %s to %s (UTC).", res.GetSince().AsTime().UTC().Format(time.DateTime), res.GetUntil().AsTime().UTC().Format(time.DateTime))
	if res.GetSampled() {
		fmt.Fprintf(&b, " Counts are estimated from a sample of %d entries.", res.GetSampleSize())
	}
	if res.GetPartial() {
		b.WriteString(" The report is partial: part of it could not be computed in time.")
	}
	b.WriteString("\n")
	patterns := func(title string, ps []*logsv1.PatternInsight) {
		if len(ps) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, p := range ps[:min(len(ps), maxItems)] {
			fmt.Fprintf(&b, "- project %s, services %s: %q, %d entries (previous window %d), by level %s\n",
				clean(p.GetProjectSlug()), clean(strings.Join(p.GetServices(), ", ")), clean(p.GetTemplate()), p.GetCount(), p.GetPreviousCount(), levels(p.GetCountsByLevel()))
			examples(&b, p.GetExamples())
		}
	}
	patterns("Most frequent patterns", r.GetTopPatterns())
	patterns("Growing patterns", r.GetGrowingPatterns())
	patterns("New patterns (first seen in the window)", r.GetNewPatterns())
	patterns("New error patterns", r.GetNewErrorPatterns())
	if s := r.GetSpikes(); len(s) > 0 {
		b.WriteString("\nSpikes (far above the usual count for a window of this length):\n")
		for _, x := range s[:min(len(s), maxItems)] {
			fmt.Fprintf(&b, "- project %s, service %s: %q, %d entries, usual %.0f, score %.1f\n",
				clean(x.GetProjectSlug()), clean(x.GetServiceName()), clean(x.GetTemplate()), x.GetCount(), x.GetBaseline(), x.GetScore())
			examples(&b, x.GetExamples())
		}
	}
	services := func(title string, ss []*logsv1.ServiceInsight) {
		if len(ss) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, s := range ss[:min(len(ss), maxItems)] {
			fmt.Fprintf(&b, "- project %s, service %s: %s; %d entries (previous %d), %d errors (previous %d)\n",
				clean(s.GetProjectSlug()), clean(s.GetServiceName()), clean(s.GetReason()), s.GetCount(), s.GetPreviousCount(), s.GetErrors(), s.GetPreviousErrors())
		}
	}
	services("Services that went silent", r.GetSilentServices())
	services("Services whose volume or errors changed sharply", r.GetAffectedServices())
	return b.String()
}

func examples(b *strings.Builder, es []*logsv1.LogEntry) {
	for _, e := range es[:min(len(es), maxExamples)] {
		fmt.Fprintf(b, "  example (%s): %q\n", e.GetLevel(), clean(e.GetMessage()))
	}
}

func levels(m map[string]int64) string {
	var parts []string
	for _, l := range []string{"FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"} {
		if n := m[l]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", l, n))
		}
	}
	return strings.Join(parts, ", ")
}

// clean is s redacted and capped for the prompt.
func clean(s string) string {
	s = Redact(s)
	if utf8.RuneCountInString(s) > maxMessageRunes {
		s = string([]rune(s)[:maxMessageRunes-1]) + "…"
	}
	return s
}

// The redactions, applied in order. Each secret becomes "[redacted]" (an
// email "[email]", an address "[ip]") so the model sees that something was
// there.
var redactions = []struct {
	re   *regexp.Regexp
	with string
}{
	// Bearer and basic credentials.
	{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`), "${1} [redacted]"},
	// Credentials in key=value or key: value form.
	{regexp.MustCompile(`(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth|authorization|session|cookie|credential)s?(\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)`), "${1}${2}[redacted]"},
	// Project API keys and other prefixed keys (dsk_..., sk-..., ghp_...).
	{regexp.MustCompile(`\b(dsk|sk|pk|rk|ghp|gho|ghs|xox[abprs])[_-][A-Za-z0-9_-]{8,}`), "[redacted]"},
	// JSON web tokens.
	{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`), "[redacted]"},
	// URLs with credentials.
	{regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@`), "${1}[redacted]@"},
	{regexp.MustCompile(`(?i)\b[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,}\b`), "[email]"},
	// IPv4 (with an optional port) and IPv6.
	{regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b`), "[ip]"},
	// IPv6 compressed (fe80::1) first, so its tail is not taken for a full
	// address.
	{regexp.MustCompile(`(?i)\b(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4}::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}\b)?`), "[ip]"},
	{regexp.MustCompile(`(?i)\b(?:[0-9a-f]{1,4}:){3,7}[0-9a-f]{1,4}\b`), "[ip]"},
	// Long hex strings: keys, hashes.
	{regexp.MustCompile(`(?i)\b[0-9a-f]{24,}\b`), "[redacted]"},
}

// base64ish are candidate base64 or base64url strings; one is redacted
// when it mixes upper case, lower case and digits (a long identifier or
// path in one case is left alone).
var base64ish = regexp.MustCompile(`[A-Za-z0-9+/_-]{32,}={0,2}`)

func mixed(s string) bool {
	var upper, lower, digit bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		}
	}
	return upper && lower && digit
}

// Redact removes from s what must not leave the platform: credentials
// (password=..., token: ..., bearer tokens, dsk_ and similar keys, JWTs,
// passwords in URLs), emails, IP addresses, and long hex or base64 strings
// (keys, hashes, tokens).
func Redact(s string) string {
	for _, r := range redactions {
		s = r.re.ReplaceAllString(s, r.with)
	}
	return base64ish.ReplaceAllStringFunc(s, func(m string) string {
		if mixed(m) {
			return "[redacted]"
		}
		return m
	})
}
