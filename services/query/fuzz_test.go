package query

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore"
)

// The fuzz targets of the request parsing: the filters every query shares
// and the page and resume tokens. `make fuzz` runs each for FUZZTIME;
// every `go test` runs the seeds (f.Add and testdata/fuzz/FuzzX).

// splitList is a fuzzed string as a repeated parameter (`?service=a&service=b`).
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}

// FuzzParseFilters: parseFilters never panics, and the filters it accepts
// are a fixed point: the parsed filters, sent again as a request, parse to
// the same filters with the same page-token hash (the normalisation -
// sorting, deduplication, dropped empty values, microsecond rounding - is
// idempotent).
func FuzzParseFilters(f *testing.F) {
	f.Add("alpha", "api|web| |api", "error|WARN", "timeout", "user", "42", "00000000000000ff", "7", int64(1700000000000000000), int64(1700000000999999999))
	f.Add("", "", "", "", "", "", "", "", int64(0), int64(0))
	f.Add("beta|alpha|alpha", "x", " info ", "q with spaces", "k", "", "ff|FF|0ff", "12|12", int64(-1), int64(5))
	f.Add("gamma", "", "fatal|trace|debug", "a\x00b", "", "v", "zz", "-1", int64(3), int64(2))
	f.Fuzz(func(t *testing.T, project, service, level, q, ctxKey, ctxValue, pattern, errorGroup string, since, until int64) {
		for _, p := range []struct {
			name string
			ctx  context.Context
		}{{"member", as(member())}, {"admin", as(admin())}} {
			raw := rawFilters{project: splitList(project), service: splitList(service), level: splitList(level), q: q,
				pattern: splitList(pattern), errorGroup: splitList(errorGroup)}
			if since != 0 {
				raw.since = timestamppb.New(time.Unix(0, since))
			}
			if until != 0 {
				raw.until = timestamppb.New(time.Unix(0, until))
			}
			if ctxKey != "" || ctxValue != "" {
				raw.context = []*logsv1.ContextFilter{{Key: ctxKey, Value: ctxValue}, {Key: ctxKey, Value: ctxValue}}
			}
			got, err := parseFilters(p.ctx, raw)
			if err != nil {
				continue
			}
			again, err := parseFilters(p.ctx, rawOf(got))
			if err != nil {
				t.Fatalf("%s: accepted %+v, but not its normal form: %v", p.name, raw, err)
			}
			if !reflect.DeepEqual(got, again) {
				t.Fatalf("%s: parse(normal form) differs:\n first %+v\nsecond %+v", p.name, got, again)
			}
			if got.hash() != again.hash() {
				t.Fatalf("%s: the page-token hash of the normal form differs", p.name)
			}
			// A page token made for these filters reads back, and only for them.
			c := cursor{ts: time.UnixMicro(since / 1000).UTC(), id: until}
			back, err := decodeToken(encodeToken(c, got.hash()), again.hash())
			if err != nil || back != c {
				t.Fatalf("%s: page token of %+v read back as %+v, %v", p.name, c, back, err)
			}
		}
	})
}

// rawOf is parsed filters as a request again.
func rawOf(f *filters) rawFilters {
	raw := rawFilters{project: f.requested, service: f.services, q: f.q}
	for _, l := range f.levels {
		raw.level = append(raw.level, logstore.Level(l).String())
	}
	if f.since != nil {
		raw.since = timestamppb.New(*f.since)
	}
	if f.until != nil {
		raw.until = timestamppb.New(*f.until)
	}
	for _, c := range f.context {
		raw.context = append(raw.context, &logsv1.ContextFilter{Key: c.key, Value: c.value})
	}
	for _, id := range f.patterns {
		raw.pattern = append(raw.pattern, logstore.FormatPatternID(id))
	}
	for _, id := range f.errorGroups {
		raw.errorGroup = append(raw.errorGroup, logstore.FormatErrorGroupID(id))
	}
	return raw
}

var fuzzHash = [8]byte{1, 2, 3, 4, 5, 6, 7, 8}

