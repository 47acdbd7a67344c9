package signature

import (
	"strings"
)

// Placeholders put in a template where a line's token is a variable. Every
// placeholder starts with '<' and ends with '>', and no literal token does:
// '<' and '>' always stand as tokens of their own.
const (
	PlaceNum      = "<num>"
	PlaceHex      = "<hex>"
	PlaceIP       = "<ip>"
	PlaceUUID     = "<uuid>"
	PlacePath     = "<path>"
	PlaceURL      = "<url>"
	PlaceEmail    = "<email>"
	PlaceTime     = "<time>"
	PlaceDuration = "<duration>"
	PlaceQuoted   = "<quoted>"
	PlaceID       = "<id>"
	PlaceAny      = "<*>"
)

// isSplitPunct: the characters that always stand as a token of their own
// once a whitespace field is not a variable as a whole.
func isSplitPunct(c byte) bool {
	switch c {
	case '=', ':', ',', ';', '(', ')', '[', ']', '{', '}', '"', '\'', '|', '<', '>':
		return true
	}
	return false
}

// isLeadPunct and isTrailPunct: what may wrap a field ("(x)", "[x]", "x,",
// "x:") and is peeled off before the field is classified.
func isLeadPunct(c byte) bool {
	switch c {
	case '(', '[', '{', '"', '\'', '<':
		return true
	}
	return false
}

func isTrailPunct(c byte) bool {
	switch c {
	case ')', ']', '}', '"', '\'', ',', ';', ':', '.', '>', '!', '?':
		return true
	}
	return false
}

// lowerShort is s in lower case (ASCII) in buf, when s fits; comparing
// string(lowerShort(...)) with constants allocates nothing.
func lowerShort(buf *[8]byte, s string) ([]byte, bool) {
	if len(s) > len(buf) {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(s)], true
}

// Token is one token of a message; Space records whether whitespace
// preceded it, so a template renders as the line was written.
type Token struct {
	Text  string
	Space bool
}

// Tokenise splits a message into tokens with every variable replaced by a
// placeholder. It is a pure function of the message: the same message always
// gives the same tokens.
//
// buf is scratch space for one field's tokens, returned for reuse.
func Tokenise(msg string, out []Token, buf []string) ([]Token, []string) {
	out = out[:0]
	dst := buf[:0]
	i := 0
	for i < len(msg) {
		for i < len(msg) && isSpace(msg[i]) {
			i++
		}
		space := i > 0
		if i >= len(msg) {
			break
		}
		// A double-quoted span may hold spaces: it is one variable.
		if msg[i] == '"' {
			if j := strings.IndexByte(msg[i+1:], '"'); j >= 0 {
				end := i + 1 + j + 1
				if end == len(msg) || isSpace(msg[end]) || isTrailPunct(msg[end]) {
					out = append(out, Token{PlaceQuoted, space})
					i = end
					continue
				}
			}
		}
		j := i
		for j < len(msg) && !isSpace(msg[j]) {
			j++
		}
		dst = field(msg[i:j], dst[:0])
		// A unit written apart from its number ("5.2 KB", "30 ms") is
		// part of the number's placeholder.
		rest := dst
		if len(dst) > 0 && len(out) > 0 && out[len(out)-1].Text == PlaceNum && isUnit(dst[0]) && allPunct(dst[1:]) {
			rest = dst[1:]
			space = false
		}
		for k, t := range rest {
			out = append(out, Token{t, space && k == 0})
		}
		i = j
	}
	return out, dst
}

func allPunct(toks []string) bool {
	for _, t := range toks {
		if !IsPunct(t) {
			return false
		}
	}
	return true
}

