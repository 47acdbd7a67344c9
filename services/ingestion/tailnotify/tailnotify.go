// Package tailnotify is the contract between the ingestion service, which
// announces committed entries, and the query service's live tail, which
// follows them: the PostgreSQL NOTIFY channel and its payload.
//
// Within one transaction the ingestion service sends, per project it wrote
// to, one notification whose ranges cover every entry of that project written
// by the transaction: MinID <= id <= MaxID and MinTS <= ts <= MaxTS.
// PostgreSQL delivers notifications only when the transaction commits, so a
// listener never hears of rows it cannot read yet. Ranges of concurrent
// transactions may overlap and commit out of order; ids inside a range are
// not contiguous (other transactions' ids may fall between them).
package tailnotify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Channel is the NOTIFY channel: LISTEN devsmith_entries.
const Channel = "devsmith_entries"

// Payload announces the entries of one project written by one transaction.
type Payload struct {
	ProjectID int64     `json:"project_id"`
	MinID     int64     `json:"min_id"`
	MaxID     int64     `json:"max_id"`
	MinTS     time.Time `json:"min_ts"` // RFC 3339 with nanoseconds, UTC
	MaxTS     time.Time `json:"max_ts"`
}

// Encode returns the payload's JSON text, as sent with pg_notify.
func Encode(p Payload) string {
	return string(AppendEncode(make([]byte, 0, 160), p))
}

// AppendEncode appends the payload's JSON text to dst.
func AppendEncode(dst []byte, p Payload) []byte {
	dst = append(dst, `{"project_id":`...)
	dst = strconv.AppendInt(dst, p.ProjectID, 10)
	dst = append(dst, `,"min_id":`...)
	dst = strconv.AppendInt(dst, p.MinID, 10)
	dst = append(dst, `,"max_id":`...)
	dst = strconv.AppendInt(dst, p.MaxID, 10)
	dst = append(dst, `,"min_ts":"`...)
	dst = p.MinTS.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","max_ts":"`...)
	dst = p.MaxTS.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `"}`...)
	return dst
}

// Decode parses a notification's payload.
func Decode(s string) (Payload, error) {
	var p Payload
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return Payload{}, fmt.Errorf("decoding %s payload: %w", Channel, err)
	}
	if p.ProjectID == 0 || p.MinID > p.MaxID || p.MinTS.After(p.MaxTS) {
		return Payload{}, fmt.Errorf("decoding %s payload: incomplete or inverted ranges", Channel)
	}
	return p, nil
}
