package jsontext

// PostgreSQL stores JSON numbers as numeric, which overflows past 131072
// digits before the decimal point or 16383 after it and fails the whole
// statement. The repairing mode quotes numbers beyond these (conservative)
// bounds.
const (
	maxNumericIntDigits  = 131000
	maxNumericFracDigits = 16000
)

// Object is a JSON object text the repairing mode accepted.
type Object struct {
	Text     string // the object, repaired if needed, with its surrounding whitespace
	CloseAt  int    // index of the object's closing brace in Text
	NonEmpty bool   // the object has at least one member
}

// RepairObject reads s as one JSON object (whitespace around it allowed)
// in repairing mode. Structure that is not JSON is refused (ErrSyntax,
// ErrTooDeep); what only PostgreSQL's jsonb would refuse, or what encoding/json
// refuses but has one obvious meaning, is repaired instead:
//
//   - invalid UTF-8 (in keys and strings) becomes U+FFFD;
//   - a raw control character in a string becomes its escape, NUL \ufffd;
//   - the escapes \u0000 and unpaired surrogate escapes become \ufffd;
//   - a number beyond numeric's range becomes a string of its digits.
//
// The result is then accepted by encoding/json and by jsonb: valid UTF-8,
// no raw control character in a string, no \u0000, surrogate escapes only
// in pairs, numbers numeric can hold, at most MaxDepth levels. Every repair
// is inside the object, so the text is copied only when something was
// repaired and the whitespace around the object is kept.
func RepairObject(s string) (Object, error) {
	sc := Scanner{s: s, repair: true}
	if !sc.At('{') {
		return Object{}, ErrSyntax
	}
	open := sc.i
	if !sc.value() {
		return Object{}, sc.Err()
	}
	obj := Object{Text: s, CloseAt: sc.i - 1}
	if !sc.AtEnd() {
		return Object{}, ErrSyntax
	}
	first := open + 1 // the object's first byte after whitespace
	for IsSpace(s[first]) {
		first++
	}
	obj.NonEmpty = s[first] != '}'
	if sc.out != nil {
		sc.out = append(sc.out, s[sc.last:]...)
		// The repairs moved the closing brace by the text's growth; the
		// whitespace after it is unchanged.
		obj.Text = string(sc.out)
		obj.CloseAt += len(obj.Text) - len(s)
	}
	return obj, nil
}

// replace puts repl in place of s[from:to] in the repaired text.
func (sc *Scanner) replace(from, to int, repl string) {
	if sc.out == nil {
		sc.out = make([]byte, 0, len(sc.s)+len(repl)+16)
	}
	sc.out = append(sc.out, sc.s[sc.last:from]...)
	sc.out = append(sc.out, repl...)
	sc.last = to
}

// controlEscape is the JSON escape of a raw control character; NUL becomes
// U+FFFD (PostgreSQL's text and jsonb cannot hold it).
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
	return `\u00` + string(hexDigits[c>>4]) + string(hexDigits[c&0xF])
}
