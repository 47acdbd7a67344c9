package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/devsmith/logs/internal/jsontext"
)

// The bodies of POST /loki/api/v1/push (docs/loki.md), decoded into one
// shape whatever the encoding: streams of labels and entries.

// lokiLabel is a stream label or an entry's structured metadata pair. raw
// marks a value that is JSON text (a JSON body's metadata value that is not a
// string: kept as it was rather than refused).
type lokiLabel struct {
	name, value string
	raw         bool
}

// lokiEntry is one log line of a stream.
type lokiEntry struct {
	ns   int64 // nanoseconds since the Unix epoch
	line string
	meta []lokiLabel // structured metadata
}

// lokiStream is a stream: its labels and its entries, in the body's order.
type lokiStream struct {
	labels  []lokiLabel
	entries []lokiEntry
}

// snappyLen is the decompressed size of a block-snappy body (Promtail's
// compression: the block format, not the framed one).
func snappyLen(body []byte) (int64, error) {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return 0, badRequest("body is not snappy-compressed (the block format, as Promtail sends it): %v; send Content-Type: application/json for a JSON body", err)
	}
	return int64(n), nil
}

// snappyDecode decompresses a block-snappy body of decompressed size n.
func snappyDecode(body []byte, n int64) ([]byte, error) {
	raw, err := snappy.Decode(make([]byte, n), body)
	if err != nil {
		return nil, badRequest("body is not snappy-compressed (the block format, as Promtail sends it): %v; send Content-Type: application/json for a JSON body", err)
	}
	return raw, nil
}

// errTooLarge is a body over the limit once decompressed.
var errTooLarge = errors.New("body too large after decompression")

// decodeLokiProto decodes an uncompressed logproto PushRequest (Loki's
// pkg/push/push.proto) with protowire: one pass, no reflection, and every
// string of the result a substring of raw (which the caller must keep, and
// not modify, while the result is used), so that a push costs a few
// allocations instead of several per entry (the gogo-generated decoder of
// Loki's push types copies every line, name and value). The tests build
// their bodies with Loki's own push types, and check this decoder against
// theirs on random pushes.
//
//	PushRequest      { repeated StreamAdapter streams = 1; string format = 2; }
//	StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//	EntryAdapter     { Timestamp timestamp = 1; string line = 2;
//	                   repeated LabelPairAdapter structuredMetadata = 3; repeated LabelPairAdapter parsed = 4; }
//	LabelPairAdapter { string name = 1; string value = 2; }
//	Timestamp        { int64 seconds = 1; int32 nanos = 2; }
func decodeLokiProto(raw []byte) ([]lokiStream, error) {
	var streams []lokiStream
	var meta []lokiLabel // every entry's metadata, in few allocations
	err := eachField(raw, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != 1 || typ != protowire.BytesType {
			return nil // format, or unknown
		}
		i := len(streams)
		streams = append(streams, lokiStream{})
		labelText, err := decodeLokiStream(v, &streams[i], &meta)
		if err != nil {
			return fmt.Errorf("streams[%d]%w", i, err)
		}
		labels, err := parseLokiLabels(labelText)
		if err != nil {
			return labelsError{fmt.Errorf("streams[%d].labels %s: %w", i, quoteCut(labelText), err)}
		}
		streams[i].labels = labels
		return nil
	})
	var le labelsError
	switch {
	case errors.As(err, &le):
		return nil, badRequest("%v", le.error)
	case err != nil:
		return nil, badRequest("body is not a Loki PushRequest protobuf message: %v", err)
	}
	return streams, nil
}

// labelsError is a stream's label set that does not parse (the protobuf
// itself does).
type labelsError struct{ error }

// decodeLokiStream decodes a StreamAdapter into s and returns its labels'
// text; its errors start with the field's path below the stream.
func decodeLokiStream(b []byte, s *lokiStream, meta *[]lokiLabel) (labelText string, err error) {
	err = eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			labelText = bytesString(v)
		case num == 2 && typ == protowire.BytesType:
			j := len(s.entries)
			s.entries = append(s.entries, lokiEntry{})
			if err := decodeLokiEntry(v, &s.entries[j], meta); err != nil {
				return fmt.Errorf(".entries[%d]%w", j, err)
			}
		}
		return nil
	})
	return labelText, err
}

