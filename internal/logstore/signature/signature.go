// Package signature computes a log message's signature: its tokens with
// every variable masked (numbers, hex, ids, UUIDs, IPs, durations, times,
// paths, URLs, emails, quoted strings, key=value values), and the 64-bit
// hash of those tokens. It is a pure function of the message, the same in
// every process and release that shares this package's masking, and one
// generic masking for every project: no per-format rules.
//
// The ingestion service stores each entry's signature (logs.entries
// signature); the analysis service's miner groups signatures into
// patterns, and a pattern's id is the signature of the first message that
// founded it (see package logstore and docs/analysis.md).
package signature

import "strings"

// FNV-64a, written out so that hashing allocates nothing.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// Hasher computes signatures, reusing its scratch space between calls. It
// is not safe for concurrent use: keep one per goroutine.
type Hasher struct {
	toks []Token
	buf  []string
}

// Of returns the signature of msg. It is never 0: 0 stands for "no
// signature" (entries stored before signatures existed).
func (h *Hasher) Of(msg string) int64 {
	h.toks, h.buf = Tokenise(msg, h.toks, h.buf)
	f := uint64(fnvOffset)
	for _, t := range h.toks {
		f = add(f, t.Text)
	}
	s := int64(f)
	if s == 0 {
		s = 1
	}
	return s
}

// Hash is the hash of masked tokens as Of computes it (without mapping 0),
// for a miner that holds the tokens already.
func Hash(toks []string) uint64 {
	f := uint64(fnvOffset)
	for _, t := range toks {
		f = add(f, t)
	}
	return f
}

// add hashes one token and its terminating NUL into f.
func add(f uint64, t string) uint64 {
	for i := 0; i < len(t); i++ {
		f ^= uint64(t[i])
		f *= fnvPrime
	}
	f *= fnvPrime // ^= 0
	return f
}

// Template is msg's masked tokens rendered as the miner renders a pattern's
// template: one space before each token that whitespace preceded in msg,
// none before one that followed the previous token directly. It is the
// template of a signature no pattern holds yet (the template the pattern
// it founds starts with).
func Template(msg string) string {
	toks, _ := Tokenise(msg, nil, nil)
	var b strings.Builder
	for i, t := range toks {
		if i > 0 && t.Space {
			b.WriteByte(' ')
		}
		b.WriteString(t.Text)
	}
	return b.String()
}
