// Package jsontext reads and writes JSON text (RFC 8259) without building
// values: a Scanner that walks a text and reports where its values are, and
// AppendString, the one JSON string encoder.
//
// The grammar is encoding/json's: strings without raw control characters and
// with only JSON's escapes, JSON's number syntax, the four whitespace bytes,
// literals true, false and null. A Scanner reads it in one of two modes:
//
//   - validating (NewScanner): it accepts exactly the texts encoding/json
//     accepts, except nesting deeper than MaxDepth, and never changes the
//     text. A caller that must answer as encoding/json would can fall back
//     to encoding/json wherever the scanner gives up.
//   - repairing (RepairObject): it also accepts what a client's logger
//     plausibly sends but PostgreSQL's jsonb would refuse, and rewrites it
//     into text that both encoding/json and jsonb accept (see RepairObject
//     for the rules).
package jsontext

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds the objects and arrays open at once in a scanned text.
// PostgreSQL's recursive JSON parser fails the whole statement ("stack depth
// limit exceeded") a few thousand levels deep; encoding/json refuses more
// than 10000 levels. Deeper texts are ErrTooDeep in both modes.
const MaxDepth = 512

var (
	// ErrSyntax is a text that is not JSON (or, for RepairObject, not one
	// JSON object) even after the repairs of the repairing mode.
	ErrSyntax = errors.New("not a JSON text")
	// ErrTooDeep is a text nested more than MaxDepth levels deep.
	ErrTooDeep = errors.New("nested more than 512 levels deep")
)

// Flags are what a scan found in a value.
type Flags uint8

const (
	// String marks a string value; Escaped and NonASCII are known for it.
	String Flags = 1 << iota
	// Escaped: the string has backslash escapes.
	Escaped
	// NonASCII: the string has bytes outside ASCII (maybe invalid UTF-8).
	NonASCII
)

// Value is where a scanned value is: text[Start:End], a string with its
// quotes.
type Value struct {
	Start, End int
	Flags      Flags
}

// Scanner walks one JSON text. Its methods report ok = false at the first
// byte outside the grammar (or past MaxDepth, see Err); the scanner is not
// usable after that. A scanner in validating mode never modifies or copies
// the text, so every Value is a substring of it.
type Scanner struct {
	s       string
	i       int
	depth   int  // objects and arrays open at i
	repair  bool // repairing mode: see RepairObject
	tooDeep bool // the scan stopped at MaxDepth
	out     []byte
	last    int // repairing mode: s[:last] is already in out (out != nil)
}

// NewScanner is a validating scanner of s, at its start.
func NewScanner(s string) Scanner { return Scanner{s: s} }

// Pos is the offset of the next byte to scan.
func (sc *Scanner) Pos() int { return sc.i }

// Err is why the scan stopped: ErrTooDeep or ErrSyntax.
func (sc *Scanner) Err() error {
	if sc.tooDeep {
		return ErrTooDeep
	}
	return ErrSyntax
}

// IsSpace reports whether c is JSON whitespace.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (sc *Scanner) skipSpace() {
	for sc.i < len(sc.s) && IsSpace(sc.s[sc.i]) {
		sc.i++
	}
}

// At skips whitespace and reports whether the next byte is c.
func (sc *Scanner) At(c byte) bool {
	sc.skipSpace()
	return sc.i < len(sc.s) && sc.s[sc.i] == c
}

// AtEnd skips whitespace and reports whether the text ends there.
func (sc *Scanner) AtEnd() bool {
	sc.skipSpace()
	return sc.i == len(sc.s)
}

func (sc *Scanner) at(c byte) bool { return sc.i < len(sc.s) && sc.s[sc.i] == c }

// enter opens a container at the scanner's position.
func (sc *Scanner) enter() bool {
	sc.depth++
	if sc.depth > MaxDepth {
		sc.tooDeep = true
		return false
	}
	sc.i++
	sc.skipSpace()
	return true
}

// OpenObject enters the object that must come next; more reports whether it
// has members (if not, it is consumed whole). For each member call Key,
// then ScanValue, then NextMember.
func (sc *Scanner) OpenObject() (more, ok bool) {
	if !sc.At('{') || !sc.enter() {
		return false, false
	}
	if sc.at('}') {
		sc.i++
		sc.depth--
		return false, true
	}
	return true, true
}

