package jsontext

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// validTexts are JSON texts encoding/json accepts.
var validTexts = []string{
	`{}`, ` { } `, `[]`, `0`, `-0`, `-0.0e+0`, `1E9`, `12.5e-3`, `true`, `false`, `null`, `""`,
	`{"a":1}`,
	`{"a":[1,2.5,-3e10,true,false,null,{"b":"c"}],"d":{}}`,
	`{"s":"esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 \ud800 \udc00 \ud800\u0041 \u0000 end"}`,
	`{"u":"héllo ✓ 😀"}`,
	"{\"bad\":\"\xff utf8 \xe2\x82\"}",
	"\t[ 1 ,\n2 ,\r{ \"k\" : [ ] } ]\n",
	`{"dup":1,"dup":2,"DUP":3}`,
	` {"A" : [1, {"k":2}] , "MeSsAgE":null, "k":"v","s":{}, "other":"x"} `,
	`{"me\u0073sage":1,"message":2}`,
	`["` + strings.Repeat("x", 300) + `"]`,
	strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
}

// invalidTexts are texts encoding/json refuses.
var invalidTexts = []string{
	``, ` `, `{`, `}`, `[`, `{"a":}`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{a:1}`, `{"a":1} x`, `{"a":1}{}`,
	`01`, `1.`, `.5`, `-`, `1e`, `1e+`, `+1`, `tru`, `nul`, `True`, `NaN`, `"\x"`, `"\u12"`, `"\u12G4"`,
	`"open`, `[1 2]`, "\"raw\x01control\"", "\"raw\ttab\"", "\xef\xbb\xbf{}", `'x'`, `{"a":1 "b":2}`,
}

// scanAll scans s as one whole JSON text in validating mode.
func scanAll(s string) (Value, error) {
	sc := NewScanner(s)
	v, ok := sc.ScanValue()
	if !ok {
		return Value{}, sc.Err()
	}
	if !sc.AtEnd() {
		return Value{}, ErrSyntax
	}
	return v, nil
}

// sameAsEncodingJSON checks that the validating scanner answers s as
// encoding/json does: the same verdict, the same text for the value, and
// for an object the same members (keys decoded alike, values' spans equal
// to the raw messages) and for a string the same content.
func sameAsEncodingJSON(t testing.TB, s string) {
	t.Helper()
	v, err := scanAll(s)
	if err == ErrTooDeep {
		require.Greater(t, strings.Count(s, "[")+strings.Count(s, "{"), MaxDepth, "%q", s)
		return
	}
	require.Equal(t, json.Valid([]byte(s)), err == nil, "%q: scanner said %v", s, err)
	if err != nil {
		return
	}
	require.Equal(t, string(bytes.TrimSpace([]byte(s))), s[v.Start:v.End], "%q", s)
	switch s[v.Start] {
	case '"':
		require.NotZero(t, v.Flags&String, "%q", s)
		var want string
		require.NoError(t, json.Unmarshal([]byte(s), &want))
		require.Equal(t, want, Unquote(s, v), "%q", s)
	case '{':
		var want map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(s), &want))
		got := map[string]string{}
		sc := NewScanner(s)
		more, ok := sc.OpenObject()
		for more {
			key, kok := sc.Key()
			require.True(t, kok)
			val, vok := sc.ScanValue()
			require.True(t, vok)
			got[Unquote(s, key)] = s[val.Start:val.End]
			more, ok = sc.NextMember()
		}
		require.True(t, ok)
		require.True(t, sc.AtEnd())
		require.Len(t, got, len(want), "%q", s)
		for k, raw := range want {
			require.Equal(t, string(raw), got[k], "%q: key %q", s, k)
		}
		sameFieldsAsEncodingJSON(t, s)
	default:
		require.Zero(t, v.Flags, "%q", s)
	}
}

// fieldsTarget is what sameFieldsAsEncodingJSON decodes objects into.
type fieldsTarget struct {
	A       json.RawMessage `json:"a"`
	Dup     json.RawMessage `json:"dup"`
	K       json.RawMessage `json:"k"`
	Message json.RawMessage `json:"message"`
	S       json.RawMessage `json:"s"`
}

