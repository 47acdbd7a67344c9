package gateway

import (
	"strconv"
	"strings"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/jsontext"
)

// The mapping of Loki streams to our entries (docs/loki.md has the table).

// lokiServiceLabels name an entry's service, the first present (non-empty)
// winning.
var lokiServiceLabels = [...]string{"service_name", "service", "app", "job", "container"}

// lokiLevelLabels name an entry's level, among the stream's labels first,
// then among the entry's structured metadata.
var lokiLevelLabels = [...]string{"level", "detected_level", "severity"}

// lokiUnknownService is the service of a stream without a service label,
// as Loki and OpenTelemetry name it.
const lokiUnknownService = "unknown_service"

// lokiTimestampKey is the context key of an entry's exact timestamp, in
// nanoseconds as a decimal string, when it has digits below the
// microsecond (which the stored timestamp does not keep).
const lokiTimestampKey = "_timestamp_ns"

// lokiPos is where an entry is in the push body: streams[stream].values[value].
type lokiPos struct {
	stream, value int32
}

// lokiBatch is one IngestBatch of a push: entries of one service, at most
// the batch limit.
type lokiBatch struct {
	service string
	chunk   int // the how-manyth batch of this service in the push
	logs    []*logsv1.LogInput
	from    []lokiPos
}

// mapLokiStreams maps the streams of a push to batches: one per service
// (in order of first appearance), split past maxEntries.
func mapLokiStreams(streams []lokiStream, maxEntries int) []*lokiBatch {
	var batches []*lokiBatch
	last := map[string]*lokiBatch{} // the open batch of each service
	total := 0
	for i := range streams {
		total += len(streams[i].entries)
	}
	inputs := make([]logsv1.LogInput, total) // one allocation for every entry
	// The entries' timestamps and own contexts are written into one text,
	// made a string once at the end (a few allocations a push, not a few an
	// entry); spans say where each entry's are.
	text := make([]byte, 0, total*64)
	spans := make([]lokiSpans, total)
	n := 0
	for si := range streams {
		s := &streams[si]
		if len(s.entries) == 0 {
			continue
		}
		service, serviceAt := lokiService(s.labels)
		levelAt := findLabel(s.labels, lokiLevelLabels[:], true)
		streamLevel := ""
		if levelAt >= 0 {
			streamLevel = s.labels[levelAt].value
		}
		// The labels left for the context, as JSON members, once a stream.
		var members []byte
		for k, l := range s.labels {
			if k != serviceAt && k != levelAt {
				members = appendMember(members, l)
			}
		}
		shared := ""
		if len(members) > 0 {
			shared = "{" + string(members) + "}"
		}
		b := last[service]
		for vi := range s.entries {
			e := &s.entries[vi]
			if b == nil || len(b.logs) >= maxEntries {
				chunk := 0
				if b != nil {
					chunk = b.chunk + 1
				}
				b = &lokiBatch{service: service, chunk: chunk}
				batches = append(batches, b)
				last[service] = b
			}
			in := &inputs[n]
			sp := &spans[n]
			n++
			sp.ts0 = int32(len(text))
			text = strconv.AppendInt(text, e.ns, 10)
			sp.ts1 = int32(len(text))
			in.Message = e.line
			metaLevel := -1
			in.Level = streamLevel
			if in.Level == "" {
				if metaLevel = findLabel(e.meta, lokiLevelLabels[:], true); metaLevel >= 0 {
					in.Level = e.meta[metaLevel].value
				} else {
					in.Level = detectLineLevel(e.line)
				}
			}
			exact := e.ns%1000 != 0
			if len(e.meta) == 0 && !exact {
				in.ContextJson = shared
			} else {
				sp.ctx0 = int32(len(text))
				text = append(append(text, '{'), members...)
				for k, m := range e.meta {
					if k != metaLevel {
						text = appendMember(text, m)
					}
				}
				if exact {
					if text[len(text)-1] != '{' {
						text = append(text, ',')
					}
					text = append(text, `"`+lokiTimestampKey+`":"`...)
					text = append(strconv.AppendInt(text, e.ns, 10), '"')
				}
				text = append(text, '}')
				sp.ctx1 = int32(len(text))
			}
			b.logs = append(b.logs, in)
			b.from = append(b.from, lokiPos{stream: int32(si), value: int32(vi)})
		}
	}
	all := string(text)
	for k := range n {
		sp := &spans[k]
		inputs[k].Timestamp = all[sp.ts0:sp.ts1]
		if sp.ctx1 > 0 {
			inputs[k].ContextJson = all[sp.ctx0:sp.ctx1]
		}
	}
	return batches
}

// lokiSpans are where an entry's timestamp and (unless shared) context are
// in mapLokiStreams' text.
type lokiSpans struct {
	ts0, ts1, ctx0, ctx1 int32
}

// appendMember appends `"name":value` (after a comma when dst has members).
func appendMember(dst []byte, l lokiLabel) []byte {
	if len(dst) > 0 && dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	dst = jsontext.AppendString(dst, l.name)
	dst = append(dst, ':')
	if l.raw {
		return append(dst, l.value...)
	}
	return jsontext.AppendString(dst, l.value)
}

