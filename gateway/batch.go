package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// batchBody is POST /api/logs/batch as clients send it (DESIGN §3). Entries
// stay raw so that one odd entry never fails the whole decode.
type batchBody struct {
	ProjectSlug *string           `json:"project_slug"`
	ServiceName *string           `json:"service_name"`
	BatchID     *string           `json:"batch_id"`
	Logs        []json.RawMessage `json:"logs"`
}

type rawEntry struct {
	Timestamp json.RawMessage `json:"timestamp"`
	Level     json.RawMessage `json:"level"`
	Message   json.RawMessage `json:"message"`
	Context   json.RawMessage `json:"context"`
}

// decodeBatch turns a batch body (which must not be modified afterwards: the
// request's strings may share its memory) into the ingestion RPC's request, leniently:
// levels and timestamps stay strings (numbers as written), a message that is
// a number or object becomes its JSON text, a context is passed on as its
// JSON text. The ingestion service validates each entry. Only an envelope
// that is not JSON, or whose fields have the wrong type, is an error here.
//
// The hand-written scanner (fastDecodeBatch) decodes the bodies clients
// send, without reflection and with a few allocations per batch; whatever
// it does not handle exactly as encoding/json would (a syntax or type error,
// unusual keys) goes to decodeBatchStd, which is the definition of the
// behaviour and produces the error messages.
func decodeBatch(body []byte) (*logsv1.IngestBatchRequest, error) {
	if req, ok := fastDecodeBatch(body); ok {
		return req, nil
	}
	return decodeBatchStd(body)
}

// decodeBatchStd is decodeBatch through encoding/json.
func decodeBatchStd(body []byte) (*logsv1.IngestBatchRequest, error) {
	var b batchBody
	if err := json.Unmarshal(body, &b); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return nil, badRequest("the body must be a JSON object with service_name and logs, not a JSON %s", te.Value)
		}
		if errors.As(err, &te) {
			want := "a string"
			if te.Field == "logs" {
				want = "an array of log entries"
			}
			return nil, badRequest("%s must be %s, not a JSON %s", te.Field, want, te.Value)
		}
		return nil, badRequest("malformed JSON body: %v", err)
	}
	req := &logsv1.IngestBatchRequest{
		ProjectSlug: deref(b.ProjectSlug),
		ServiceName: deref(b.ServiceName),
		BatchId:     deref(b.BatchID),
		Logs:        make([]*logsv1.LogInput, len(b.Logs)),
	}
	for i, raw := range b.Logs {
		req.Logs[i] = decodeEntry(raw)
	}
	return req, nil
}

func decodeEntry(raw json.RawMessage) *logsv1.LogInput {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		// A bare string or number is the message itself.
		return &logsv1.LogInput{Message: textOf(raw)}
	}
	var e rawEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return &logsv1.LogInput{Message: string(raw)}
	}
	in := &logsv1.LogInput{
		Timestamp: textOf(e.Timestamp),
		Level:     textOf(e.Level),
		Message:   textOf(e.Message),
	}
	if c := bytes.TrimSpace(e.Context); len(c) > 0 && !bytes.Equal(c, []byte("null")) {
		in.ContextJson = string(c)
	}
	return in
}

// textOf is a JSON value as text: a string unquoted, null as "", anything
// else as its compact JSON.
func textOf(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return ""
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s
		}
		return string(raw)
	default:
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err == nil {
			return buf.String()
		}
		return string(raw)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// byteBudget bounds the bytes of batch bodies held at once.
type byteBudget struct {
	max  int64
	used atomic.Int64
}

