package jsontext

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/devsmith/logs/internal/pgtest"
)

var cluster *pgtest.Cluster

// TestMain checks, once every test has ended and the cluster is stopped,
// that no goroutine is left.
func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.WithCluster(m, &cluster)) }

type repairCase struct {
	in       string
	want     string // the repaired text; "" = unchanged
	nonEmpty bool
	err      error
}

var repairCases = []repairCase{
	{in: `{}`},
	{in: ` { } `},
	{in: "\n{\"a\":1}\t", nonEmpty: true},
	{in: `{"a":[1,2.5,-3e10,true,false,null,{"b":"c"}],"d":{}}`, nonEmpty: true},
	{in: `{"s":"esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00"}`, nonEmpty: true},
	{in: `{"u":"héllo ✓ 😀"}`, nonEmpty: true},
	{in: `{"a":1e130999, "b":-0.5e-15999, "c":` + strings.Repeat("9", 1000) + `}`, nonEmpty: true},
	// Repairs.
	{in: `{"a":"x\u0000y"}`, want: `{"a":"x\ufffdy"}`, nonEmpty: true},
	{in: "{\"a\":\"x\x00y\"}", want: `{"a":"x\ufffdy"}`, nonEmpty: true},
	{in: "{\"a\":\"tab\there\nnl\x01\x1f\b\f\r\"}", want: `{"a":"tab\there\nnl\u0001\u001f\b\f\r"}`, nonEmpty: true},
	{in: "{\"a\":\"bad \xff utf8\"}", want: "{\"a\":\"bad \uFFFD utf8\"}", nonEmpty: true},
	{in: "{\"k\xc3\":1}", want: "{\"k\uFFFD\":1}", nonEmpty: true},
	{in: "{\"cut\":\"\xe2\x82\"}", want: "{\"cut\":\"\uFFFD\uFFFD\"}", nonEmpty: true},
	{in: `{"a":"\ud800"}`, want: `{"a":"\ufffd"}`, nonEmpty: true},
	{in: `{"a":"\ud800\u0041"}`, want: `{"a":"\ufffd\u0041"}`, nonEmpty: true},
	{in: `{"a":"\ud800\ud800\udc00"}`, want: `{"a":"\ufffd\ud800\udc00"}`, nonEmpty: true},
	{in: `{"a":"\udc00x"}`, want: `{"a":"\ufffdx"}`, nonEmpty: true},
	{in: `{"\u0000":"k"}`, want: `{"\ufffd":"k"}`, nonEmpty: true},
	{in: `{"a":1e200000}`, want: `{"a":"1e200000"}`, nonEmpty: true},
	{in: `{"a":[1.5e-20000, 2]}`, want: `{"a":["1.5e-20000", 2]}`, nonEmpty: true},
	{in: `{"a":-` + strings.Repeat("1", 131001) + `}`, want: `{"a":"-` + strings.Repeat("1", 131001) + `"}`, nonEmpty: true},
	{in: `{"a":0.` + strings.Repeat("1", 16001) + `} `, want: `{"a":"0.` + strings.Repeat("1", 16001) + `"} `, nonEmpty: true},
	{in: `{"a":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`, nonEmpty: true},
	// Not objects.
	{in: `[]`, err: ErrSyntax},
	{in: `"x"`, err: ErrSyntax},
	{in: `42`, err: ErrSyntax},
	{in: `null`, err: ErrSyntax},
	{in: ``, err: ErrSyntax},
	{in: `{`, err: ErrSyntax},
	{in: `{"a":}`, err: ErrSyntax},
	{in: `{"a":1,}`, err: ErrSyntax},
	{in: `{"a" 1}`, err: ErrSyntax},
	{in: `{a:1}`, err: ErrSyntax},
	{in: `{"a":1} x`, err: ErrSyntax},
	{in: `{"a":1}{}`, err: ErrSyntax},
	{in: `{"a":01}`, err: ErrSyntax},
	{in: `{"a":1.}`, err: ErrSyntax},
	{in: `{"a":-}`, err: ErrSyntax},
	{in: `{"a":1e}`, err: ErrSyntax},
	{in: `{"a":tru}`, err: ErrSyntax},
	{in: `{"a":"\x"}`, err: ErrSyntax},
	{in: `{"a":"\u12"}`, err: ErrSyntax},
	{in: `{"a":"open}`, err: ErrSyntax},
	{in: `{"a":[1 2]}`, err: ErrSyntax},
	{in: `{"a":NaN}`, err: ErrSyntax},
	{in: "{\"a\":1}\x00", err: ErrSyntax},
	{in: `{"a":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, err: ErrTooDeep},
	{in: `{"a":` + strings.Repeat("[", 600), err: ErrTooDeep},
}

func TestRepairObject(t *testing.T) {
	t.Parallel()
	for _, c := range repairCases {
		obj, err := RepairObject(c.in)
		if c.err != nil {
			require.ErrorIs(t, err, c.err, "%q", c.in)
			continue
		}
		require.NoError(t, err, "%q", c.in)
		want := c.want
		if want == "" {
			want = c.in
			require.True(t, sameMemory(obj.Text, c.in), "%q: nothing to repair, no copy", c.in)
		}
		require.Equal(t, want, obj.Text, "%q", c.in)
		require.Equal(t, c.nonEmpty, obj.NonEmpty, "%q", c.in)
		checkRepaired(t, c.in, obj)
	}
}

// checkRepaired holds a repaired object to RepairObject's promises: the
// closing brace where CloseAt says, text that encoding/json and the jsonb
// rules accept, and the input's meaning where encoding/json reads the input.
func checkRepaired(t testing.TB, in string, obj Object) {
	t.Helper()
	require.Equal(t, byte('}'), obj.Text[obj.CloseAt], "%q", in)
	require.Equal(t, strings.TrimSpace(obj.Text[obj.CloseAt+1:]), "", "%q: only whitespace after the brace", in)
	require.True(t, json.Valid([]byte(obj.Text)), "%q -> %q", in, obj.Text)
	require.NoError(t, jsonbRules(obj.Text), "%q -> %q", in, obj.Text)
	if !json.Valid([]byte(in)) {
		return // raw control characters: nothing to compare with
	}
	if jsonbRules(in) == nil {
		require.Equal(t, in, obj.Text, "%q: jsonb accepts it as it is", in)
	}
	var want, got any
	require.NoError(t, decodeNumbers(in, &want))
	require.NoError(t, decodeNumbers(obj.Text, &got))
	if want, ok := asRepaired(want); ok {
		require.Equal(t, want, got, "%q -> %q", in, obj.Text)
	}
}

func decodeNumbers(s string, v any) error {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	return d.Decode(v)
}

// asRepaired is a value as encoding/json decoded it from a valid input,
// with the repairs applied to it: NUL as U+FFFD, numbers out of numeric's
// range as strings. ok is false when two keys of an object become one.
func asRepaired(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		return strings.ReplaceAll(v, "\x00", "\uFFFD"), true
	case json.Number:
		if jsonbRules(string(v)) != nil {
			return string(v), true
		}
		return v, true
	case []any:
		for i := range v {
			e, ok := asRepaired(v[i])
			if !ok {
				return nil, false
			}
			v[i] = e
		}
		return v, true
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			e, ok := asRepaired(e)
			if !ok {
				return nil, false
			}
			out[strings.ReplaceAll(k, "\x00", "\uFFFD")] = e
		}
		return out, len(out) == len(v)
	}
	return v, true
}

// jsonbRules checks, independently of the scanner, what RepairObject
// documents that jsonb needs beyond JSON: valid UTF-8, no \u0000, surrogate
// escapes only in pairs, numbers within numeric's range, at most MaxDepth
// levels. s must be valid JSON.
func jsonbRules(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("invalid UTF-8")
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '{' || c == '[':
			if depth++; depth > MaxDepth {
				return fmt.Errorf("deeper than %d", MaxDepth)
			}
		case c == '}' || c == ']':
			depth--
		case c == '"':
			for i++; s[i] != '"'; i++ {
				if s[i] != '\\' {
					continue
				}
				i++
				if s[i] != 'u' {
					continue
				}
				r, _ := hexValue(s[i+1 : i+5])
				i += 4
				switch {
				case r == 0:
					return fmt.Errorf(`\u0000`)
				case r >= 0xDC00 && r <= 0xDFFF:
					return fmt.Errorf("low surrogate alone")
				case r >= 0xD800 && r <= 0xDBFF:
					lo, _ := hexValue(s[min(i+3, len(s)):min(i+7, len(s))])
					if !strings.HasPrefix(s[i+1:], `\u`) || lo < 0xDC00 || lo > 0xDFFF {
						return fmt.Errorf("high surrogate alone")
					}
					i += 6
				}
			}
		case c == '-' || ('0' <= c && c <= '9'):
			j := i
			for j < len(s) && strings.IndexByte("+-.eE0123456789", s[j]) >= 0 {
				j++
			}
			var mant, exp string
			num := strings.TrimPrefix(s[i:j], "-")
			if k := strings.IndexAny(num, "eE"); k >= 0 {
				num, exp = num[:k], num[k+1:]
			}
			mant = num
			intPart, frac, _ := strings.Cut(mant, ".")
			e := 0
			if exp != "" {
				if _, err := fmt.Sscan(exp, &e); err != nil {
					e = 1 << 40 // beyond any bound
					if strings.HasPrefix(exp, "-") {
						e = -e
					}
				}
			}
			if intPart == "0" {
				intPart = ""
			}
			if len(intPart)+e > maxNumericIntDigits || len(frac)-e > maxNumericFracDigits {
				return fmt.Errorf("number %.20s... out of numeric's range", s[i:j])
			}
			i = j - 1
		}
	}
	return nil
}

func hexValue(h string) (rune, bool) {
	var r rune
	if len(h) != 4 {
		return -1, false
	}
	for _, c := range h {
		var d rune
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return -1, false
		}
		r = r<<4 | d
	}
	return r, true
}

// repairSeeds are inputs for the random and fuzz tests: objects, repaired
// or not, and a few that are not objects.
func repairSeeds() []string {
	var seeds []string
	for _, c := range repairCases {
		if len(c.in) < 2000 {
			seeds = append(seeds, c.in)
		}
	}
	return append(seeds, "{\"ctl\":\"\x00\x01\x7f\",\"n\":[1e131001,-2.5E-16001,0.0]}")
}

// checkRepair runs RepairObject on in and checks whatever it answers.
func checkRepair(t testing.TB, in string) {
	t.Helper()
	obj, err := RepairObject(in)
	if err != nil {
		require.True(t, err == ErrSyntax || err == ErrTooDeep, "%q: %v", in, err)
		if err == ErrSyntax && strings.HasPrefix(strings.TrimLeft(in, " \t\r\n"), "{") && utf8.ValidString(in) && !strings.ContainsFunc(in, func(r rune) bool { return r < 0x20 }) && jsonbDepthOK(in) {
			require.False(t, json.Valid([]byte(in)), "%q: encoding/json reads it", in)
		}
		return
	}
	checkRepaired(t, in, obj)
}

// jsonbDepthOK is false for texts with more brackets than MaxDepth (where
// the repairing mode refuses what encoding/json may accept).
func jsonbDepthOK(s string) bool { return strings.Count(s, "{")+strings.Count(s, "[") <= MaxDepth }

// TestRepairObjectRandomMutations repairs many damaged variants of the
// cases above and checks every answer.
func TestRepairObjectRandomMutations(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	seeds := repairSeeds()
	n := 20_000
	if testing.Short() {
		n = 2_000
	}
	for range n {
		checkRepair(t, string(mutate(r, []byte(seeds[r.IntN(len(seeds))]), mutationPieces)))
	}
}

// FuzzRepairObject: go test -fuzz FuzzRepairObject ./internal/jsontext/
// (`make fuzz`; the seeds run in every go test). Besides checkRepair's
// properties, the repair is idempotent: a repaired object repairs to
// itself.
func FuzzRepairObject(f *testing.F) {
	for _, s := range repairSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkRepair(t, s)
		obj, err := RepairObject(s)
		if err != nil {
			return
		}
		again, err := RepairObject(obj.Text)
		require.NoError(t, err, "%q repaired to %q, which is refused", s, obj.Text)
		require.Equal(t, obj, again, "%q: the repair of %q is not itself", s, obj.Text)
	})
}

// TestRepairedTextIsJSONB stores repaired objects, and AppendString's
// strings, as jsonb in a real PostgreSQL: the rules jsonbRules checks are
// the ones that matter.
func TestRepairedTextIsJSONB(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	ctx := context.Background()
	var texts []string
	for _, c := range repairCases {
		if obj, err := RepairObject(c.in); err == nil {
			texts = append(texts, obj.Text)
		}
	}
	r := rand.New(rand.NewPCG(7, 8))
	seeds := repairSeeds()
	for len(texts) < 3000 {
		if obj, err := RepairObject(string(mutate(r, []byte(seeds[r.IntN(len(seeds))]), mutationPieces))); err == nil {
			texts = append(texts, obj.Text)
		}
	}
	for _, s := range appendStringCases {
		texts = append(texts, `{"s":`+string(AppendString(nil, s.in))+`}`)
	}
	rows, err := pool.Query(ctx, `SELECT i, t::jsonb::text FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i`, texts)
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		var i int
		var stored string
		require.NoError(t, rows.Scan(&i, &stored))
		var want, got any
		require.NoError(t, decodeNumbers(texts[i-1], &want))
		require.NoError(t, decodeNumbers(stored, &got), "%q", stored)
		require.Equal(t, exactNumbers(want), exactNumbers(got), "%q stored as %q", texts[i-1], stored)
		n++
	}
	if err := rows.Err(); err != nil {
		for _, s := range texts { // name the text jsonb refused
			_, err1 := pool.Exec(ctx, `SELECT $1::text::jsonb`, s)
			require.NoError(t, err1, "%q", s)
		}
		require.NoError(t, err)
	}
	require.Equal(t, len(texts), n)
}

// exactNumbers replaces a decoded value's numbers by their exact values
// (jsonb writes 1E3 as 1000).
func exactNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		return exactNumber(string(v))
	case []any:
		for i := range v {
			v[i] = exactNumbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = exactNumbers(v[k])
		}
	}
	return v
}

// exactNumber writes a JSON number as sign, significant digits and the
// exponent of the last one.
func exactNumber(n string) string {
	sign := ""
	if strings.HasPrefix(n, "-") {
		sign, n = "-", n[1:]
	}
	exp := 0
	if k := strings.IndexAny(n, "eE"); k >= 0 {
		e, err := strconv.Atoi(n[k+1:])
		if err != nil {
			panic(err)
		}
		n, exp = n[:k], e
	}
	intPart, frac, _ := strings.Cut(n, ".")
	digits := intPart + frac
	exp -= len(frac)
	trimmed := strings.TrimRight(digits, "0")
	exp += len(digits) - len(trimmed)
	trimmed = strings.TrimLeft(trimmed, "0")
	if trimmed == "" {
		return "0"
	}
	return sign + trimmed + "e" + strconv.Itoa(exp)
}

func sameMemory(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}
