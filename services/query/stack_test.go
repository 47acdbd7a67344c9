package query

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStackOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ context, want string }{
		{`{"stack": "Error: x\n    at f (a.js:1:2)"}`, "Error: x\n    at f (a.js:1:2)"},
		{`{"error.stack": "flat"}`, "flat"},
		{`{"error": {"stack": "nested", "message": "m"}}`, "nested"},
		{`{"exception.stacktrace": "otel"}`, "otel"},
		{`{"exception": {"stacktrace": "otel nested"}}`, "otel nested"},
		{`{"exc_info": "Traceback (most recent call last):\n"}`, "Traceback (most recent call last):\n"},
		{`{"traceback": ["Traceback (most recent call last):\n", "  File \"a.py\", line 1, in f\n"]}`, "Traceback (most recent call last):\n  File \"a.py\", line 1, in f\n"},
		{`{"stacktrace": "java"}`, "java"},
		{`{"stack": "first", "traceback": "second"}`, "first"},
		{`{"stack": 12, "traceback": "a string wins"}`, "a string wins"},
		{`{"error": "just a message"}`, ""},
		{`{}`, ""},
		{`[1]`, ""},
		{``, ""},
	} {
		require.Equal(t, tc.want, stackOf([]byte(tc.context)), tc.context)
	}
}