// acquire reserves n bytes, or reports false when they do not fit.
func (b *byteBudget) acquire(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (b *byteBudget) release(n int64) { b.used.Add(-n) }

// errBusy is a batch refused because too many bytes of batches are in
// flight: the client should come back after Retry-After.
var errBusy = errors.New("too many batches in flight")

// busyMessage answers a batch refused by the in-flight bound.
const busyMessage = "the server is busy with other batches; retry this one after the Retry-After delay"

// readBody reads a batch body into one buffer, holding its size against
// the in-flight budget (release gives it back). A body of known length is
// reserved and read at once; one of unknown length (gzip, chunked) grows the
// reservation as it is read. Past the budget it gives up with errBusy
// before reading further.
func (g *Gateway) readBody(r *http.Request) (body []byte, release func(), err error) {
	reserved := int64(0)
	release = func() { g.inflight.release(reserved) }
	grow := func(n int64) bool {
		if !g.inflight.acquire(n) {
			return false
		}
		reserved += n
		return true
	}
	size := int64(64 << 10)
	if r.ContentLength > 0 {
		size = r.ContentLength + 1 // +1: EOF is seen without growing
	}
	size = min(size, g.cfg.MaxBodyBytes+1)
	if !grow(size) {
		return nil, release, errBusy
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			more := min(int64(cap(buf)), g.cfg.MaxBodyBytes+1-int64(cap(buf)))
			if more <= 0 {
				more = 512 // MaxBytesReader ends the body past the limit
			}
			if !grow(more) {
				return nil, release, errBusy
			}
			buf = append(buf, make([]byte, more)...)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, release, nil
		}
		if err != nil {
			return nil, release, err
		}
	}
}

