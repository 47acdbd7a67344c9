package durationflag

import (
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseAndFormatRoundTrip(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30d": 30 * day, "1.5d": 36 * time.Hour, "720h": 30 * day, "90m": 90 * time.Minute,
		"500ms": 500 * time.Millisecond, "0": 0, "0s": 0, " 12h ": 12 * time.Hour,
	} {
		got, err := Parse(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
		back, err := Parse(Format(got))
		require.NoError(t, err, Format(got))
		require.Equal(t, got, back, "Format(%v) = %q reads back", got, Format(got))
	}
	for _, bad := range []string{"", "forever", "-1h", "-2d", "d", "3x"} {
		_, err := Parse(bad)
		require.Error(t, err, bad)
	}
}

func TestFormatIsShort(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * day: "30d", 7 * day: "7d", time.Hour: "1h", 90 * time.Minute: "1h30m", time.Minute: "1m",
		15 * time.Second: "15s", 250 * time.Millisecond: "250ms", 0: "0s", 25 * time.Hour: "25h",
	} {
		require.Equal(t, want, Format(d))
	}
}

func TestVar(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var d time.Duration
	Var(fs, &d, "retention", 30*day, "how long")
	require.Equal(t, 30*day, d)
	require.Equal(t, "30d", fs.Lookup("retention").DefValue)
	require.NoError(t, fs.Parse([]string{"--retention=2d"}))
	require.Equal(t, 48*time.Hour, d)
	require.ErrorContains(t, fs.Parse([]string{"--retention=soon"}), `invalid duration "soon"`)
}
