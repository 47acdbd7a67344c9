package ingestion

import (
	"math"
	"strconv"
	"time"

	"github.com/devsmith/logs/internal/logstore"
)

// parseLevel maps a client's level to a stored level: a level's name
// (logstore.ParseLevel) in any case, or one of the synonyms below. ok is
// false for a level it does not know (stored as INFO with the original kept
// as _level); an empty level is INFO.
func parseLevel(s string) (level logstore.Level, ok bool) {
	s = trimSpace(s)
	if s == "" {
		return logstore.LevelInfo, true
	}
	if l, ok := logstore.ParseLevel(s); ok {
		return l, true
	}
	var buf [16]byte
	if len(s) > len(buf) {
		return logstore.LevelInfo, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(s)]) {
	case "verbose":
		return logstore.LevelDebug, true
	case "information", "notice":
		return logstore.LevelInfo, true
	case "warning":
		return logstore.LevelWarn, true
	case "err":
		return logstore.LevelError, true
	case "critical", "crit", "alert", "emerg", "emergency", "panic":
		return logstore.LevelFatal, true
	}
	return logstore.LevelInfo, false
}

func trimSpace(s string) string {
	for len(s) > 0 && isJSONSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isJSONSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// parseTimestamp reads a client's timestamp as microseconds since the Unix
// epoch (PostgreSQL keeps microseconds; finer digits are dropped). Accepted:
//
//   - RFC 3339 / ISO 8601: 2006-01-02T15:04:05, with or without a fraction
//     (dot or comma, any number of digits), 'T', 't' or a space between date
//     and time, seconds optional, and an offset Z, z, ±hh:mm, ±hhmm, ±hh or
//     UTC/GMT, optionally after a space; no offset means UTC. A date alone
//     is midnight UTC.
//   - a Unix epoch as a decimal number, told apart by size: below 1e11
//     seconds, below 1e14 milliseconds, below 1e17 microseconds, else
//     nanoseconds; a fraction is allowed (and an exponent, for seconds).
func parseTimestamp(s string) (int64, bool) {
	s = trimSpace(s)
	if s == "" {
		return 0, false
	}
	if len(s) >= 10 && s[4] == '-' {
		return parseISO(s)
	}
	return parseEpoch(s)
}

func digits2(s string, i int) (int, bool) {
	if i+2 > len(s) {
		return 0, false
	}
	a, b := s[i]-'0', s[i+1]-'0'
	if a > 9 || b > 9 {
		return 0, false
	}
	return int(a)*10 + int(b), true
}

func parseISO(s string) (int64, bool) {
	y1, ok1 := digits2(s, 0)
	y2, ok2 := digits2(s, 2)
	mo, ok3 := digits2(s, 5)
	d, ok4 := digits2(s, 8)
	if !ok1 || !ok2 || !ok3 || !ok4 || s[7] != '-' {
		return 0, false
	}
	year := y1*100 + y2
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(time.Month(mo), year) {
		return 0, false
	}
	var hh, mm, ss, nanos, offset int
	i := 10
	if i < len(s) {
		if c := s[i]; c != 'T' && c != 't' && c != ' ' {
			return 0, false
		}
		i++
		var ok bool
		if hh, ok = digits2(s, i); !ok || hh > 23 || i+2 >= len(s) || s[i+2] != ':' {
			return 0, false
		}
		if mm, ok = digits2(s, i+3); !ok || mm > 59 {
			return 0, false
		}
		i += 5
		if i < len(s) && s[i] == ':' {
			if ss, ok = digits2(s, i+1); !ok || ss > 59 {
				return 0, false
			}
			i += 3
			if i < len(s) && (s[i] == '.' || s[i] == ',') {
				i++
				n, scale := 0, 100_000_000
				start := i
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					n += int(s[i]-'0') * scale
					scale /= 10
					i++
				}
				if i == start {
					return 0, false
				}
				nanos = n
			}
		}
		if i < len(s) && s[i] == ' ' {
			i++
		}
		if i < len(s) {
			switch rest := s[i:]; {
			case rest == "Z" || rest == "z" || rest == "UTC" || rest == "GMT":
			case rest[0] == '+' || rest[0] == '-':
				oh, ok := digits2(rest, 1)
				if !ok || oh > 23 {
					return 0, false
				}
				om := 0
				switch len(rest) {
				case 3:
				case 5:
					om, ok = digits2(rest, 3)
				case 6:
					if rest[3] != ':' {
						return 0, false
					}
					om, ok = digits2(rest, 4)
				default:
					return 0, false
				}
				if !ok || om > 59 {
					return 0, false
				}
				offset = (oh*60 + om) * 60
				if rest[0] == '-' {
					offset = -offset
				}
			default:
				return 0, false
			}
		}
	}
	t := time.Date(year, time.Month(mo), d, hh, mm, ss, nanos, time.UTC)
	return t.Unix()*1_000_000 - int64(offset)*1_000_000 + int64(t.Nanosecond()/1000), true
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

func parseEpoch(s string) (int64, bool) {
	neg := false
	i := 0
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		i++
	}
	start := i
	var whole int64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := int64(s[i] - '0')
		if whole > (math.MaxInt64-d)/10 {
			return 0, false
		}
		whole = whole*10 + d
		i++
	}
	intDigits := i - start
	var frac int64 // nanoseconds of the unit, scaled to 1e9
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		scale := int64(100_000_000)
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			frac += int64(s[i]-'0') * scale
			scale /= 10
			fracDigits++
			i++
		}
	}
	if intDigits+fracDigits == 0 {
		return 0, false
	}
	if i < len(s) {
		if s[i] == 'e' || s[i] == 'E' {
			return parseEpochFloat(s)
		}
		return 0, false
	}
	// Unit by size of the whole part, in nanoseconds.
	var unit int64
	switch {
	case whole < 100_000_000_000:
		unit = 1_000_000_000
	case whole < 100_000_000_000_000:
		unit = 1_000_000
	case whole < 100_000_000_000_000_000:
		unit = 1_000
	default:
		unit = 1
	}
	// Microseconds: whole*unit/1000 plus the fraction of one unit.
	var micros int64
	if unit == 1 {
		micros = whole / 1000
	} else {
		micros = whole * (unit / 1000)
		micros += frac * (unit / 1000) / 1_000_000_000
	}
	if neg {
		micros = -micros
	}
	return micros, true
}

// parseEpochFloat reads an epoch written with an exponent (1.7e9), told
// apart by size like the plain form.
func parseEpochFloat(s string) (int64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	a := math.Abs(f)
	switch {
	case a < 1e11:
		f *= 1e6
	case a < 1e14:
		f *= 1e3
	case a < 1e17:
	case a < 9e18:
		f /= 1e3
	default:
		return 0, false
	}
	return int64(f), true
}