// isUnit reports whether a token is a unit of size or time.
func isUnit(t string) bool {
	var buf [8]byte
	l, ok := lowerShort(&buf, t)
	if !ok {
		return false
	}
	switch string(l) {
	case "b", "kb", "kib", "mb", "mib", "gb", "gib", "tb", "tib",
		"ns", "us", "µs", "ms", "s", "sec", "secs", "min", "mins":
		return true
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// field appends the tokens of one whitespace-separated field.
func field(f string, dst []string) []string {
	// A word of letters only is one literal token (no punctuation to peel
	// or split at, no variable): most fields, decided in one pass.
	if allLetters(f) {
		return append(dst, f)
	}
	// A bracketed IPv6 address with a port is an address, not brackets.
	if f[0] == '[' && isIPv6(f) {
		return append(dst, PlaceIP)
	}
	// Peel the wrapping punctuation; each peeled character is a token.
	lead := 0
	for lead < len(f) && isLeadPunct(f[lead]) {
		lead++
	}
	trail := len(f)
	for trail > lead && isTrailPunct(f[trail-1]) {
		trail--
	}
	for k := 0; k < lead; k++ {
		dst = append(dst, f[k:k+1])
	}
	core := f[lead:trail]
	if core != "" {
		if allLetters(core) {
			dst = append(dst, core) // what classify and splitCore make of it
		} else if p := classify(core); p != "" {
			dst = append(dst, p)
		} else {
			dst = splitCore(core, dst)
		}
	}
	for k := trail; k < len(f); k++ {
		dst = append(dst, f[k:k+1])
	}
	return dst
}

// splitCore splits a field that is not a variable as a whole at the
// punctuation of splitPunct. A key=value's value is always a variable.
func splitCore(core string, dst []string) []string {
	start := 0
	afterEq := false
	emit := func(s string) {
		if s == "" {
			return
		}
		if p := classify(s); p != "" {
			dst = append(dst, p)
			return
		}
		if hasDigit(s) {
			dst = append(dst, PlaceID)
			return
		}
		if afterEq {
			dst = append(dst, PlaceAny)
			return
		}
		dst = append(dst, s)
	}
	for k := 0; k < len(core); k++ {
		c := core[k]
		if !isSplitPunct(c) {
			continue
		}
		emit(core[start:k])
		dst = append(dst, core[k:k+1])
		start = k + 1
		afterEq = false
		if c == '=' {
			afterEq = true
			// A value that is a variable as a whole (an IPv6 address, a
			// time) is one placeholder, up to the next separator.
			end := start
			for end < len(core) && strings.IndexByte(",;&", core[end]) < 0 {
				end++
			}
			if end > start {
				if p := classify(core[start:end]); p != "" {
					dst = append(dst, p)
					k = end - 1
					start = end
					afterEq = false
				}
			}
		}
	}
	emit(core[start:])
	return dst
}

// IsPlaceholder reports whether a token is a placeholder.
func IsPlaceholder(t string) bool {
	return len(t) >= 3 && t[0] == '<' && t[len(t)-1] == '>'
}

// IsPunct reports whether a token is one punctuation character.
func IsPunct(t string) bool {
	return len(t) == 1 && !isWordByte(t[0])
}

// classify returns the placeholder for a token that is a variable as a whole,
// or "" when it is not recognised as one.
func classify(s string) string {
	// One pass tells which kinds s could be; only those are tried, in the
	// order below. Each condition is necessary for its kind, so the
	// outcome is that of trying every kind in turn.
	var digit, colon, dot, at, slash bool
	letters := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isLetter(c):
			continue
		case isDigit(c):
			digit = true
		case c == ':':
			colon = true
		case c == '.':
			dot = true
		case c == '@':
			at = true
		case c == '/':
			slash = true
		}
		letters = false
	}
	// A word of letters only is no variable (every placeholder needs a
	// digit or punctuation): the common case.
	if letters {
		return ""
	}
	switch {
	case len(s) == 36 && isUUID(s):
		return PlaceUUID
	case colon && slash && isURL(s):
		return PlaceURL
	case (digit && dot && isIPv4(s)) || (colon && isIPv6(s)):
		return PlaceIP
	case at && isEmail(s):
		return PlaceEmail
	case isPath(s):
		return PlacePath
	case digit && isNumber(s):
		return PlaceNum
	case (digit || dot) && isDuration(s):
		return PlaceDuration
	case digit && isTime(s):
		return PlaceTime
	case digit && isHex(s):
		return PlaceHex
	}
	return ""
}

// isURL accepts scheme://rest where the scheme is letters, digits, + - .
// starting with a letter.
func isURL(s string) bool {
	k := strings.Index(s, "://")
	if k <= 0 || !isLetter(s[0]) || k+3 == len(s) {
		return false
	}
	for i := 1; i < k; i++ {
		c := s[i]
		if !isLetter(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHexDigit(s[i]) {
				return false
			}
		}
	}
	return true
}

// isIPv4 accepts a.b.c.d with an optional :port or /prefix.
func isIPv4(s string) bool {
	if k := strings.LastIndexByte(s, ':'); k > 0 {
		if !allDigits(s[k+1:]) {
			return false
		}
		s = s[:k]
	} else if k := strings.IndexByte(s, '/'); k > 0 {
		if !allDigits(s[k+1:]) {
			return false
		}
		s = s[:k]
	}
	parts := 0
	for s != "" || parts == 0 {
		p := s
		if k := strings.IndexByte(s, '.'); k >= 0 {
			p, s = s[:k], s[k+1:]
			if s == "" {
				return false
			}
		} else {
			s = ""
		}
		if len(p) == 0 || len(p) > 3 || !allDigits(p) {
			return false
		}
		parts++
	}
	return parts == 4
}

