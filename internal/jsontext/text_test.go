package jsontext

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var appendStringCases = []struct{ in, want string }{
	{"plain", `"plain"`},
	{"", `""`},
	{`q"b\`, `"q\"b\\"`},
	{"nl\ntab\t\x01\x1f\b\f\r\x7f", `"nl\ntab\t\u0001\u001f\b\f\r` + "\x7f" + `"`},
	{"nul\x00", `"nul\ufffd"`},
	{"bad\xffutf8 \xe2\x82", `"bad\ufffdutf8 \ufffd\ufffd"`},
	{"héllo 😀 ✓ 日本", `"héllo 😀 ✓ 日本"`},
	{"sep \u2028 \u2029", `"sep \u2028 \u2029"`},
	{"<script>&</script>", `"<script>&</script>"`},
	{"\uFFFD kept", "\"\uFFFD kept\""},
}

func TestAppendString(t *testing.T) {
	t.Parallel()
	for _, c := range appendStringCases {
		got := AppendString([]byte("prefix:"), c.in)
		require.Equal(t, "prefix:"+c.want, string(got), "%q", c.in)
		sameAsMarshal(t, c.in)
	}
}

// sameAsMarshal checks AppendString against encoding/json without HTML
// escaping: byte for byte the same, NUL (which AppendString writes as
// U+FFFD) taken as the invalid byte encoding/json writes as \ufffd.
func sameAsMarshal(t testing.TB, s string) {
	t.Helper()
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(strings.ReplaceAll(s, "\x00", "\xff")))
	got := AppendString(nil, s)
	require.Equal(t, strings.TrimSuffix(want.String(), "\n"), string(got), "%q", s)
	require.NoError(t, jsonbRules(string(got)), "%q", s)
}

func FuzzAppendString(f *testing.F) {
	for _, c := range appendStringCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) { sameAsMarshal(t, s) })
}