// FuzzPageTokens: every page-token decoder of the service (entries,
// services, patterns, metrics) never panics, refuses a token made for other
// filters, and what it accepts encodes to a token that decodes to the same
// position (base64url's lenient decoding - ignored newlines, unused
// trailing bits - makes several texts name one position; the position is
// the fixed point).
func FuzzPageTokens(f *testing.F) {
	f.Add(encodeToken(cursor{ts: time.UnixMicro(1700000000123456).UTC(), id: 42}, fuzzHash))
	f.Add(encodeServiceToken(serviceKey{slug: "alpha", name: "api"}, fuzzHash))
	f.Add(encodePatternToken(patternCursor{until: time.UnixMicro(1700000000000000).UTC(), offset: 50}, fuzzHash))
	f.Add(encodeMetricsToken(100, time.UnixMicro(1700000000000000).UTC(), fuzzHash))
	f.Add("")
	f.Add("AQ\n")
	f.Fuzz(func(t *testing.T, tok string) {
		other := [8]byte{9}
		if c, err := decodeToken(tok, fuzzHash); err == nil {
			if back, err := decodeToken(encodeToken(c, fuzzHash), fuzzHash); err != nil || back != c {
				t.Fatalf("entries token %q: %+v re-encoded reads %+v, %v", tok, c, back, err)
			}
			if _, err := decodeToken(tok, other); err == nil {
				t.Fatalf("entries token %q accepted for other filters", tok)
			}
		}
		if k, err := decodeServiceToken(tok, fuzzHash); err == nil {
			if back, err := decodeServiceToken(encodeServiceToken(k, fuzzHash), fuzzHash); err != nil || back != k {
				t.Fatalf("services token %q: %+v re-encoded reads %+v, %v", tok, k, back, err)
			}
			if _, err := decodeServiceToken(tok, other); err == nil {
				t.Fatalf("services token %q accepted for other filters", tok)
			}
		}
		if c, err := decodePatternToken(tok, fuzzHash); err == nil {
			if back, err := decodePatternToken(encodePatternToken(c, fuzzHash), fuzzHash); err != nil || back != c {
				t.Fatalf("patterns token %q: %+v re-encoded reads %+v, %v", tok, c, back, err)
			}
			if _, err := decodePatternToken(tok, other); err == nil {
				t.Fatalf("patterns token %q accepted for other filters", tok)
			}
		}
		if off, until, err := decodeMetricsToken(tok, fuzzHash); err == nil {
			off2, until2, err := decodeMetricsToken(encodeMetricsToken(off, until, fuzzHash), fuzzHash)
			if err != nil || off2 != off || !until2.Equal(until) {
				t.Fatalf("metrics token %q: (%d, %v) re-encoded reads (%d, %v), %v", tok, off, until, off2, until2, err)
			}
		}
	})
}

// FuzzResumeToken: the tail's resume-token parser never panics, and a
// position it accepts gives a token that parses to the same position (its
// in-progress list sorted and deduplicated: the normal form).
func FuzzResumeToken(f *testing.F) {
	f.Add((&position{at: time.UnixMilli(1700000000123), xmax: 900, xip: []uint64{3, 17, 899}}).token())
	f.Add("1700000000123:5:")
	f.Add("1:10:9,9,1")
	f.Add("::")
	f.Add("-1:18446744073709551615:0")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := parseToken(tok)
		if err != nil {
			return
		}
		again, err := parseToken(p.token())
		if err != nil {
			t.Fatalf("%q parsed, but its normal form %q does not: %v", tok, p.token(), err)
		}
		if !again.at.Equal(p.at) || again.xmax != p.xmax || !reflect.DeepEqual(again.xip, p.xip) {
			t.Fatalf("%q: %+v, its normal form %+v", tok, p, again)
		}
		if again.token() != p.token() {
			t.Fatalf("%q: the normal form %q is not a fixed point (%q)", tok, p.token(), again.token())
		}
	})
}