// isIPv6 accepts hex groups with "::" or at least five colons (so times like
// 20:10:40 are not addresses), optionally bracketed with a :port.
func isIPv6(s string) bool {
	if strings.HasPrefix(s, "[") {
		k := strings.IndexByte(s, ']')
		if k < 0 {
			return false
		}
		rest := s[k+1:]
		if rest != "" && !(rest[0] == ':' && allDigits(rest[1:])) {
			return false
		}
		s = s[1:k]
	}
	if k := strings.IndexByte(s, '%'); k > 0 {
		s = s[:k]
	}
	colons := strings.Count(s, ":")
	if colons < 2 || (colons < 5 && !strings.Contains(s, "::")) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) && s[i] != ':' && s[i] != '.' {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	domain := s[at+1:]
	dot := strings.LastIndexByte(domain, '.')
	if dot <= 0 || dot == len(domain)-1 {
		return false
	}
	for i := 0; i < at; i++ {
		c := s[i]
		if !isWordByte(c) && c != '.' && c != '+' && c != '-' {
			return false
		}
	}
	for i := 0; i < len(domain); i++ {
		c := domain[i]
		if !isWordByte(c) && c != '.' && c != '-' {
			return false
		}
	}
	for i := dot + 1; i < len(domain); i++ {
		if !isLetter(domain[i]) {
			return false
		}
	}
	return true
}

func allLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLetter(s[i]) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isWordByte(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }

// isPath accepts absolute and relative Unix paths and Windows paths.
func isPath(s string) bool {
	if len(s) < 2 {
		return false
	}
	if s[0] == '/' || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || strings.HasPrefix(s, "~/") {
		return true
	}
	if len(s) >= 3 && isLetter(s[0]) && s[1] == ':' && s[2] == '\\' {
		return true
	}
	return strings.IndexByte(s, '\\') >= 0
}

// isNumber accepts an optionally signed integer or decimal, with an exponent,
// a thousands separator or a trailing '%' or size unit.
func isNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	start := i
	for i < len(s) && (isDigit(s[i]) || s[i] == '.' || s[i] == ',') {
		i++
	}
	if i == start || !isDigit(s[start]) || !isDigit(s[i-1]) {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') && i+1 < len(s) {
		j := i + 1
		if s[j] == '-' || s[j] == '+' {
			j++
		}
		if allDigits(s[j:]) {
			return true
		}
	}
	var buf [8]byte
	l, ok := lowerShort(&buf, s[i:])
	if !ok {
		return false
	}
	switch string(l) {
	case "", "%", "b", "k", "kb", "kib", "m", "mb", "mib", "g", "gb", "gib", "t", "tb", "tib":
		return true
	}
	return false
}

// isDuration accepts Go-style durations: 30ms, 1.5s, 1h30m, 250us, 2d.
func isDuration(s string) bool {
	i := 0
	units := 0
	for i < len(s) {
		start := i
		for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
			i++
		}
		if i == start {
			return false
		}
		u := i
		for i < len(s) && (isLetter(s[i]) || s[i] == 0xc2 || s[i] == 0xb5) {
			i++
		}
		switch s[u:i] {
		case "ns", "us", "µs", "ms", "s", "m", "h", "d", "sec", "secs", "min", "mins":
			units++
		default:
			return false
		}
	}
	return units > 0
}

// isTime accepts dates and times made of digit groups joined by - / : . , T Z
// with at least one date or time separator, e.g. 2015-10-18, 18:01:47,978,
// 2016-09-28T04:30:30Z, 17/06/09.
func isTime(s string) bool {
	digits, seps := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			digits++
		case c == '-' || c == '/' || c == ':':
			seps++
		case c == '.' || c == ',' || c == '+':
		case (c == 'T' || c == 'Z') && i > 0:
		default:
			return false
		}
	}
	return digits >= 4 && seps >= 2 && isDigit(s[0])
}

// isHex accepts 0x-prefixed hex and bare hex of at least 8 digits that holds
// a decimal digit (so words like "deadbeef" or "accepted" are not matched).
func isHex(s string) bool {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		for i := 2; i < len(s); i++ {
			if !isHexDigit(s[i]) {
				return false
			}
		}
		return true
	}
	if len(s) < 8 {
		return false
	}
	digit := false
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return false
		}
		if isDigit(s[i]) {
			digit = true
		}
	}
	return digit
}