// lokiService is the service a stream's labels name, and the index of that
// label (-1 for none: unknown_service).
func lokiService(labels []lokiLabel) (string, int) {
	if k := findLabel(labels, lokiServiceLabels[:], false); k >= 0 {
		return labels[k].value, k
	}
	return lokiUnknownService, -1
}

// findLabel is the index in labels of the first of names (in names' order)
// with a value that says something: not empty, and with skipUnknown not
// "unknown" (what Loki's detected_level says when it found none); -1 for
// none.
func findLabel(labels []lokiLabel, names []string, skipUnknown bool) int {
	for _, name := range names {
		for k, l := range labels {
			if l.name == name && strings.TrimSpace(l.value) != "" && !(skipUnknown && strings.EqualFold(l.value, "unknown")) {
				return k
			}
		}
	}
	return -1
}

// detectLineLevel is the level of a line whose stream and metadata name
// none, found as Loki's detected_level finds it: in a JSON object line its
// top-level level, lvl or severity field; in a logfmt line (one with an
// '=') its level=, lvl= or severity= pair; when neither names a known
// level, the first of the words trace, debug, fatal, critical, error, err,
// warning, warn, info (in that order of precedence) that appears as a
// whole word in any case. "" (stored as INFO) when none does.
func detectLineLevel(line string) string {
	t := trimJSONSpace(line)
	var v string
	switch {
	case len(t) >= 2 && t[0] == '{' && t[len(t)-1] == '}':
		v = jsonLevelField(t)
	case strings.IndexByte(line, '=') >= 0:
		v = logfmtLevelField(line)
	}
	if l := levelWord(v); l != "" {
		return l
	}
	return keywordLevel(line)
}

func trimJSONSpace(s string) string {
	for len(s) > 0 && jsontext.IsSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && jsontext.IsSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// lineLevelFields are the fields of a JSON or logfmt line that name its
// level, by precedence.
var lineLevelFields = [...]string{"level", "lvl", "severity"}

// jsonLevelField is the string value of the first top-level level field
// (any case) of a JSON object line; "" for none or for text that is not JSON.
func jsonLevelField(line string) string {
	var vals [len(lineLevelFields)]jsontext.Value
	sc := jsontext.NewScanner(line)
	if _, ok := sc.Fields(lineLevelFields[:], vals[:]); !ok {
		return ""
	}
	for _, v := range vals {
		if v.End > 0 && v.Flags&jsontext.String != 0 {
			return jsontext.Unquote(line, v)
		}
	}
	return ""
}

// logfmtLevelField is the value of the first level pair (any case of the
// key) of a logfmt line, by precedence; "" for none.
func logfmtLevelField(line string) string {
	var found [len(lineLevelFields)]string
	for i := 0; i < len(line); {
		// A key starts the line or follows a space.
		for i < len(line) && line[i] == ' ' {
			i++
		}
		start := i
		for i < len(line) && line[i] != '=' && line[i] != ' ' {
			i++
		}
		key := line[start:i]
		if i >= len(line) || line[i] != '=' {
			continue
		}
		i++
		var value string
		if i < len(line) && line[i] == '"' {
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			value = line[i+1 : min(j, len(line))]
			i = j + 1
		} else {
			j := i
			for j < len(line) && line[j] != ' ' {
				j++
			}
			value = line[i:j]
			i = j
		}
		for k, name := range lineLevelFields {
			if found[k] == "" && strings.EqualFold(key, name) {
				found[k] = value
			}
		}
	}
	for _, v := range found {
		if v != "" {
			return v
		}
	}
	return ""
}

// levelWord is our level for a level's name or usual abbreviation (any
// case); "" for anything else.
func levelWord(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "trace", "trc":
		return "TRACE"
	case "debug", "dbg":
		return "DEBUG"
	case "info", "inf", "information", "notice":
		return "INFO"
	case "warn", "wrn", "warning":
		return "WARN"
	case "error", "err", "eror":
		return "ERROR"
	case "fatal", "critical", "crit", "panic", "emerg", "emergency", "alert":
		return "FATAL"
	}
	return ""
}

// lineKeywords are the words keywordLevel looks for, by precedence.
var lineKeywords = [...]struct{ word, level string }{
	{"trace", "TRACE"}, {"debug", "DEBUG"}, {"fatal", "FATAL"}, {"critical", "FATAL"},
	{"error", "ERROR"}, {"err", "ERROR"}, {"warning", "WARN"}, {"warn", "WARN"}, {"info", "INFO"},
}

// keywordLevel is the level of the keyword of highest precedence that is a
// whole word of line (letters, digits and '_' make words; any case); "" for
// none. One pass, no allocation.
func keywordLevel(line string) string {
	best := len(lineKeywords)
	for i := 0; i < len(line) && best > 0; {
		for i < len(line) && !isWordByte(line[i]) {
			i++
		}
		start := i
		for i < len(line) && isWordByte(line[i]) {
			i++
		}
		w := line[start:i]
		if len(w) < 3 || len(w) > 8 {
			continue
		}
		for k := range best {
			if strings.EqualFold(w, lineKeywords[k].word) {
				best = k
				break
			}
		}
	}
	if best == len(lineKeywords) {
		return ""
	}
	return lineKeywords[best].level
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 0x80 || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}
