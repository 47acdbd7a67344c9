package ingestion

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/devsmith/logs/internal/jsontext"
)

// The context of an entry is kept as JSON text from the request to the COPY
// stream: jsontext.RepairObject validates it and, when needed, repairs it
// into text jsonb accepts in one pass, and the server's own keys (_level,
// _timestamp, _truncated) are spliced in before the closing brace rather
// than re-encoding the object.

// The rejection reasons of a context (services/ingestion/README.md).
var (
	errNotObject = errors.New("context must be a JSON object")
	errTooDeep   = fmt.Errorf("context is nested more than %d levels deep", jsontext.MaxDepth)
)

// scanContext is a client's context as the object text to store.
func scanContext(c string) (jsontext.Object, error) {
	obj, err := jsontext.RepairObject(c)
	switch {
	case err == nil:
		return obj, nil
	case errors.Is(err, jsontext.ErrTooDeep):
		return jsontext.Object{}, errTooDeep
	}
	return jsontext.Object{}, errNotObject
}

// isJSONSpace is the whitespace trimSpace removes: JSON's.
func isJSONSpace(c byte) bool { return jsontext.IsSpace(c) }

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
