package alerts

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/durationflag"
	"github.com/devsmith/logs/internal/logstore"
)

// Condition types.
const (
	condCount         = "count"
	condRateChange    = "rate_change"
	condSpike         = "spike"
	condNewErrorGroup = "new_error_group"
	condSilence       = "silence"
)

// Channel types.
const (
	chanWebhook = "webhook"
	chanSlack   = "slack"
)

// Bounds of a rule.
const (
	minWindow    = time.Minute
	maxWindow    = 24 * time.Hour
	maxCooldown  = 7 * 24 * time.Hour
	maxChannels  = 10
	maxNameLen   = 200
	maxQLen      = 1000
	maxContext   = 20
	maxURLLen    = 2000
	maxSecretLen = 1000
)

// query is what a rule counts.
type query struct {
	Levels   []int16
	Services []string
	Q        string
	Context  map[string]string
}

// channel is a rule's channel as stored (Secret sealed).
type channel struct {
	Type   string `json:"type"`
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// rule is a row of logs.alert_rules.
type rule struct {
	ID          int64
	ProjectID   int64
	ProjectSlug string
	Name        string
	Query       query
	Window      time.Duration
	Condition   string
	Threshold   float64
	Channels    []channel
	Cooldown    time.Duration
	Enabled     bool
	CreatedAt   time.Time
	UpdatedAt   time.Time

	State           string
	StateSince      time.Time
	LastValue       float64
	LastEvaluatedAt *time.Time
	LastNotifiedAt  *time.Time
	OpenFiringID    *int64
}

func (r *rule) proto() *logsv1.Alert {
	a := &logsv1.Alert{
		Id:      r.ID,
		Name:    r.Name,
		Project: r.ProjectSlug,
		Query: &logsv1.AlertQuery{
			Level:   joinLevels(r.Query.Levels),
			Service: strings.Join(r.Query.Services, ","),
			Q:       r.Query.Q,
			Context: r.Query.Context,
		},
		Window:     durationflag.Format(r.Window),
		Condition:  &logsv1.AlertCondition{Type: r.Condition, Threshold: r.Threshold},
		Cooldown:   durationflag.Format(r.Cooldown),
		Enabled:    r.Enabled,
		State:      r.State,
		StateSince: ts(r.StateSince),
		LastValue:  r.LastValue,
		CreatedAt:  ts(r.CreatedAt),
		UpdatedAt:  ts(r.UpdatedAt),
	}
	if r.Cooldown == 0 {
		a.Cooldown = "0s"
	}
	if r.LastEvaluatedAt != nil {
		a.LastEvaluatedAt = ts(*r.LastEvaluatedAt)
	}
	for _, c := range r.Channels {
		// The secret never leaves: only whether there is one.
		a.Channels = append(a.Channels, &logsv1.AlertChannel{Type: c.Type, Url: c.URL, HasSecret: c.Secret != ""})
	}
	return a
}

func joinLevels(ls []int16) string {
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = logstore.Level(l).String()
	}
	return strings.Join(names, ",")
}

// splitList reads a comma-separated list: trimmed, without blanks or
// duplicates, sorted.
func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func parseQuery(q *logsv1.AlertQuery) (query, error) {
	// Empty, not nil: the columns are NOT NULL arrays.
	out := query{Levels: []int16{}}
	for _, name := range splitList(q.GetLevel()) {
		l, ok := logstore.ParseLevel(name)
		if !ok {
			return query{}, apierr.Invalidf("query.level %q: want %s", name, logstore.LevelNames())
		}
		out.Levels = append(out.Levels, int16(l))
	}
	slices.Sort(out.Levels)
	out.Services = append([]string{}, splitList(q.GetService())...)
	for _, s := range out.Services {
		if len(s) > 200 || strings.ContainsRune(s, 0) {
			return query{}, apierr.Invalidf("query.service %q: at most 200 characters, no NUL", s)
		}
	}
	out.Q = strings.TrimSpace(q.GetQ())
	if len(out.Q) > maxQLen || strings.ContainsRune(out.Q, 0) || !utf8.ValidString(out.Q) {
		return query{}, apierr.Invalidf("query.q: at most %d characters of UTF-8 text, no NUL", maxQLen)
	}
	if len(q.GetContext()) > maxContext {
		return query{}, apierr.Invalidf("query.context: at most %d fields", maxContext)
	}
	out.Context = map[string]string{}
	for k, v := range q.GetContext() {
		if k == "" || len(k) > 200 || len(v) > 1000 || strings.ContainsRune(k+v, 0) {
			return query{}, apierr.Invalidf("query.context %q: a key of 1-200 characters and a value of at most 1000, no NUL", k)
		}
		out.Context[k] = v
	}
	return out, nil
}

