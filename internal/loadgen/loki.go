package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
)

// The loki transport: each batch as Promtail would push it to
// POST /loki/api/v1/push (docs/loki.md): a PushRequest built with Loki's own
// push types, one stream per level with the labels service_name and level,
// each entry's context as structured metadata (string values; "run" among
// them, which the stored-entries check counts), marshalled and
// block-snappy-compressed per request.
//
// The platform derives a push's batch ids from its body, so a body sent
// twice is stored once: as a real client's bodies differ by their
// timestamps, every request shifts its batch's timestamps by one more
// microsecond (whole microseconds: no _timestamp_ns in the stored context).

// lokiPush is a batch as streams, built once; send copies its entries with
// shifted timestamps.
type lokiPush struct {
	streams []push.Stream
	entries int
}

// newLokiPush groups a batch's entries into streams by level.
func newLokiPush(b *Batch) (*lokiPush, error) {
	byLevel := map[string]int{}
	var streams []push.Stream
	for _, e := range b.Entries {
		k, ok := byLevel[e.Level]
		if !ok {
			k = len(streams)
			byLevel[e.Level] = k
			streams = append(streams, push.Stream{Labels: `{service_name=` + strconv.Quote(b.Service) + `, level=` + strconv.Quote(e.Level) + `}`})
		}
		meta, err := contextAsMetadata(e.Context)
		if err != nil {
			return nil, err
		}
		// Milliseconds, as the REST bodies carry them.
		streams[k].Entries = append(streams[k].Entries, push.Entry{Timestamp: e.TS.Truncate(time.Millisecond), Line: e.Message, StructuredMetadata: meta})
	}
	return &lokiPush{streams: streams, entries: len(b.Entries)}, nil
}

// contextAsMetadata is a context object's top-level fields as structured
// metadata: strings as they are, anything else as its JSON text.
func contextAsMetadata(ctx string) (push.LabelsAdapter, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(ctx), &m); err != nil {
		return nil, fmt.Errorf("generated context %q: %w", ctx, err)
	}
	out := make(push.LabelsAdapter, 0, len(m))
	for k, v := range m {
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
		out = append(out, push.LabelAdapter{Name: k, Value: s})
	}
	slices.SortFunc(out, func(a, b push.LabelAdapter) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// body is the push's request body with timestamps shifted by shift.
func (p *lokiPush) body(shift time.Duration) ([]byte, error) {
	streams := make([]push.Stream, len(p.streams))
	for i, s := range p.streams {
		entries := slices.Clone(s.Entries)
		for j := range entries {
			entries[j].Timestamp = entries[j].Timestamp.Add(shift)
		}
		streams[i] = push.Stream{Labels: s.Labels, Entries: entries}
	}
	raw, err := (&push.PushRequest{Streams: streams}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshalling a push: %w", err)
	}
	return snappy.Encode(nil, raw), nil
}

// newLokiSender prepares every batch and returns the sender of the loki
// transport.
func newLokiSender(client *http.Client, t Target, batches []*Batch, col *collector) (func(ctx context.Context, b *Batch, scheduled time.Time), error) {
	pushes := make(map[*Batch]*lokiPush, len(batches))
	for _, b := range batches {
		p, err := newLokiPush(b)
		if err != nil {
			return nil, err
		}
		pushes[b] = p
	}
	var n atomic.Int64
	return func(ctx context.Context, b *Batch, scheduled time.Time) {
		sendLoki(ctx, client, t, b, pushes[b], time.Duration(n.Add(1))*time.Microsecond, scheduled, col)
	}, nil
}

func sendLoki(ctx context.Context, client *http.Client, t Target, b *Batch, p *lokiPush, shift time.Duration, scheduled time.Time, col *collector) {
	body, err := p.body(shift)
	if err != nil {
		col.record(b, 0, "error: "+err.Error(), -1, 0, false, false, false)
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.BaseURL+"/loki/api/v1/push", bytes.NewReader(body))
	if err != nil {
		col.record(b, 0, "error: "+err.Error(), -1, 0, false, false, false)
		return
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.SetBasicAuth("loadgen", t.APIKey) // as Promtail's basic_auth
	res, raw, lat, code, ok := exchange(client, req, b, len(body), scheduled, col)
	if !ok {
		return
	}
	msg := string(bytes.TrimSpace(raw[:min(len(raw), 200)]))
	var rejected, total int64
	switch {
	case res.StatusCode == http.StatusNoContent:
		col.record(b, lat, code, int64(p.entries), len(body), false, false, false)
	case res.StatusCode == http.StatusBadRequest && scanRejected(msg, &rejected, &total):
		// Some entries rejected, the others stored (as Loki answers).
		col.record(b, lat, code+" with rejections: "+msg, total-rejected, len(body), false, false, false)
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable:
		col.record(b, lat, code, -1, len(body), true, res.Header.Get("Retry-After") == "", false)
	default:
		col.record(b, lat, code+": "+msg, -1, len(body), false, false, false)
	}
}

// scanRejected reads "N of M entries were rejected" from a 400 answer.
func scanRejected(msg string, rejected, total *int64) bool {
	_, err := fmt.Sscanf(msg, "%d of %d entries were rejected", rejected, total)
	return err == nil
}