// sameFieldsAsEncodingJSON checks Fields against encoding/json decoding the
// object s into a struct.
func sameFieldsAsEncodingJSON(t testing.TB, s string) {
	t.Helper()
	var want fieldsTarget
	require.NoError(t, json.Unmarshal([]byte(s), &want))
	names := []string{"a", "dup", "k", "message", "s"}
	vals := make([]Value, len(names))
	sc := NewScanner(s)
	odd, ok := sc.Fields(names, vals)
	require.True(t, ok, "%q", s)
	require.True(t, sc.AtEnd(), "%q", s)
	if odd {
		return // a key encoding/json may fold in ways Fields does not
	}
	for k, raw := range []json.RawMessage{want.A, want.Dup, want.K, want.Message, want.S} {
		got := ""
		if vals[k].End > 0 {
			got = s[vals[k].Start:vals[k].End]
		}
		require.Equal(t, string(raw), got, "%q: field %q", s, names[k])
	}
}

func TestScannerMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range validTexts {
		_, err := scanAll(s)
		require.NoError(t, err, "%q", s)
		sameAsEncodingJSON(t, s)
	}
	for _, s := range invalidTexts {
		_, err := scanAll(s)
		require.ErrorIs(t, err, ErrSyntax, "%q", s)
		sameAsEncodingJSON(t, s)
	}
}

func TestScannerDepth(t *testing.T) {
	t.Parallel()
	_, err := scanAll(strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth))
	require.NoError(t, err)
	_, err = scanAll(strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth))
	require.NoError(t, err)
	_, err = scanAll(strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1))
	require.ErrorIs(t, err, ErrTooDeep)
	_, err = scanAll(`{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`)
	require.ErrorIs(t, err, ErrTooDeep, "the outer object counts")
	_, err = scanAll(strings.Repeat("[", MaxDepth+1)) // too deep before it is unterminated
	require.ErrorIs(t, err, ErrTooDeep)
}

func TestScannerFlags(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]Flags{
		`"plain"`:      String,
		`"a\nb"`:       String | Escaped,
		`"é"`:          String | NonASCII,
		"\"\xff\"":     String | NonASCII,
		`"\u00e9 é"`:   String | Escaped | NonASCII,
		`12`:           0,
		`{"é":"\n"}`:   0,
		` "padded"  `:  String,
		`"\\"`:         String | Escaped,
		`"\/ slash"`:   String | Escaped,
		`"tab\tthere"`: String | Escaped,
	} {
		v, err := scanAll(s)
		require.NoError(t, err, "%q", s)
		require.Equal(t, want, v.Flags, "%q", s)
	}
	s := `"no copy"`
	v, err := scanAll(s)
	require.NoError(t, err)
	got := Unquote(s, v)
	require.Equal(t, "no copy", got)
	require.True(t, unsafe.StringData(got) == unsafe.StringData(s[1:]), "a string without escapes is a substring")
}

// mutate damages b with one to three random edits from pieces.
func mutate(r *rand.Rand, b []byte, pieces []string) []byte {
	for range 1 + r.IntN(3) {
		if len(b) == 0 {
			b = append(b, pieces[r.IntN(len(pieces))]...)
			continue
		}
		i := r.IntN(len(b))
		switch r.IntN(3) {
		case 0: // insert
			b = append(b[:i], append([]byte(pieces[r.IntN(len(pieces))]), b[i:]...)...)
		case 1: // delete
			b = append(b[:i], b[min(len(b), i+1+r.IntN(3)):]...)
		default: // replace a byte
			b[i] = pieces[r.IntN(len(pieces))][0]
		}
	}
	return b
}

var mutationPieces = []string{`"`, `\`, `\u00e9`, `\ud800`, `\udc00`, `\u0000`, `\"`, `{`, `}`, `[`, `]`, `,`, `:`, ` `, "\n",
	`null`, `true`, `-0.5e+3`, `01`, `1e99999999`, "\xff", "\x00", "\x01", "é", "K", `"k":`, `0`, `e`, `.`, `-`}

// TestScannerRandomMutations compares many damaged variants of the texts
// above with encoding/json.
func TestScannerRandomMutations(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	seeds := append(append([]string{}, validTexts[:len(validTexts)-1]...), invalidTexts...)
	n := 20_000
	if testing.Short() {
		n = 2_000
	}
	for range n {
		sameAsEncodingJSON(t, string(mutate(r, []byte(seeds[r.IntN(len(seeds))]), mutationPieces)))
	}
}

func FuzzScanner(f *testing.F) {
	for _, s := range validTexts {
		f.Add(s)
	}
	for _, s := range invalidTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameAsEncodingJSON(t, s) })
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range append(append([]string{}, validTexts...), invalidTexts...) {
		require.Equal(t, json.Valid([]byte(s)), Valid(s), "%q", s)
	}
	require.False(t, Valid(strings.Repeat("[", MaxDepth+1)+strings.Repeat("]", MaxDepth+1)), "past MaxDepth")
}