func parseWindow(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return 0, apierr.Invalidf("window is required: a duration from 1m to 24h, e.g. \"5m\"")
	}
	d, err := durationflag.Parse(s)
	if err != nil || d < minWindow || d > maxWindow || d%time.Second != 0 {
		return 0, apierr.Invalidf("window %q: want whole seconds from 1m to 24h, e.g. \"60s\", \"5m\", \"1h\"", s)
	}
	return d, nil
}

func parseCooldown(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	d, err := durationflag.Parse(s)
	if err != nil || d > maxCooldown || d%time.Second != 0 {
		return 0, apierr.Invalidf("cooldown %q: want whole seconds from 0s to 7d, e.g. \"10m\"", s)
	}
	return d, nil
}

func parseCondition(c *logsv1.AlertCondition) (string, float64, error) {
	t := strings.TrimSpace(c.GetType())
	th := c.GetThreshold()
	switch t {
	case condCount:
		if th < 1 {
			return "", 0, apierr.Invalidf("condition.threshold %v: a count condition needs a threshold of at least 1", th)
		}
	case condRateChange:
		if th == 0 || th < -100 {
			return "", 0, apierr.Invalidf("condition.threshold %v: a rate_change condition needs a change in percent, not 0 (e.g. 50 for a rise by half, -50 for a drop by half)", th)
		}
	case condSpike:
		if th <= 0 {
			return "", 0, apierr.Invalidf("condition.threshold %v: a spike condition needs a positive z-score (e.g. 3.5)", th)
		}
	case condNewErrorGroup:
		th = max(th, 1)
	case condSilence:
		th = 0
	case "":
		return "", 0, apierr.Invalidf("condition.type is required: count, rate_change, spike, new_error_group or silence")
	default:
		return "", 0, apierr.Invalidf("condition.type %q: want count, rate_change, spike, new_error_group or silence", t)
	}
	return t, th, nil
}

// parseChannels checks the channels and seals their secrets; keep gives,
// by type and url, the sealed secret of a current channel a channel
// without a secret keeps.
func parseChannels(chs []*logsv1.AlertChannel, s *sealer, keep map[[2]string]string) ([]channel, error) {
	if len(chs) == 0 {
		return nil, apierr.Invalidf("channels: at least one channel is required")
	}
	if len(chs) > maxChannels {
		return nil, apierr.Invalidf("channels: at most %d", maxChannels)
	}
	out := make([]channel, 0, len(chs))
	for i, c := range chs {
		t := strings.TrimSpace(c.GetType())
		if t != chanWebhook && t != chanSlack {
			return nil, apierr.Invalidf("channels[%d].type %q: want webhook or slack", i, c.GetType())
		}
		raw := strings.TrimSpace(c.GetUrl())
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > maxURLLen {
			return nil, apierr.Invalidf("channels[%d].url: want an http or https URL of at most %d characters", i, maxURLLen)
		}
		if len(c.GetSecret()) > maxSecretLen {
			return nil, apierr.Invalidf("channels[%d].secret: at most %d characters", i, maxSecretLen)
		}
		ch := channel{Type: t, URL: raw}
		switch {
		case c.GetSecret() != "":
			sealed, err := s.seal(c.GetSecret())
			if err != nil {
				return nil, err
			}
			ch.Secret = sealed
		default:
			ch.Secret = keep[[2]string{t, raw}]
		}
		out = append(out, ch)
	}
	return out, nil
}

func parseName(n string) (string, error) {
	n = strings.TrimSpace(n)
	if n == "" || utf8.RuneCountInString(n) > maxNameLen || strings.ContainsRune(n, 0) || !utf8.ValidString(n) {
		return "", apierr.Invalidf("name: 1 to %d characters of text is required", maxNameLen)
	}
	return n, nil
}

func channelsJSON(chs []channel) ([]byte, error) {
	b, err := json.Marshal(chs)
	if err != nil {
		return nil, fmt.Errorf("encoding channels: %w", err)
	}
	return b, nil
}
