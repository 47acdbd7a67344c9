package ingestion

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/jsontext"
	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/signature"
)

const (
	// maxNameChars bounds service_name and batch_id.
	maxNameChars = 200
	// maxFuture is how far ahead of the receive time a timestamp may be.
	maxFuture = time.Hour
	// maxOriginalBytes bounds the originals kept as _level and _timestamp.
	maxOriginalBytes = 256
	// contextPreviewBytes bounds the text kept of a context over the limit.
	contextPreviewBytes = 1024
)

// Rejection reasons (docs/ingest-api.md).
const (
	reasonNoMessage = "message is required"
	reasonTooOld    = "timestamp is older than the retention period" // the platform's default retention
	reasonFuture    = "timestamp is more than 1 hour in the future"
)

// row is one entry ready for COPY. Its context is ctx with extras spliced in
// before the closing brace at ctxClose.
type row struct {
	ts       int64 // microseconds since the Unix epoch
	id       int64 // assigned by the writer
	msg      string
	sig      int64   // msg's signature (package signature)
	fp       int64   // its error group's fingerprint (groups.go); 0 below WARN
	rate     float32 // the fraction a sampling rule kept of its kind; 0: not sampled
	ctx      string  // a JSON object
	ctxClose int32   // index of ctx's closing brace
	exOff    int32   // extras are batch.arena[exOff:exOff+exLen]: `"k":v,"k":v`
	exLen    int32
	level    logstore.Level
	ctxComma bool // ctx has members, so extras need a leading comma
}

// contextLen is the length of the row's stored context text.
func (r *row) contextLen() int {
	n := len(r.ctx) + int(r.exLen)
	if r.exLen > 0 && r.ctxComma {
		n++
	}
	return n
}

// appendContext appends the row's stored context text.
func (r *row) appendContext(dst []byte, arena []byte) []byte {
	if r.exLen == 0 {
		return append(dst, r.ctx...)
	}
	dst = append(dst, r.ctx[:r.ctxClose]...)
	if r.ctxComma {
		dst = append(dst, ',')
	}
	dst = append(dst, arena[r.exOff:r.exOff+r.exLen]...)
	return append(dst, r.ctx[r.ctxClose:]...)
}

// outcome is the answer to one batch; it is also what logs.ingested_batches
// keeps for a batch_id.
type outcome struct {
	Count     int32       `json:"count"`
	Message   string      `json:"message"`
	Rejected  []rejection `json:"rejected"`
	Truncated int32       `json:"truncated"`
	// SampledOut is how many entries a sampling rule left out: accepted,
	// counted in the rollups, not stored (sampling.go).
	SampledOut int32 `json:"sampled_out,omitempty"`
}

type rejection struct {
	Index  int32  `json:"index"`
	Reason string `json:"reason"`
}

func successMessage(n int64) string {
	return "Successfully ingested " + strconv.FormatInt(n, 10) + " logs"
}

// sampledMessage is successMessage with the entries left out by sampling,
// when there are any.
func sampledMessage(n, sampledOut int64) string {
	if sampledOut == 0 {
		return successMessage(n)
	}
	return successMessage(n) + " (" + strconv.FormatInt(sampledOut, 10) + " sampled out)"
}

// limits are the per-entry rules of a Service, and of a batch's project
// and service (of).
type limits struct {
	retention  time.Duration // the project's, once of has applied it
	maxMessage int
	maxContext int
	metrics    *metricSpec // nil: nothing summarised
	// class is the project's retention class (settings.go).
	class int16
	// sampling is the service's sampling rule, when sampled.
	sampling samplingRule
	sampled  bool
}

// tooOld is the rejection reason of an entry older than lim.retention: it
// names the project's own retention, when it has one.
func (lim limits) tooOld() string {
	if lim.class == 0 {
		return reasonTooOld
	}
	return "timestamp is older than the project's retention of " + strconv.Itoa(int(lim.class)) + " days"
}

// of is lim applied to a batch of service in a project with settings st:
// its retention, retention class and sampling rule.
func (lim limits) of(st *projectSettings, service string) limits {
	lim.retention = st.retention(lim.retention)
	lim.class = st.class
	lim.sampling, lim.sampled = st.rule(service)
	return lim
}

// checkEnvelope applies the rules that refuse a whole batch and returns the
// service name to store.
func checkEnvelope(projectSlug, keySlug, service string, entries, maxEntries int, batchID string) (string, error) {
	service = cleanText(trimSpace(service))
	switch {
	case service == "":
		return "", errNoServiceName
	case utf8.RuneCountInString(service) > maxNameChars:
		return "", errLongServiceName()
	case entries == 0:
		return "", errNoEntries
	case entries > maxEntries:
		return "", errTooManyEntries(entries, maxEntries)
	case projectSlug != "" && projectSlug != keySlug:
		return "", errSlugMismatch(projectSlug)
	case utf8.RuneCountInString(batchID) > maxNameChars:
		return "", errLongBatchID()
	}
	return service, nil
}

