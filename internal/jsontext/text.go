package jsontext

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. The text is accepted by
// encoding/json and PostgreSQL's jsonb, and encoding/json decodes it to s
// except for what neither can carry: each byte of invalid UTF-8 and NUL
// become U+FFFD. Escapes are encoding/json's (\" \\ \b \f \n \r \t, \u00XX
// for other control characters, \u2028 and \u2029 for the separators
// JavaScript reads as line ends) without its HTML escaping.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			default:
				dst = append(dst, controlEscape(c)...)
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, replacementEscape...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Unquote is the content of the string v of text, decoded as encoding/json
// decodes it: escapes resolved, an unpaired surrogate escape and each byte
// of invalid UTF-8 replaced by U+FFFD. Without escapes and with valid UTF-8
// it is a substring of text (no copy). v must come from a scan of text.
func Unquote(text string, v Value) string {
	s := text[v.Start+1 : v.End-1]
	if v.Flags&Escaped == 0 && (v.Flags&NonASCII == 0 || utf8.ValidString(s)) {
		return s
	}
	return string(AppendUnquote(make([]byte, 0, len(s)+utf8.UTFMax), text, v))
}

// AppendUnquote appends the content of the string v of text to dst,
// decoded as Unquote decodes it, for a caller that reuses its buffer.
func AppendUnquote(dst []byte, text string, v Value) []byte {
	s := text[v.Start+1 : v.End-1]
	b := dst
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			r++
			switch s[r] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr, _ := hex4(s, r+1)
				r += 5
				if utf16.IsSurrogate(rr) {
					if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' {
						lo, _ := hex4(s, r+2)
						if dec := utf16.DecodeRune(rr, lo); dec != unicode.ReplacementChar {
							b = utf8.AppendRune(b, dec)
							r += 6
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			e := r + 1
			if v.Flags&NonASCII == 0 {
				if k := strings.IndexByte(s[e:], '\\'); k >= 0 {
					e += k
				} else {
					e = len(s)
				}
			}
			for e < len(s) && s[e] != '\\' && s[e] < utf8.RuneSelf {
				e++
			}
			b = append(b, s[r:e]...)
			r = e
		default:
			rr, size := utf8.DecodeRuneInString(s[r:])
			b = utf8.AppendRune(b, rr)
			r += size
		}
	}
	return b
}