// Key scans a member's key and the colon after it; scan the value next.
func (sc *Scanner) Key() (Value, bool) {
	sc.skipSpace()
	if !sc.at('"') {
		return Value{}, false
	}
	key := Value{Start: sc.i}
	var ok bool
	if key.Flags, ok = sc.str(); !ok {
		return Value{}, false
	}
	key.End = sc.i
	sc.skipSpace()
	if !sc.at(':') {
		return Value{}, false
	}
	sc.i++
	return key, true
}

// Fields scans the object that comes next and sets vals[k] to the value of
// its member named names[k], matched as encoding/json matches a struct's
// fields: case-insensitively, the last of duplicates winning. Other members
// are scanned and skipped. A key with escapes or bytes outside ASCII is never
// matched (encoding/json's Unicode folding is not reproduced): odd reports
// that the object had one.
func (sc *Scanner) Fields(names []string, vals []Value) (odd, ok bool) {
	more, ok := sc.OpenObject()
	for more {
		// The member loop is written out, here and in value(): a call per
		// member more costs ~10% of a batch decode in the gateway.
		if !sc.at('"') {
			return false, false
		}
		start := sc.i
		f, sok := sc.str()
		if !sok {
			return false, false
		}
		key := sc.s[start+1 : sc.i-1]
		sc.skipSpace()
		if !sc.at(':') {
			return false, false
		}
		sc.i++
		sc.skipSpace()
		v := Value{Start: sc.i}
		if sc.at('"') {
			v.Flags, sok = sc.str()
		} else {
			sok = sc.value()
		}
		if !sok {
			return false, false
		}
		v.End = sc.i
		if f&(Escaped|NonASCII) != 0 {
			odd = true
		} else {
			for k, name := range names {
				// key is ASCII: folding keeps its length.
				if len(key) == len(name) && strings.EqualFold(key, name) {
					vals[k] = v
					break
				}
			}
		}
		if more, ok = sc.NextMember(); more {
			sc.skipSpace()
		}
	}
	return odd, ok
}

// NextMember moves past the comma to the next member (more) or past the
// object's closing brace.
func (sc *Scanner) NextMember() (more, ok bool) {
	// As next('}'), written out to stay within the inlining budget.
	sc.skipSpace()
	if sc.i >= len(sc.s) {
		return false, false
	}
	c := sc.s[sc.i]
	sc.i++
	if c == ',' {
		return true, true
	}
	sc.depth--
	return false, c == '}'
}

// OpenArray enters the array that must come next; more reports whether it
// has elements (if not, it is consumed whole). For each element scan it,
// then call NextElement.
func (sc *Scanner) OpenArray() (more, ok bool) {
	if !sc.At('[') || !sc.enter() {
		return false, false
	}
	if sc.at(']') {
		sc.i++
		sc.depth--
		return false, true
	}
	return true, true
}

// NextElement moves past the comma to the next element (more) or past the
// array's closing bracket.
func (sc *Scanner) NextElement() (more, ok bool) {
	sc.skipSpace()
	if sc.i >= len(sc.s) {
		return false, false
	}
	c := sc.s[sc.i]
	sc.i++
	if c == ',' {
		return true, true
	}
	sc.depth--
	return false, c == ']'
}

// Valid reports whether s is one JSON value with only whitespace around it,
// as encoding/json's Valid would (but false past MaxDepth).
func Valid(s string) bool {
	sc := NewScanner(s)
	_, ok := sc.ScanValue()
	return ok && sc.AtEnd()
}

// ScanValue scans the value that comes next, whatever it is.
func (sc *Scanner) ScanValue() (Value, bool) {
	sc.skipSpace()
	start := sc.i
	if sc.at('"') {
		f, ok := sc.str()
		return Value{start, sc.i, f}, ok
	}
	if !sc.value() {
		return Value{}, false
	}
	return Value{start, sc.i, 0}, true
}

