package logstore

import (
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
)

// Level is an entry's severity as stored in logs.entries.level (smallint).
// The numbers are the stored values and never change; a higher number is
// more severe.
type Level int16

// The levels, as stored.
const (
	LevelTrace Level = 1 + iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
	LevelFatal
)

// MinLevel and MaxLevel bound the stored levels: every Level from MinLevel
// to MaxLevel is valid, and no other.
const (
	MinLevel = LevelTrace
	MaxLevel = LevelFatal
)

// Valid tells whether l is one of the stored levels.
func (l Level) Valid() bool { return l >= MinLevel && l <= MaxLevel }

// String is the level's name, TRACE..FATAL; a number that is not a level
// (never written) is LEVEL(n).
func (l Level) String() string {
	switch l {
	case LevelTrace:
		return "TRACE"
	case LevelDebug:
		return "DEBUG"
	case LevelInfo:
		return "INFO"
	case LevelWarn:
		return "WARN"
	case LevelError:
		return "ERROR"
	case LevelFatal:
		return "FATAL"
	}
	return "LEVEL(" + strconv.Itoa(int(l)) + ")"
}

// ParseLevel reads a level's name, in any case (no surrounding space). It
// allocates nothing: ingestion calls it for every entry.
func ParseLevel(s string) (Level, bool) {
	switch len(s) {
	case 4:
		switch {
		case strings.EqualFold(s, "INFO"):
			return LevelInfo, true
		case strings.EqualFold(s, "WARN"):
			return LevelWarn, true
		}
	case 5:
		switch {
		case strings.EqualFold(s, "ERROR"):
			return LevelError, true
		case strings.EqualFold(s, "DEBUG"):
			return LevelDebug, true
		case strings.EqualFold(s, "TRACE"):
			return LevelTrace, true
		case strings.EqualFold(s, "FATAL"):
			return LevelFatal, true
		}
	}
	return 0, false
}

// LevelNames are the names of the levels, least severe first, joined by
// ", " (for messages listing what is accepted).
func LevelNames() string {
	var b strings.Builder
	for l := MinLevel; l <= MaxLevel; l++ {
		if l > MinLevel {
			b.WriteString(", ")
		}
		b.WriteString(l.String())
	}
	return b.String()
}

// ScanInt16 implements pgtype.Int2Scanner: a Level scans from the smallint
// column without reflection.
func (l *Level) ScanInt16(v pgtype.Int2) error {
	if !v.Valid {
		return errors.New("scanning a level: NULL")
	}
	*l = Level(v.Int16)
	return nil
}

// Int16Value implements pgtype.Int2Valuer: a Level is a smallint argument.
// (A one-shot statement, pgx.QueryExecModeExec, has no parameter types to
// encode a []Level by: pass such a list as []int16.)
func (l Level) Int16Value() (pgtype.Int2, error) {
	return pgtype.Int2{Int16: int16(l), Valid: true}, nil
}
