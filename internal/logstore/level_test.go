package logstore_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore"
)

// TestLevelNumbersAndNames pins every level's stored number and name: both
// are part of the schema (rows already stored keep their numbers).
func TestLevelNumbersAndNames(t *testing.T) {
	t.Parallel()
	want := []struct {
		level logstore.Level
		n     int16
		name  string
	}{
		{logstore.LevelTrace, 1, "TRACE"},
		{logstore.LevelDebug, 2, "DEBUG"},
		{logstore.LevelInfo, 3, "INFO"},
		{logstore.LevelWarn, 4, "WARN"},
		{logstore.LevelError, 5, "ERROR"},
		{logstore.LevelFatal, 6, "FATAL"},
	}
	var seen []logstore.Level
	for l := logstore.MinLevel; l <= logstore.MaxLevel; l++ {
		seen = append(seen, l)
	}
	require.Len(t, seen, len(want), "MinLevel..MaxLevel are the six levels")
	for i, w := range want {
		require.Equal(t, w.level, seen[i])
		require.Equal(t, w.n, int16(w.level), w.name)
		require.Equal(t, w.name, w.level.String())
		require.True(t, w.level.Valid(), w.name)
		for _, spelled := range []string{w.name, strings.ToLower(w.name), strings.ToUpper(w.name[:1]) + strings.ToLower(w.name[1:])} {
			got, ok := logstore.ParseLevel(spelled)
			require.True(t, ok, spelled)
			require.Equal(t, w.level, got, spelled)
		}
		// The name round trips through its number.
		got, ok := logstore.ParseLevel(logstore.Level(w.n).String())
		require.True(t, ok)
		require.Equal(t, w.level, got)
	}
	require.Equal(t, "TRACE, DEBUG, INFO, WARN, ERROR, FATAL", logstore.LevelNames())
}

func TestLevelOutsideTheSchema(t *testing.T) {
	t.Parallel()
	for _, n := range []int16{0, 7, -1, 100} {
		l := logstore.Level(n)
		require.False(t, l.Valid(), "%d", n)
		require.Equal(t, fmt.Sprintf("LEVEL(%d)", n), l.String())
	}
	for _, s := range []string{"", " INFO", "INFO ", "INFOS", "INF", "3", "warning", "err", "LEVEL(3)", "ınfo"} {
		_, ok := logstore.ParseLevel(s)
		require.False(t, ok, "%q", s)
	}
}

func TestParseLevelAllocatesNothing(t *testing.T) {
	names := []string{"info", "WARN", "Error", "debug", "TRACE", "fatal", "notice"}
	allocs := testing.AllocsPerRun(100, func() {
		for _, s := range names {
			_, _ = logstore.ParseLevel(s)
		}
	})
	require.Zero(t, allocs)
}