// value scans any value at the scanner's position (not whitespace).
func (sc *Scanner) value() bool {
	if sc.i >= len(sc.s) {
		return false
	}
	switch c := sc.s[sc.i]; {
	case c == '"':
		_, ok := sc.str()
		return ok
	case c == '{':
		more, ok := sc.OpenObject()
		for more {
			if !sc.at('"') {
				return false
			}
			if _, ok = sc.str(); !ok {
				return false
			}
			sc.skipSpace()
			if !sc.at(':') {
				return false
			}
			sc.i++
			sc.skipSpace()
			if !sc.value() {
				return false
			}
			if more, ok = sc.NextMember(); more {
				sc.skipSpace()
			}
		}
		return ok
	case c == '[':
		more, ok := sc.OpenArray()
		for more {
			if !sc.value() {
				return false
			}
			if more, ok = sc.NextElement(); more {
				sc.skipSpace()
			}
		}
		return ok
	case c == '-' || isDigit(c):
		return sc.number()
	case c == 't':
		return sc.literal("true")
	case c == 'f':
		return sc.literal("false")
	case c == 'n':
		return sc.literal("null")
	}
	return false
}

func (sc *Scanner) literal(lit string) bool {
	if len(sc.s)-sc.i >= len(lit) && sc.s[sc.i:sc.i+len(lit)] == lit {
		sc.i += len(lit)
		return true
	}
	return false
}

// plain marks the bytes a string scan passes over without a look: all but
// the quote, the backslash, control characters and bytes outside ASCII.
// Never written after initialisation.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// replacementEscape is U+FFFD as a JSON escape.
const replacementEscape = `\ufffd`

// str scans the string at the scanner's position (its opening quote).
func (sc *Scanner) str() (Flags, bool) {
	s := sc.s
	f := String
	i := sc.i + 1
	for i < len(s) {
		for i < len(s) && plain[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		switch c := s[i]; {
		case c == '"':
			sc.i = i + 1
			return f, true
		case c == '\\':
			f |= Escaped
			if i+1 >= len(s) {
				return 0, false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					return 0, false
				}
				if sc.repair && (r == 0 || utf16.IsSurrogate(r)) {
					i = sc.repairEscape(i, r)
					continue
				}
				i += 6
			default:
				return 0, false
			}
		case c < 0x20:
			if !sc.repair {
				return 0, false
			}
			sc.replace(i, i+1, controlEscape(c))
			i++
		default: // outside ASCII
			f |= NonASCII
			if !sc.repair {
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				sc.replace(i, i+1, "\uFFFD")
			}
			i += size
		}
	}
	return 0, false
}

// repairEscape handles the escape \uXXXX of r (NUL or a surrogate) at i in
// repairing mode and returns where scanning goes on: a surrogate pair is
// kept, NUL and an unpaired surrogate become \ufffd.
func (sc *Scanner) repairEscape(i int, r rune) int {
	s := sc.s
	if r <= 0xDBFF && r >= 0xD800 && i+11 < len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
		if lo, ok := hex4(s, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
			return i + 12
		}
	}
	sc.replace(i, i+6, replacementEscape)
	return i + 6
}

// hex4 decodes the four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at the
// scanner's position; in repairing mode it quotes a number that
// PostgreSQL's numeric cannot hold.
func (sc *Scanner) number() bool {
	s := sc.s
	start := sc.i
	i := start
	if s[i] == '-' {
		i++
	}
	intDigits := 0
	switch {
	case i >= len(s):
		return false
	case s[i] == '0':
		i++
	case '1' <= s[i] && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		intDigits = i - start
		if s[start] == '-' {
			intDigits--
		}
	default:
		return false
	}
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		from := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if fracDigits = i - from; fracDigits == 0 {
			return false
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		neg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		from := i
		for i < len(s) && isDigit(s[i]) {
			if exp < 1_000_000_000 {
				exp = exp*10 + int(s[i]-'0')
			}
			i++
		}
		if i == from {
			return false
		}
		if neg {
			exp = -exp
		}
	}
	sc.i = i
	if sc.repair && (intDigits+exp > maxNumericIntDigits || fracDigits-exp > maxNumericFracDigits) {
		sc.replace(start, start, `"`)
		sc.replace(i, i, `"`)
	}
	return true
}
