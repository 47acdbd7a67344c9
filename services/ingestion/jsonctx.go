package ingestion

import (
	"errors"
	"unicode/utf8"
)

// The context of an entry is kept as JSON text from the request to the COPY
// stream: it is validated and, when needed, repaired in one pass, and the
// server's own keys (_level, _timestamp, _truncated) are spliced in before
// the closing brace rather than re-encoding the object.

// maxContextDepth bounds nesting: PostgreSQL's recursive JSON parser fails the
// whole statement ("stack depth limit exceeded") a few thousand levels deep.
const maxContextDepth = 512

// PostgreSQL stores JSON numbers as numeric, which overflows past 131072
// digits before the decimal point or 16383 after it and fails the whole
// statement. Numbers beyond these (conservative) bounds are kept as strings.
const (
	maxNumericIntDigits  = 131000
	maxNumericFracDigits = 16000
)

var (
	errNotObject = errors.New("context must be a JSON object")
	errTooDeep   = errors.New("context is nested more than 512 levels deep")
)

// jsonObject is a validated JSON object text.
type jsonObject struct {
	text     string // the object, repaired if needed; may have surrounding whitespace
	closeAt  int    // index of the object's closing brace in text
	nonEmpty bool   // the object has at least one member
}

// scanObject validates s as a JSON object. Problems PostgreSQL's jsonb would
// refuse but that are not the client's structure are repaired rather than
// rejected: invalid UTF-8, NUL, raw control characters in strings, \u0000,
// unpaired surrogate escapes (all replaced with U+FFFD or escaped), and
// numbers out of numeric's range (kept as strings). The text is copied only
// when something was repaired.
func scanObject(s string) (jsonObject, error) {
	sc := jsonScanner{s: s}
	sc.ws()
	if sc.i >= len(s) || s[sc.i] != '{' {
		return jsonObject{}, errNotObject
	}
	start := sc.i
	if err := sc.value(0); err != nil {
		return jsonObject{}, err
	}
	end := sc.i // one past the closing brace
	sc.ws()
	if sc.i != len(s) {
		return jsonObject{}, errNotObject
	}
	obj := jsonObject{text: s, closeAt: end - 1}
	j := start + 1
	for j < end && isJSONSpace(s[j]) {
		j++
	}
	obj.nonEmpty = s[j] != '}'
	if sc.out != nil {
		sc.out = append(sc.out, s[sc.last:]...)
		// Repairs only happen inside the object, so its end moved by the
		// growth of the text; the trailing whitespace is unchanged.
		obj.text = string(sc.out)
		obj.closeAt += len(obj.text) - len(s)
	}
	return obj, nil
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

type jsonScanner struct {
	s    string
	i    int
	out  []byte // nil until the first repair
	last int    // s[:last] is already in out
}

func (sc *jsonScanner) ws() {
	for sc.i < len(sc.s) && isJSONSpace(sc.s[sc.i]) {
		sc.i++
	}
}

// replace puts repl in place of s[from:to] in the output.
func (sc *jsonScanner) replace(from, to int, repl string) {
	if sc.out == nil {
		sc.out = make([]byte, 0, len(sc.s)+len(repl)+16)
	}
	sc.out = append(sc.out, sc.s[sc.last:from]...)
	sc.out = append(sc.out, repl...)
	sc.last = to
}

func (sc *jsonScanner) value(depth int) error {
	sc.ws()
	if sc.i >= len(sc.s) {
		return errNotObject
	}
	switch c := sc.s[sc.i]; {
	case c == '{':
		return sc.object(depth + 1)
	case c == '[':
		return sc.array(depth + 1)
	case c == '"':
		return sc.str()
	case c == 't':
		return sc.lit("true")
	case c == 'f':
		return sc.lit("false")
	case c == 'n':
		return sc.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return sc.number()
	default:
		return errNotObject
	}
}

func (sc *jsonScanner) lit(want string) error {
	if len(sc.s)-sc.i < len(want) || sc.s[sc.i:sc.i+len(want)] != want {
		return errNotObject
	}
	sc.i += len(want)
	return nil
}

func (sc *jsonScanner) object(depth int) error {
	if depth > maxContextDepth {
		return errTooDeep
	}
	sc.i++ // {
	sc.ws()
	if sc.i < len(sc.s) && sc.s[sc.i] == '}' {
		sc.i++
		return nil
	}
	for {
		sc.ws()
		if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
			return errNotObject
		}
		if err := sc.str(); err != nil {
			return err
		}
		sc.ws()
		if sc.i >= len(sc.s) || sc.s[sc.i] != ':' {
			return errNotObject
		}
		sc.i++
		if err := sc.value(depth); err != nil {
			return err
		}
		sc.ws()
		if sc.i >= len(sc.s) {
			return errNotObject
		}
		switch sc.s[sc.i] {
		case ',':
			sc.i++
		case '}':
			sc.i++
			return nil
		default:
			return errNotObject
		}
	}
}