// handleBatch is POST /api/logs/batch.
func (g *Gateway) handleBatch(w http.ResponseWriter, r *http.Request) {
	body, release, err := g.readBody(r)
	defer release()
	if err != nil {
		var mb *http.MaxBytesError
		switch {
		case errors.Is(err, errBusy):
			w.Header().Set("Retry-After", "1")
			writeErrorBody(w, http.StatusServiceUnavailable, codes.Unavailable, busyMessage)
		case errors.As(err, &mb):
			writeErrorBody(w, http.StatusRequestEntityTooLarge, codes.ResourceExhausted, tooLargeMessage(g.cfg.MaxBodyBytes))
		default:
			// The client's connection or encoding failed mid-body.
			g.writeRPCError(w, r, badRequest("reading body: %v", err))
		}
		return
	}
	req, err := decodeBatch(body) // req's strings share body's memory
	if err != nil {
		g.writeRPCError(w, r, err) // a status naming the field
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.RequestTimeout)
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, outgoingAuth(r))
	res, err := g.ingestion.IngestBatch(ctx, req)
	if err != nil {
		g.writeRPCError(w, r, err)
		return
	}
	out, err := jsonMarshaler{}.Marshal(res)
	if err != nil {
		g.writeRPCError(w, r, fmt.Errorf("encoding batch response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(out)
}

// writeRPCError answers a failed request: a backend call's status, a client
// error the gateway made (badRequest), or its own failure (500, logged); see
// errorHandler.
func (g *Gateway) writeRPCError(w http.ResponseWriter, r *http.Request, err error) {
	g.errorHandler(r.Context(), nil, nil, w, r, err)
}

// The fast path of decodeBatch: one pass over the body that validates it as
// strictly as encoding/json (same grammar: strings without raw control
// characters and with only JSON's escapes, JSON's number syntax, nothing
// after the value) and records where each entry's fields are. Every string
// of the request is a substring of the body (which the handler never
// modifies), so a batch costs a handful of allocations instead of several
// per entry, and no copy of the body. It gives up
// (ok = false) on anything that encoding/json would treat in a way this
// code does not reproduce: syntax or type errors (whose messages come from
// encoding/json), duplicate or non-ASCII or escaped envelope keys, deep
// nesting. An entry object with such keys is decoded by decodeEntry.

// maxFastDepth bounds the nesting the fast path follows; deeper bodies go
// to encoding/json (which refuses more than 10000 levels).
const maxFastDepth = 512

type jspan struct{ start, end int } // end == 0: absent

// fastEntry is where one element of "logs" is in the body.
type fastEntry struct {
	start, end int
	object     bool     // a JSON object (else the whole element is the message)
	fallback   bool     // an object with keys the fast path does not match itself
	fields     [4]jspan // timestamp, level, message, context
	strFlags   [4]uint8 // for string fields: strScanned | strEscaped | strNonASCII
}

const (
	strScanned = 1 << iota
	strEscaped
	strNonASCII
)

const (
	fieldTimestamp = iota
	fieldLevel
	fieldMessage
	fieldContext
)

type jscan struct {
	s string
	i int
}

func (p *jscan) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// at reports whether the next byte is c.
func (p *jscan) at(c byte) bool { return p.i < len(p.s) && p.s[p.i] == c }

// strPlain marks the bytes a string scan can pass over without a look:
// everything but the quote, the backslash, control characters (invalid) and
// bytes outside ASCII. Never written after initialisation.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str scans the string at p.i (its opening quote) and returns its content
// span, whether it has escapes, and whether it has bytes outside ASCII.
func (p *jscan) str() (sp jspan, escaped, nonASCII, ok bool) {
	s := p.s
	start := p.i + 1
	for i := start; i < len(s); i++ {
		for i < len(s) && strPlain[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '"':
			p.i = i + 1
			return jspan{start, i}, escaped, nonASCII, true
		case c == '\\':
			escaped = true
			i++
			if i >= len(s) {
				return jspan{}, false, false, false
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s) {
					return jspan{}, false, false, false
				}
				for k := 1; k <= 4; k++ {
					if !isHex(s[i+k]) {
						return jspan{}, false, false, false
					}
				}
				i += 4
			default:
				return jspan{}, false, false, false
			}
		case c < 0x20:
			return jspan{}, false, false, false
		default: // >= 0x80
			nonASCII = true
		}
	}
	return jspan{}, false, false, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number scans a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jscan) number() bool {
	s, i := p.s, p.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return false
	case s[i] == '0':
		i++
	case '1' <= s[i] && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	p.i = i
	return true
}

func (p *jscan) literal(lit string) bool {
	if len(p.s)-p.i >= len(lit) && p.s[p.i:p.i+len(lit)] == lit {
		p.i += len(lit)
		return true
	}
	return false
}

// value scans any JSON value at p.i.
func (p *jscan) value(depth int) bool {
	if p.i >= len(p.s) {
		return false
	}
	switch c := p.s[p.i]; {
	case c == '"':
		_, _, _, ok := p.str()
		return ok
	case c == '{':
		if depth >= maxFastDepth {
			return false
		}
		p.i++
		p.ws()
		if p.at('}') {
			p.i++
			return true
		}
		for {
			if !p.at('"') {
				return false
			}
			if _, _, _, ok := p.str(); !ok {
				return false
			}
			p.ws()
			if !p.at(':') {
				return false
			}
			p.i++
			p.ws()
			if !p.value(depth + 1) {
				return false
			}
			p.ws()
			switch {
			case p.at(','):
				p.i++
				p.ws()
			case p.at('}'):
				p.i++
				return true
			default:
				return false
			}
		}
	case c == '[':
		if depth >= maxFastDepth {
			return false
		}
		p.i++
		p.ws()
		if p.at(']') {
			p.i++
			return true
		}
		for {
			if !p.value(depth + 1) {
				return false
			}
			p.ws()
			switch {
			case p.at(','):
				p.i++
				p.ws()
			case p.at(']'):
				p.i++
				return true
			default:
				return false
			}
		}
	case c == '-' || isDigit(c):
		return p.number()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return false
}

// entry scans an entry object at p.i and records its fields. Keys match
// case-insensitively, the last of duplicates wins (as encoding/json does);
// a key with escapes or non-ASCII bytes sends the entry to decodeEntry.
func (p *jscan) entry(e *fastEntry) bool {
	p.i++
	p.ws()
	if p.at('}') {
		p.i++
		return true
	}
	for {
		if !p.at('"') {
			return false
		}
		key, escaped, nonASCII, ok := p.str()
		if !ok {
			return false
		}
		p.ws()
		if !p.at(':') {
			return false
		}
		p.i++
		p.ws()
		vs := p.i
		var flags uint8
		if p.at('"') {
			_, esc, na, ok := p.str()
			if !ok {
				return false
			}
			flags = strScanned
			if esc {
				flags |= strEscaped
			}
			if na {
				flags |= strNonASCII
			}
		} else if !p.value(2) {
			return false
		}
		f := -1
		switch k := p.s[key.start:key.end]; {
		case escaped || nonASCII:
			e.fallback = true
		case strings.EqualFold(k, "timestamp"):
			f = fieldTimestamp
		case strings.EqualFold(k, "level"):
			f = fieldLevel
		case strings.EqualFold(k, "message"):
			f = fieldMessage
		case strings.EqualFold(k, "context"):
			f = fieldContext
		}
		if f >= 0 {
			e.fields[f], e.strFlags[f] = jspan{vs, p.i}, flags
		}
		p.ws()
		switch {
		case p.at(','):
			p.i++
			p.ws()
		case p.at('}'):
			p.i++
			return true
		default:
			return false
		}
	}
}

// logs scans the "logs" array at p.i.
func (p *jscan) logs() ([]fastEntry, bool) {
	p.i++
	p.ws()
	entries := make([]fastEntry, 0, 128)
	if p.at(']') {
		p.i++
		return entries, true
	}
	for {
		e := fastEntry{start: p.i}
		if p.at('{') {
			e.object = true
			if !p.entry(&e) {
				return nil, false
			}
		} else if !p.value(1) {
			return nil, false
		}
		e.end = p.i
		entries = append(entries, e)
		p.ws()
		switch {
		case p.at(','):
			p.i++
			p.ws()
		case p.at(']'):
			p.i++
			return entries, true
		default:
			return nil, false
		}
	}
}

// envelopeString decodes a string-or-null envelope field at p.i.
func (p *jscan) envelopeString() (string, bool) {
	if p.literal("null") {
		return "", true
	}
	if !p.at('"') {
		return "", false // a type error: encoding/json words it
	}
	sp, escaped, nonASCII, ok := p.str()
	if !ok {
		return "", false
	}
	return unquoteSpan(p.s, sp, escaped, nonASCII), true
}

// fastDecodeBatch is decodeBatch for the bodies it can decode exactly as
// decodeBatchStd would; ok is false for the rest.
//
// The request's strings share body's memory (no copy): the caller must not
// modify body afterwards.
func fastDecodeBatch(body []byte) (req *logsv1.IngestBatchRequest, ok bool) {
	p := &jscan{s: unsafe.String(unsafe.SliceData(body), len(body))}
	p.ws()
	if !p.at('{') {
		return nil, false
	}
	p.i++
	p.ws()
	var (
		slug, service, batchID string
		entries                []fastEntry
		seen                   [4]bool
	)
	if p.at('}') {
		p.i++
	} else {
		for {
			if !p.at('"') {
				return nil, false
			}
			key, escaped, nonASCII, ok := p.str()
			if !ok || escaped || nonASCII {
				return nil, false
			}
			p.ws()
			if !p.at(':') {
				return nil, false
			}
			p.i++
			p.ws()
			field := -1
			switch k := p.s[key.start:key.end]; {
			case strings.EqualFold(k, "project_slug"):
				field = 0
			case strings.EqualFold(k, "service_name"):
				field = 1
			case strings.EqualFold(k, "batch_id"):
				field = 2
			case strings.EqualFold(k, "logs"):
				field = 3
			}
			if field >= 0 {
				if seen[field] {
					return nil, false
				}
				seen[field] = true
			}
			switch field {
			case 0:
				slug, ok = p.envelopeString()
			case 1:
				service, ok = p.envelopeString()
			case 2:
				batchID, ok = p.envelopeString()
			case 3:
				switch {
				case p.literal("null"):
				case p.at('['):
					entries, ok = p.logs()
				default:
					ok = false
				}
			default:
				ok = p.value(1)
			}
			if !ok {
				return nil, false
			}
			p.ws()
			if p.at(',') {
				p.i++
				p.ws()
				continue
			}
			if !p.at('}') {
				return nil, false
			}
			p.i++
			break
		}
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, false
	}

	req = &logsv1.IngestBatchRequest{
		ProjectSlug: slug,
		ServiceName: service,
		BatchId:     batchID,
		Logs:        make([]*logsv1.LogInput, len(entries)),
	}
	inputs := make([]logsv1.LogInput, len(entries))
	for k := range entries {
		e := &entries[k]
		if e.fallback {
			req.Logs[k] = decodeEntry(json.RawMessage(p.s[e.start:e.end]))
			continue
		}
		in := &inputs[k]
		if !e.object {
			in.Message = textAt(p.s, jspan{e.start, e.end}, 0)
		} else {
			in.Timestamp = textAt(p.s, e.fields[fieldTimestamp], e.strFlags[fieldTimestamp])
			in.Level = textAt(p.s, e.fields[fieldLevel], e.strFlags[fieldLevel])
			in.Message = textAt(p.s, e.fields[fieldMessage], e.strFlags[fieldMessage])
			if c := e.fields[fieldContext]; c.end > 0 && p.s[c.start:c.end] != "null" {
				in.ContextJson = p.s[c.start:c.end]
			}
		}
		req.Logs[k] = in
	}
	return req, true
}

// textAt is textOf for a scanned value of s; flags are what the scan found
// in a string value (0: not known).
func textAt(s string, sp jspan, flags uint8) string {
	if sp.end == 0 {
		return ""
	}
	v := s[sp.start:sp.end]
	switch v[0] {
	case '"':
		inner := jspan{sp.start + 1, sp.end - 1}
		if flags&strScanned != 0 {
			return unquoteSpan(s, inner, flags&strEscaped != 0, flags&strNonASCII != 0)
		}
		escaped, nonASCII := false, false
		for i := inner.start; i < inner.end; i++ {
			if c := s[i]; c == '\\' {
				escaped = true
				break
			} else if c >= 0x80 {
				nonASCII = true
			}
		}
		return unquoteSpan(s, inner, escaped, nonASCII)
	case 'n':
		return "" // null
	case '{', '[':
		return textOf(json.RawMessage(v)) // compacted, as encoding/json would
	}
	return v // a number, true or false: already compact
}

// unquoteSpan is a string's content decoded as encoding/json decodes it:
// escapes resolved, an unpaired surrogate escape and each byte of invalid
// UTF-8 replaced by U+FFFD. Without escapes and with valid UTF-8 it is the
// substring itself.
func unquoteSpan(s string, sp jspan, escaped, nonASCII bool) string {
	v := s[sp.start:sp.end]
	if !escaped && (!nonASCII || utf8.ValidString(v)) {
		return v
	}
	b := make([]byte, 0, len(v)+utf8.UTFMax)
	for r := 0; r < len(v); {
		c := v[r]
		switch {
		case c == '\\':
			r++
			switch v[r] {
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
				rr := hex4(v[r+1 : r+5])
				r += 5
				if utf16.IsSurrogate(rr) {
					if r+6 <= len(v) && v[r] == '\\' && v[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(v[r+2:r+6])); dec != unicode.ReplacementChar {
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
				b = append(b, v[r])
			}
			r++
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRuneInString(v[r:])
			b = utf8.AppendRune(b, rr)
			r += size
		}
	}
	return string(b)
}

// hex4 decodes four hex digits (already validated).
func hex4(h string) rune {
	var r rune
	for i := range 4 {
		c := h[i]
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