// decodeLokiEntry decodes an EntryAdapter into e, its metadata appended to
// arena (e.meta is arena's tail). An absent timestamp, or one beyond int64
// nanoseconds, is 0 (rejected as older than the retention).
func decodeLokiEntry(b []byte, e *lokiEntry, arena *[]lokiLabel) error {
	start := len(*arena)
	defer func() {
		if len(*arena) > start {
			e.meta = (*arena)[start:len(*arena):len(*arena)]
		}
	}()
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			var secs, nanos int64
			if err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
				if typ == protowire.VarintType {
					n, _ := protowire.ConsumeVarint(v) // eachField checked it
					switch num {
					case 1:
						secs = int64(n)
					case 2:
						nanos = int64(int32(n))
					}
				}
				return nil
			}); err != nil {
				return fmt.Errorf(".timestamp: %w", err)
			}
			e.ns = 0
			if secs > -9_223_372_035 && secs < 9_223_372_035 {
				e.ns = secs*1_000_000_000 + nanos
			}
		case num == 2 && typ == protowire.BytesType:
			e.line = bytesString(v)
		case num == 3 && typ == protowire.BytesType:
			var l lokiLabel
			if err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					l.name = bytesString(v)
				case num == 2 && typ == protowire.BytesType:
					l.value = bytesString(v)
				}
				return nil
			}); err != nil {
				return fmt.Errorf(".structuredMetadata[%d]: %w", len(*arena)-start, err)
			}
			*arena = append(*arena, l)
		}
		return nil
	})
}

// eachField calls fn with each field of the message b: its number, wire
// type and value (a varint's bytes, or a length-delimited field's content;
// nil for the other types, which are skipped).
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			_, n = protowire.ConsumeVarint(b)
			if n >= 0 {
				v = b[:n]
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		if err := fn(num, typ, v); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// bytesString is b as a string sharing its memory (the decoded body is
// never modified), with invalid UTF-8 replaced by U+FFFD as the batch
// endpoint's decoder does: a protobuf string must be valid UTF-8, or the
// IngestBatch call could not be marshalled (Promtail reads files that
// have such bytes).
func bytesString(b []byte) string {
	s := unsafe.String(unsafe.SliceData(b), len(b))
	if !utf8.ValidString(s) {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// parseLokiLabels reads a stream's label set as the protobuf body carries
// it, in Prometheus' text form: {name="value", name2="value2"}, values
// quoted with Go's escapes (\" \\ \n \t \uXXXX); {} is an empty set.
func parseLokiLabels(s string) ([]lokiLabel, error) {
	i := skipLabelSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return nil, errors.New("a label set must start with {")
	}
	i++
	var out []lokiLabel
	for {
		i = skipLabelSpace(s, i)
		if i < len(s) && s[i] == '}' {
			i++
			break
		}
		start := i
		for i < len(s) && isLabelNameByte(s[i]) {
			i++
		}
		if i == start {
			return nil, fmt.Errorf("a label name is expected at offset %d", i)
		}
		name := s[start:i]
		i = skipLabelSpace(s, i)
		if i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("label %s: = is expected after the name", name)
		}
		i = skipLabelSpace(s, i+1)
		if i >= len(s) || s[i] != '"' {
			return nil, fmt.Errorf("label %s: its value must be a double-quoted string", name)
		}
		j, escaped := i+1, false
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				escaped = true
				j++
			}
			j++
		}
		if j >= len(s) {
			return nil, fmt.Errorf("label %s: its value has no closing quote", name)
		}
		value := s[i+1 : j]
		if escaped {
			v, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return nil, fmt.Errorf("label %s: its value has a bad escape", name)
			}
			value = strings.ToValidUTF8(v, "\uFFFD") // \xff is a valid escape
		}
		out = append(out, lokiLabel{name: name, value: value})
		i = skipLabelSpace(s, j+1)
		if i < len(s) && s[i] == ',' {
			i++
			continue
		}
		if i < len(s) && s[i] == '}' {
			i++
			break
		}
		return nil, fmt.Errorf("label %s: , or } is expected after its value", name)
	}
	if skipLabelSpace(s, i) != len(s) {
		return nil, errors.New("text follows the closing }")
	}
	return out, nil
}

func skipLabelSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// isLabelNameByte: Prometheus label names are [a-zA-Z_][a-zA-Z0-9_]*; dots
// and dashes (as some clients send) are let through.
func isLabelNameByte(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c == ':' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// quoteCut is s quoted for an error message, cut to 120 bytes.
func quoteCut(s string) string {
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return strconv.Quote(s)
}

// lokiJSONBody is the JSON push body:
// {"streams":[{"stream":{labels},"values":[["<ns>","line"],["<ns>","line",{metadata}]]}]}.
type lokiJSONBody struct {
	Streams []lokiJSONStream `json:"streams"`
}

type lokiJSONStream struct {
	Stream map[string]json.RawMessage `json:"stream"`
	Values []json.RawMessage          `json:"values"`
}

// decodeLokiJSON decodes a JSON push body; errors name the field (as
// streams[i].values[j][k]) that is wrong.
func decodeLokiJSON(body []byte) ([]lokiStream, error) {
	var b lokiJSONBody
	if err := json.Unmarshal(body, &b); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field == "":
			return nil, badRequest(`the body must be a JSON object {"streams": [...]}, not a JSON %s`, te.Value)
		case errors.As(err, &te):
			want := map[string]string{
				"streams":        "an array of streams",
				"streams.stream": "an object of label names and string values",
				"streams.values": `an array of values ["<nanoseconds>", "<line>"]`,
			}[te.Field]
			if want == "" {
				want = "something else"
			}
			return nil, badRequest("%s must be %s, not a JSON %s", te.Field, want, te.Value)
		case errors.As(err, &se):
			return nil, badRequest("malformed JSON body: %v (at byte %d)", err, se.Offset)
		}
		return nil, badRequest("malformed JSON body: %v", err)
	}
	streams := make([]lokiStream, len(b.Streams))
	for i, s := range b.Streams {
		labels := make([]lokiLabel, 0, len(s.Stream))
		for name, raw := range s.Stream {
			v, ok := jsonString(raw)
			if !ok {
				return nil, badRequest("streams[%d].stream.%s must be a string, not %s", i, name, cutJSON(raw))
			}
			labels = append(labels, lokiLabel{name: name, value: v})
		}
		// A map has no order: labels are kept sorted by name, as Loki
		// keeps a stream's labels.
		slices.SortFunc(labels, func(a, b lokiLabel) int { return strings.Compare(a.name, b.name) })
		entries := make([]lokiEntry, len(s.Values))
		for j, raw := range s.Values {
			e, err := decodeLokiJSONValue(raw)
			if err != nil {
				return nil, badRequest("streams[%d].values[%d]%v", i, j, err)
			}
			entries[j] = e
		}
		streams[i] = lokiStream{labels: labels, entries: entries}
	}
	return streams, nil
}

// decodeLokiJSONValue decodes one ["<ns>", "<line>"(, {metadata})] value;
// its error text follows the value's path.
func decodeLokiJSONValue(raw json.RawMessage) (lokiEntry, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) < 2 || len(parts) > 3 {
		return lokiEntry{}, fmt.Errorf(` must be an array ["<nanoseconds>", "<line>"] or ["<nanoseconds>", "<line>", {structured metadata}], not %s`, cutJSON(raw))
	}
	var e lokiEntry
	ts, ok := jsonString(parts[0])
	if !ok {
		ts = string(bytes.TrimSpace(parts[0])) // a JSON number is accepted too
	}
	ns, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return lokiEntry{}, fmt.Errorf("[0]: the timestamp must be a string of nanoseconds since the Unix epoch, not %s", cutJSON(parts[0]))
	}
	e.ns = ns
	if e.line, ok = jsonString(parts[1]); !ok {
		return lokiEntry{}, fmt.Errorf("[1]: the log line must be a string, not %s", cutJSON(parts[1]))
	}
	if len(parts) == 3 {
		var meta map[string]json.RawMessage
		if err := json.Unmarshal(parts[2], &meta); err != nil {
			return lokiEntry{}, fmt.Errorf("[2]: structured metadata must be an object of names and string values, not %s", cutJSON(parts[2]))
		}
		for name, v := range meta {
			if s, ok := jsonString(v); ok {
				e.meta = append(e.meta, lokiLabel{name: name, value: s})
			} else if t := bytes.TrimSpace(v); !bytes.Equal(t, []byte("null")) {
				var buf bytes.Buffer
				_ = json.Compact(&buf, t) // valid: it was decoded
				// Invalid UTF-8 can only be inside its strings: U+FFFD keeps it JSON.
				e.meta = append(e.meta, lokiLabel{name: name, value: strings.ToValidUTF8(buf.String(), "\uFFFD"), raw: true})
			}
		}
		slices.SortFunc(e.meta, func(a, b lokiLabel) int { return strings.Compare(a.name, b.name) })
	}
	return e, nil
}

// jsonString decodes raw if it is a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	// encoding/json unescapes, and makes invalid UTF-8 U+FFFD.
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// cutJSON is a JSON value for an error message, cut to 80 bytes.
func cutJSON(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 80 {
		return string(raw[:80]) + "..."
	}
	return string(raw)
}

// appendLokiLabels appends labels in Prometheus' text form, for messages.
func appendLokiLabels(b []byte, labels []lokiLabel) []byte {
	b = append(b, '{')
	for i, l := range labels {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, l.name...)
		b = append(b, '=')
		b = jsontext.AppendString(b, l.value)
	}
	return append(b, '}')
}