func (sc *jsonScanner) array(depth int) error {
	if depth > maxContextDepth {
		return errTooDeep
	}
	sc.i++ // [
	sc.ws()
	if sc.i < len(sc.s) && sc.s[sc.i] == ']' {
		sc.i++
		return nil
	}
	for {
		if err := sc.value(depth); err != nil {
			return err
		}
		sc.ws()
		if sc.i >= len(sc.s) {
			return errNotObject
		}
		switch sc.s[sc.i] {
		case ',':
			sc.i++
		case ']':
			sc.i++
			return nil
		default:
			return errNotObject
		}
	}
}

const replacementEscape = `\ufffd`

// str scans a string starting at its opening quote.
func (sc *jsonScanner) str() error {
	s := sc.s
	i := sc.i + 1
	for i < len(s) {
		// Fast path: plain ASCII that needs no attention.
		for i < len(s) {
			if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
				break
			}
			i++
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '"':
			sc.i = i + 1
			return nil
		case c == '\\':
			if i+1 >= len(s) {
				return errNotObject
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					return errNotObject
				}
				switch {
				case r == 0:
					sc.replace(i, i+6, replacementEscape)
					i += 6
				case r >= 0xD800 && r <= 0xDBFF:
					if i+11 < len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
						if lo, ok := hex4(s, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
							i += 12
							continue
						}
					}
					sc.replace(i, i+6, replacementEscape)
					i += 6
				case r >= 0xDC00 && r <= 0xDFFF:
					sc.replace(i, i+6, replacementEscape)
					i += 6
				default:
					i += 6
				}
			default:
				return errNotObject
			}
		case c < 0x20:
			sc.replace(i, i+1, controlEscape(c))
			i++
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				sc.replace(i, i+1, "\uFFFD")
			}
			i += size
		}
	}
	return errNotObject
}

// controlEscape is the JSON escape of a raw control character found inside a
// string; NUL becomes U+FFFD (PostgreSQL cannot store it).
func controlEscape(c byte) string {
	switch c {
	case 0:
		return replacementEscape
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	const hexDigits = "0123456789abcdef"
	return `\u00` + string(hexDigits[c>>4]) + string(hexDigits[c&0xF])
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and quotes it
// when PostgreSQL's numeric cannot hold it.
func (sc *jsonScanner) number() error {
	s := sc.s
	start := sc.i
	i := start
	if s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return errNotObject
	}
	intDigits := 0
	switch {
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			intDigits++
		}
	default:
		return errNotObject
	}
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			fracDigits++
		}
		if fracDigits == 0 {
			return errNotObject
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
		digits := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if exp < 1_000_000_000 {
				exp = exp*10 + int(s[i]-'0')
			}
			i++
			digits++
		}
		if digits == 0 {
			return errNotObject
		}
		if neg {
			exp = -exp
		}
	}
	sc.i = i
	if intDigits+exp > maxNumericIntDigits || fracDigits-exp > maxNumericFracDigits {
		sc.replace(start, start, `"`)
		sc.replace(i, i, `"`)
	}
	return nil
}

// appendJSONString appends s as a JSON string literal, replacing invalid
// UTF-8 and NUL with U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[last:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			last = i
			continue
		}
		dst = append(dst, s[last:i]...)
		switch c {
		case '"':
			dst = append(dst, `\"`...)
		case '\\':
			dst = append(dst, `\\`...)
		default:
			dst = append(dst, controlEscape(c)...)
		}
		i++
		last = i
	}
	dst = append(dst, s[last:]...)
	return append(dst, '"')
}

// cleanText returns s with invalid UTF-8 and NUL replaced by U+FFFD
// (PostgreSQL text can hold neither). It returns s itself when clean.
func cleanText(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean || (utf8.ValidString(s) && !containsNUL(s)) {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		c := s[i]
		if c == 0 {
			out = append(out, "\uFFFD"...)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// cutRunes returns the longest prefix of s of at most n bytes that ends on a
// rune boundary.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
