// Package fingerprint computes the error group of a WARN, ERROR or FATAL
// entry: its fingerprint (the 64-bit key of logs.error_groups, with the
// entry's project) and the group's description (exception type, title,
// culprit). It is a pure function of the entry's message, context,
// signature and service, the same in every process and release that shares
// this package's rules (docs/errors.md, "How entries are grouped"):
//
//  1. a client's context.fingerprint (a string, or a list of strings and
//     numbers) overrides everything: hash("client", values);
//  2. else a stack trace in the context (or in a multi-line message) whose
//     frames parse: hash("stack", exception type, in-app frames), each
//     frame its function and file basename only;
//  3. else hash("message", exception type, the message's signature), so
//     messages that differ only in their variables are one group.
//
// The ingestion service computes it for every such entry as it writes it
// (logs.entries.error_fp); the loadgen seed does the same.
package fingerprint

import (
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Input is what the fingerprint reads of one WARN, ERROR or FATAL entry.
type Input struct {
	Message   string
	Context   []byte // the entry's context object as JSON text ("{}" or nil when none)
	Signature int64  // the message's signature (package signature)
	Service   string
}

// Result is an entry's group key and the group's description.
type Result struct {
	Fingerprint   int64  // never 0
	ExceptionType string // "" when none found
	Title         string // at most 200 characters, one line
	Culprit       string // "function (file)" of the innermost in-app frame, else Service
	Source        string // "client", "stack" or "message": which rule applied
}

// The rules, as Result.Source names them.
const (
	SourceClient  = "client"
	SourceStack   = "stack"
	SourceMessage = "message"
)

// MaxTitle bounds Result.Title, in characters.
const MaxTitle = 200

// Fingerprinter computes results, reusing its buffers: not for concurrent
// use (like signature.Hasher). A Result never shares memory with the
// Fingerprinter or with the Input's Context.
type Fingerprinter struct {
	ctx     members
	buf     []byte  // the stack text, unquoted
	frames  []frame // the parsed stack, innermost first
	scratch []frame // Java's cause chain
	blocks  []javaBlock
	typ     string // the exception type and message the stack names
	msg     string
}

// frame is one normalised stack frame: the function (no arguments,
// addresses or anonymous-function noise; "" when anonymous) and the file's
// basename (no line or column).
type frame struct {
	fn, file string
	app      bool // in-app: not the runtime's, the standard library's or a dependency's
}

// Compute returns in's fingerprint and group description.
func (f *Fingerprinter) Compute(in Input) Result {
	// The context is read in place, never retained nor modified: every
	// string of the Result is a copy.
	text := ""
	if len(in.Context) > 0 {
		text = unsafe.String(unsafe.SliceData(in.Context), len(in.Context))
	}
	f.ctx.scan(text)
	f.frames, f.typ, f.msg = f.frames[:0], "", ""
	if stack := f.stackText(text); stack != "" {
		f.parse(stack)
	}
	if len(f.frames) == 0 && strings.IndexByte(in.Message, '\n') >= 0 {
		f.parse(in.Message) // a stack logged as the message itself
	}

	typ := f.typ
	if typ == "" {
		typ = f.ctx.exceptionType(text)
	}
	excMsg := f.msg
	if excMsg == "" {
		excMsg = f.ctx.message(text)
	}

	var res Result
	inApp := 0
	for i := range f.frames {
		if f.frames[i].app {
			inApp++
		}
	}
	var h uint64
	if len(f.frames) > 0 {
		res.Source = SourceStack
		h = add(add(fnvOffset, SourceStack), typ)
		for i := range f.frames {
			if fr := &f.frames[i]; fr.app || inApp == 0 {
				h = add(add(h, fr.fn), fr.file)
			}
		}
	} else {
		res.Source = SourceMessage
		h = add(add(fnvOffset, SourceMessage), typ)
		h = addInt(h, in.Signature)
	}
	if c, ok := f.ctx.client(text, h); ok {
		res.Source, h = SourceClient, c
	}
	res.Fingerprint = int64(h)
	if res.Fingerprint == 0 {
		res.Fingerprint = 1
	}

	res.ExceptionType = strings.Clone(firstLine(typ))
	res.Title = title(typ, excMsg, in.Message)
	res.Culprit = in.Service
	for i := range f.frames {
		if fr := &f.frames[i]; fr.app {
			res.Culprit = culprit(fr)
			break
		}
	}
	return res
}

// Stack returns the stack trace text found in a context object ("" when
// none), by the same key rules Compute uses.
func Stack(context []byte) string {
	var f Fingerprinter
	text := string(context)
	f.ctx.scan(text)
	return strings.Clone(f.stackText(text))
}

// title is the exception type and the first line of the exception's
// message (else of the entry's message, without a repeated "type: "),
// cut to MaxTitle characters.
func title(typ, excMsg, message string) string {
	line := firstLine(excMsg)
	if typ != "" {
		line = strings.TrimPrefix(line, typ+": ")
	}
	if line == "" {
		line = firstLine(message)
		if typ != "" {
			if i := strings.Index(line, typ+": "); i >= 0 {
				line = line[i+len(typ)+2:]
			}
		}
	}
	typ = firstLine(typ)
	var t string
	switch {
	case typ == "":
		t = strings.Clone(line)
	case line == "":
		t = strings.Clone(typ)
	default:
		t = typ + ": " + line
	}
	if !utf8.ValidString(t) {
		t = strings.ToValidUTF8(t, "\uFFFD")
	}
	return cutChars(t, MaxTitle)
}

// culprit is "function (file)", or the file alone for an anonymous
// function.
func culprit(fr *frame) string {
	switch {
	case fr.fn == "":
		return strings.Clone(fr.file)
	case fr.file == "":
		return strings.Clone(fr.fn)
	}
	return fr.fn + " (" + fr.file + ")"
}

// firstLine is s up to its first line break, without surrounding spaces.
func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' || s[i] == '\r' {
			s = s[:i]
			break
		}
	}
	return strings.TrimSpace(s)
}

// cutChars is s cut to at most n characters.
func cutChars(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

// FNV-64a over tokens, each with a terminating NUL (as package signature
// hashes its tokens), written out so that hashing allocates nothing.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func add(h uint64, t string) uint64 {
	for i := 0; i < len(t); i++ {
		h ^= uint64(t[i])
		h *= fnvPrime
	}
	return h * fnvPrime // ^= 0
}

// addInt hashes v's eight bytes, little-endian.
func addInt(h uint64, v int64) uint64 {
	for i := range 8 {
		h ^= uint64(byte(v >> (8 * i)))
		h *= fnvPrime
	}
	return h
}

// bufString views b as a string, valid until b is next modified.
func bufString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
