// Package durationflag is a flag.Value for durations that accepts a day
// suffix ("30d") besides Go durations ("720h", "90m", "500ms"), and prints
// its value the short way ("30d", "1h", "15s") so that --help and the
// README show the defaults as one would type them.
package durationflag

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

// Parse reads a duration: a Go duration or a number of days ("30d",
// "1.5d"). Negative durations are refused; zero is allowed (the caller's
// Validate decides whether it makes sense).
func Parse(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 30d, 12h or 500ms", s)
		}
		return time.Duration(n * float64(day)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q: want e.g. 30d, 12h or 500ms", s)
	}
	return d, nil
}

// Format writes d the way Parse reads it, shortest: whole days as "7d",
// otherwise Go's form without zero minutes and seconds ("1h", "1h30m",
// "15s", "250ms").
func Format(d time.Duration) string {
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

type value struct{ p *time.Duration }

func (v value) String() string {
	if v.p == nil {
		return ""
	}
	return Format(*v.p)
}

// Type names the value in a flag listing.
func (value) Type() string { return "duration" }

func (v value) Set(s string) error {
	d, err := Parse(s)
	if err != nil {
		return err
	}
	*v.p = d
	return nil
}

// Var defines a duration flag on fs that stores into p, with def as its
// default.
func Var(fs *flag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	fs.Var(value{p}, name, usage)
}