// normalize turns a checked batch into rows and its answer. now is the
// receive time. It never fails: entries that are wrong on their own are
// rejected with their index.
func normalize(projectID int64, service, batchID string, logs []*logsv1.LogInput, now time.Time, lim limits) *batch {
	nowMicros := now.UnixMicro()
	oldest := nowMicros - lim.retention.Microseconds()
	newest := nowMicros + maxFuture.Microseconds()
	tooOld := lim.tooOld()
	b := &batch{
		projectID:  projectID,
		service:    service,
		batchID:    cleanText(batchID),
		receivedAt: nowMicros,
		class:      lim.class,
		rows:       make([]row, 0, len(logs)),
	}
	if lim.metrics != nil {
		b.metrics = make([]sample, 0, len(logs))
		b.metricDims = make([]string, 0, len(logs)*len(lim.metrics.dims))
	}
	size := 0
	var sigs signature.Hasher
	var smp sampler
	if lim.sampled {
		smp = newSampler(service, b.batchID)
	}
	var groups batchGroups
	for i, in := range logs {
		reject := func(reason string) {
			b.out.Rejected = append(b.out.Rejected, rejection{Index: int32(i), Reason: reason})
		}
		msg := in.GetMessage()
		if msg == "" {
			reject(reasonNoMessage)
			continue
		}
		exStart := len(b.arena)
		truncated := false
		extra := func(key string) {
			if len(b.arena) > exStart {
				b.arena = append(b.arena, ',')
			}
			b.arena = append(b.arena, '"')
			b.arena = append(b.arena, key...)
			b.arena = append(b.arena, `":`...)
		}
		original := func(key, v string) {
			extra(key)
			if len(v) > maxOriginalBytes {
				v = cutRunes(v, maxOriginalBytes)
				truncated = true
			}
			b.arena = jsontext.AppendString(b.arena, v)
		}

		ts := nowMicros
		if tsText := in.GetTimestamp(); tsText != "" && trimSpace(tsText) != "" {
			if v, ok := parseTimestamp(tsText); ok {
				ts = v
			} else {
				original("_timestamp", tsText)
			}
		}
		if ts < oldest || ts > newest {
			b.arena = b.arena[:exStart]
			if ts < oldest {
				reject(tooOld)
			} else {
				reject(reasonFuture)
			}
			continue
		}

		r := row{ts: ts, ctx: "{}", ctxClose: 1}
		if c := in.GetContextJson(); c != "" && trimSpace(c) != "" {
			obj, err := scanContext(c)
			if err != nil {
				b.arena = b.arena[:exStart]
				reject(err.Error())
				continue
			}
			if len(obj.Text) > lim.maxContext {
				extra("_context_preview")
				b.arena = jsontext.AppendString(b.arena, cutRunes(obj.Text, min(contextPreviewBytes, lim.maxContext)))
				extra("_context_bytes")
				b.arena = strconv.AppendInt(b.arena, int64(len(c)), 10)
				truncated = true
			} else {
				r.ctx, r.ctxClose, r.ctxComma = obj.Text, int32(obj.CloseAt), obj.NonEmpty
			}
		}

		var known bool
		if r.level, known = parseLevel(in.GetLevel()); !known {
			original("_level", in.GetLevel())
		}

		msg = cleanText(msg)
		if len(msg) > lim.maxMessage {
			msg = cutRunes(msg, lim.maxMessage)
			truncated = true
		}
		r.msg = msg
		r.sig = sigs.Of(msg)
		// Metrics are extracted before the sampling decision: an entry
		// left out still counts in the metric rollups, which stay exact.
		if lim.metrics != nil && r.ctxComma {
			lim.metrics.extract(b, ts, r.ctx, r.level)
		}
		if lim.sampled {
			if rate := lim.sampling.rate(r.level); rate < 1 {
				if !smp.keep(i, r.sig, ts, rate) {
					b.arena = b.arena[:exStart]
					b.addSampledOut(ts)
					continue
				}
				r.rate = rate
			}
		}
		size += groups.add(b, &r)
		if truncated {
			extra("_truncated")
			b.arena = append(b.arena, "true"...)
			b.out.Truncated++
		}
		if n := len(b.arena) - exStart; n > 0 {
			r.exOff, r.exLen = int32(exStart), int32(n)
		}
		size += len(r.msg) + len(r.ctx) + rowOverhead
		b.rows = append(b.rows, r)
	}
	b.out.Count = int32(len(b.rows))
	b.out.Message = sampledMessage(int64(len(b.rows)), int64(b.out.SampledOut))
	if b.out.Rejected == nil {
		b.out.Rejected = []rejection{}
	}
	b.size = size + len(b.arena) + len(service)
	if b.batchID != "" {
		j, _ := json.Marshal(&b.out) // plain structs: cannot fail
		b.outJSON = string(j)
	}
	return b
}

// rowOverhead approximates a row's memory and COPY bytes beyond its text.
const rowOverhead = 96
