package logstore

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// EntryColumns are the columns of logs.entries a reader selects, in the
// order ScanEntry reads them.
const EntryColumns = "project_id, ts, id, service_name, level, message, context, signature, error_fp, sample_rate"

// Columns are every column of logs.entries in table order: what a writer
// supplies for each row (a COPY's column list), in this order.
// retention_days is the entry's retention class (package partition): the
// project's retention in days when it was written, 0 for the platform's
// default; sample_rate is NULL, or the fraction of its kind a sampling rule
// kept (docs/sampling.md).
const Columns = "project_id, ts, id, service_name, level, message, context, received_at, signature, error_fp, retention_days, sample_rate"

// ColumnNames are Columns as a list (for pgx.CopyFrom).
func ColumnNames() []string { return strings.Split(Columns, ", ") }

// EntryColumnsOf is EntryColumns qualified by a table alias: "e.project_id,
// e.ts, ...".
func EntryColumnsOf(alias string) string {
	return alias + "." + strings.ReplaceAll(EntryColumns, ", ", ", "+alias+".")
}

// Entry is one row of logs.entries as a reader reads it (EntryColumns).
type Entry struct {
	ProjectID int64
	TS        time.Time
	ID        int64
	Service   string
	Level     Level
	Message   string
	// Context is the stored jsonb as JSON text: an object.
	Context []byte
	// Signature is the message's signature (package signature).
	Signature int64
	// Pattern is the pattern the entry is in; ScanEntry leaves it 0, and
	// ResolvePatterns sets it.
	Pattern int64
	// ErrorFP is the fingerprint of a WARN, ERROR or FATAL entry (package
	// fingerprint), 0 for other levels and entries stored before migration
	// 0006.
	ErrorFP int64
	// ErrorGroup is the id of the entry's error group (errors.go), 0 when
	// ErrorFP is; ScanEntry leaves it 0, and ResolveErrorGroups sets it.
	ErrorGroup int64
	// SampleRate is the fraction of its kind a sampling rule kept when the
	// entry was stored (it stands for 1/SampleRate entries); nil when it was
	// not sampled.
	SampleRate *float32
}

// ScanEntry reads a row selected with EntryColumns (for pgx.CollectRows).
func ScanEntry(row pgx.CollectableRow) (Entry, error) {
	var e Entry
	err := row.Scan(e.Targets()...)
	return e, err
}

// Targets are the destinations of a row selected with EntryColumns, in
// their order, for a reader that scans more columns than those.
func (e *Entry) Targets() []any {
	return []any{&e.ProjectID, &e.TS, &e.ID, &e.Service, &e.Level, &e.Message, &e.Context, &e.Signature, &e.ErrorFP, &e.SampleRate}
}

// Proto is the entry as the API returns it, in the project named slug; its
// Pattern and ErrorGroup must be resolved (ResolveEntries). The context
// goes out as the jsonb's text as PostgreSQL writes it (pgx hands it over
// unchanged): every digit of a number is kept.
func (e *Entry) Proto(slug string) *logsv1.LogEntry {
	var rate *float64
	if e.SampleRate != nil {
		r := Rate(*e.SampleRate)
		rate = &r
	}
	return &logsv1.LogEntry{
		Id:           e.ID,
		ProjectSlug:  slug,
		ServiceName:  e.Service,
		Timestamp:    timestamppb.New(e.TS),
		Level:        e.Level.String(),
		Message:      e.Message,
		ContextJson:  ContextJSON(e.Context),
		PatternId:    FormatPatternID(e.Pattern),
		ErrorGroupId: FormatErrorGroupID(e.ErrorGroup),
		SampleRate:   rate,
	}
}

// Rate is a sampling rate stored as a real (logs.entries.sample_rate,
// logs.sampling_rules) as the decimal that was stored: 0.1, not
// 0.10000000149011612.
func Rate(f float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return v
}

// ContextJSON is a stored context as the text of a JSON object, unchanged
// when it is one. Ingestion only stores objects; any other value is kept
// under "_value" so that clients always get an object.
func ContextJSON(stored []byte) string {
	switch t := bytes.TrimSpace(stored); {
	case len(t) == 0 || string(t) == "null":
		return "{}"
	case t[0] == '{':
		return string(stored)
	default:
		return `{"_value": ` + string(t) + "}"
	}
}
