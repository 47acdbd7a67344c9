// Package loadgen drives DevSmith Logs for benchmarks: it starts the
// all-in-one platform (or targets a running one), sends realistic batches
// over REST or gRPC at full speed, at a fixed rate or above capacity, measures
// the raw PostgreSQL COPY ceiling against the same database, seeds large
// data sets directly, and times the dashboard's queries.
package loadgen

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/jsontext"
)

// Entry is one generated log entry.
type Entry struct {
	TS      time.Time
	Level   string
	Service string
	Message string
	Context string // a JSON object
}

// Shape says what generated entries look like.
type Shape struct {
	// RunID goes into every context as "run", so a run's entries can be
	// counted afterwards.
	RunID string
	// Services are the service names batches rotate through.
	Services []string
}

var (
	paths    = []string{"/api/v1/orders", "/api/v1/users", "/api/v1/cart/items", "/api/v1/payments", "/api/v1/search", "/healthz", "/api/v1/inventory", "/api/v1/sessions"}
	methods  = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	statuses = []int{200, 200, 200, 200, 201, 204, 304, 400, 404, 500}
	hosts    = []string{"db-primary.internal:5432", "redis-cache-01.internal:6379", "payments.stripe.com:443", "search-2.internal:9200"}
	words    = []string{"checkout", "invoice", "shipment", "customer", "session", "report", "webhook", "export", "refund", "catalog"}
)

// levelOf draws a level with a realistic mix: mostly INFO, some DEBUG, a
// few WARN and ERROR, rare FATAL.
func levelOf(r *rand.Rand) string {
	switch n := r.IntN(1000); {
	case n < 150:
		return "DEBUG"
	case n < 850:
		return "INFO"
	case n < 940:
		return "WARN"
	case n < 998:
		return "ERROR"
	default:
		return "FATAL"
	}
}

// messageOf draws a message of about 112 bytes on average (88 bytes of
// text in five shapes, then a trace id). About one in 50
// messages mentions a timeout (the text the query benchmark searches for).
func messageOf(r *rand.Rand, level string) string {
	b := make([]byte, 0, 160)
	switch k := r.IntN(50); {
	case k == 0:
		b = append(b, "upstream request to "...)
		b = append(b, hosts[r.IntN(len(hosts))]...)
		b = append(b, " failed: context deadline exceeded (timeout after "...)
		b = strconv.AppendInt(b, int64(1000+r.IntN(9000)), 10)
		b = append(b, "ms), attempt "...)
		b = strconv.AppendInt(b, int64(1+r.IntN(3)), 10)
	case k < 30 || level == "DEBUG":
		b = append(b, methods[r.IntN(len(methods))]...)
		b = append(b, ' ')
		b = append(b, paths[r.IntN(len(paths))]...)
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(r.IntN(1_000_000)), 10)
		b = append(b, " completed with status "...)
		b = strconv.AppendInt(b, int64(statuses[r.IntN(len(statuses))]), 10)
		b = append(b, " in "...)
		b = strconv.AppendFloat(b, float64(r.IntN(50000))/100, 'f', 2, 64)
		b = append(b, "ms for user "...)
		b = strconv.AppendInt(b, int64(r.IntN(100_000)), 10)
	case k < 42:
		b = append(b, "processed "...)
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, " job "...)
		b = appendHex(b, r, 12)
		b = append(b, " for tenant "...)
		b = strconv.AppendInt(b, int64(r.IntN(5000)), 10)
		b = append(b, ": "...)
		b = strconv.AppendInt(b, int64(r.IntN(5000)), 10)
		b = append(b, " records written, "...)
		b = strconv.AppendInt(b, int64(r.IntN(50)), 10)
		b = append(b, " skipped, queue depth "...)
		b = strconv.AppendInt(b, int64(r.IntN(300)), 10)
	default:
		b = append(b, "cache miss for key "...)
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, ':')
		b = appendHex(b, r, 16)
		b = append(b, "; loaded from "...)
		b = append(b, hosts[r.IntN(len(hosts))]...)
		b = append(b, " in "...)
		b = strconv.AppendInt(b, int64(r.IntN(900)), 10)
		b = append(b, "ms (size "...)
		b = strconv.AppendInt(b, int64(r.IntN(64_000)), 10)
		b = append(b, " bytes)"...)
	}
	// A trace id, as structured loggers add: brings the mean to ~112 bytes,
	// the shape of issue 4's measurements.
	b = append(b, " [trace "...)
	b = appendHex(b, r, 16)
	b = append(b, ']')
	return string(b)
}

// contextOf draws a context of about 70 bytes.
func contextOf(r *rand.Rand, run string) string {
	b := make([]byte, 0, 96)
	b = append(b, `{"request_id":"`...)
	b = appendHex(b, r, 16)
	b = append(b, `","user_id":`...)
	b = strconv.AppendInt(b, int64(r.IntN(100_000)), 10)
	if run != "" {
		b = append(b, `,"run":`...)
		b = strconv.AppendQuote(b, run)
	} else {
		b = append(b, `,"region":"eu-west-1"`...)
	}
	b = append(b, '}')
	return string(b)
}

func appendHex(b []byte, r *rand.Rand, n int) []byte {
	const hex = "0123456789abcdef"
	for range n {
		b = append(b, hex[r.IntN(16)])
	}
	return b
}

// batchErrorShare is the share of a batch's ERROR and FATAL entries that
// are failing requests with a stack (errorEntryOf): few enough to keep
// issue 4's entry shape.
const batchErrorShare = 0.1

// NewEntry draws one entry at ts.
func (s Shape) NewEntry(r *rand.Rand, ts time.Time) Entry {
	lvl := levelOf(r)
	svc := s.Services[r.IntN(len(s.Services))]
	if q, ok := requestOf(r, svc, lvl); ok {
		return Entry{TS: ts, Level: lvl, Service: svc, Message: q.message(), Context: q.context(r, s.RunID)}
	}
	msg, ctx := entryOf(r, lvl, s.RunID, batchErrorShare)
	return Entry{TS: ts, Level: lvl, Service: svc, Message: msg, Context: ctx}
}

// Batch is one pre-encoded request.
type Batch struct {
	Service string
	Entries []Entry
	JSON    []byte // the REST body
	Gzip    []byte // the REST body gzip'd (when asked for)
	// GzipTail is JSON without its opening brace, gzip'd, for bodies that
	// start with a batch_id (Body).
	GzipTail []byte
	Proto    *logsv1.IngestStreamRequest
}

// NewBatches draws n batches of size entries each, timestamped around now.
func (s Shape) NewBatches(seed uint64, n, size int, gz bool) []*Batch {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	now := time.Now()
	out := make([]*Batch, n)
	for i := range out {
		svc := s.Services[i%len(s.Services)]
		b := &Batch{Service: svc, Entries: make([]Entry, size)}
		for j := range b.Entries {
			e := s.NewEntry(r, now.Add(-time.Duration(r.IntN(5000))*time.Millisecond))
			e.Service = svc
			b.Entries[j] = e
		}
		b.JSON = b.encodeJSON()
		if gz {
			b.Gzip = gzipBytes(b.JSON)
			b.GzipTail = gzipBytes(b.JSON[1:])
		}
		b.Proto = b.toProto()
		out[i] = b
	}
	return out
}

// encodeJSON writes the batch as the sample loggers do.
func (b *Batch) encodeJSON() []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"service_name":`)
	q, _ := json.Marshal(b.Service)
	buf.Write(q)
	buf.WriteString(`,"logs":[`)
	for i, e := range b.Entries {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"timestamp":"`)
		buf.WriteString(e.TS.UTC().Format("2006-01-02T15:04:05.000Z"))
		buf.WriteString(`","level":"`)
		buf.WriteString(e.Level)
		buf.WriteString(`","message":`)
		m, _ := json.Marshal(e.Message)
		buf.Write(m)
		buf.WriteString(`,"context":`)
		buf.WriteString(e.Context)
		buf.WriteByte('}')
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

func (b *Batch) toProto() *logsv1.IngestStreamRequest {
	req := &logsv1.IngestStreamRequest{ServiceName: b.Service, Logs: make([]*logsv1.LogInput, len(b.Entries))}
	for i, e := range b.Entries {
		req.Logs[i] = &logsv1.LogInput{
			Timestamp:   e.TS.UTC().Format("2006-01-02T15:04:05.000Z"),
			Level:       e.Level,
			Message:     e.Message,
			ContextJson: e.Context,
		}
	}
	return req
}

// newGzipPool returns a pool of gzip writers for Body (a gzip.Writer holds
// a few hundred kB of state: reused, not made per request).
func newGzipPool() *sync.Pool {
	return &sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}
}

// Body is the REST body of the batch, gzip'd when gz is not nil (a pool
// from newGzipPool), carrying batchID when it is not empty, as the sample
// loggers send it (`{"batch_id":"...",` + the rest). A gzip body may be
// several gzip members (RFC 1952 §2.2): the batch_id's head compressed per
// request, then the rest compressed ahead of time.
func (b *Batch) Body(gz *sync.Pool, batchID string) []byte {
	if batchID == "" {
		if gz != nil {
			return b.Gzip
		}
		return b.JSON
	}
	head := `{"batch_id":"` + batchID + `",`
	if gz == nil {
		out := make([]byte, 0, len(head)+len(b.JSON)-1)
		return append(append(out, head...), b.JSON[1:]...)
	}
	var buf bytes.Buffer
	zw := gz.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write([]byte(head))
	_ = zw.Close()
	gz.Put(zw)
	return append(buf.Bytes(), b.GzipTail...)
}

// StreamRequest is the batch as one message of IngestStream, carrying
// batchID when it is not empty.
func (b *Batch) StreamRequest(batchID string) *logsv1.IngestStreamRequest {
	if batchID == "" {
		return b.Proto
	}
	return &logsv1.IngestStreamRequest{ServiceName: b.Proto.GetServiceName(), Logs: b.Proto.GetLogs(), BatchId: batchID}
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// PayloadBytes is the message and context bytes of the batch: the
// "MB/s" of a report counts these (the log data, not the JSON around it).
func (b *Batch) PayloadBytes() int {
	n := 0
	for _, e := range b.Entries {
		n += len(e.Message) + len(e.Context)
	}
	return n
}

// A few code paths that fail, as the sample middleware logs them: the
// message, the exception type and a stack in the context (Node-, Python-
// and Go-like), with the ids, numbers and line numbers (by release) that
// vary between occurrences of one path. Each path is one error group per
// project (docs/errors.md); the last has no stack and is grouped by its
// message's signature.
var releases = []string{"v1.4.0", "v1.4.1", "v1.5.0"}

// errorEntryOf draws a failing request's message and context: one of the
// code paths above, in one of the releases (which moves its line numbers).
func errorEntryOf(r *rand.Rand, run string) (msg, ctx string) {
	rel := r.IntN(len(releases))
	ln := func(base int) string { return strconv.Itoa(base + 3*rel) }
	id := strconv.Itoa(r.IntN(1_000_000))
	var typ, stack, route string
	var m []byte
	switch r.IntN(6) {
	case 0:
		ms := strconv.Itoa(1000 + r.IntN(29000))
		typ, route = "PaymentError", "/api/v1/payments"
		m = append(m, "payment "+id+" failed: timeout after "+ms+" ms"...)
		stack = "PaymentError: " + string(m) +
			"\n    at chargeCard (/srv/shop/billing.js:" + ln(41) + ":11)" +
			"\n    at async processOrder (/srv/shop/orders.js:" + ln(88) + ":5)" +
			"\n    at async /srv/shop/routes.js:" + ln(17) + ":7" +
			"\n    at Layer.handle [as handle_request] (/srv/shop/node_modules/express/lib/router/layer.js:95:5)" +
			"\n    at next (/srv/shop/node_modules/express/lib/router/route.js:149:13)"
	case 1:
		typ, route = "TypeError", "/api/v1/users"
		m = append(m, "Cannot read properties of undefined (reading 'email')"...)
		stack = "TypeError: " + string(m) +
			"\n    at loadUser (/srv/shop/users.js:" + ln(23) + ":20)" +
			"\n    at /srv/shop/routes.js:" + ln(31) + ":18" +
			"\n    at Layer.handle [as handle_request] (/srv/shop/node_modules/express/lib/router/layer.js:95:5)" +
			"\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)"
	case 2:
		typ, route = "KeyError", "/api/v1/cart/items"
		m = append(m, "'sku-"+id+"'"...)
		stack = "Traceback (most recent call last):" +
			"\n  File \"/usr/lib/python3/dist-packages/flask/app.py\", line 1484, in full_dispatch_request\n    rv = self.dispatch_request()" +
			"\n  File \"/srv/cart/views.py\", line " + ln(52) + ", in add_item\n    reserve_stock(item)" +
			"\n  File \"/srv/cart/inventory.py\", line " + ln(19) + ", in reserve_stock\n    level = STOCK[item[\"sku\"]]" +
			"\nKeyError: " + string(m) + "\n"
	case 3:
		typ, route = "psycopg2.OperationalError", "/api/v1/reports"
		m = append(m, "connection to server at \"10.0.3."+strconv.Itoa(r.IntN(250))+"\", port 5432 failed: timeout expired"...)
		stack = "Traceback (most recent call last):" +
			"\n  File \"/srv/reports/jobs.py\", line " + ln(77) + ", in fetch_report\n    conn = psycopg2.connect(DSN)" +
			"\n  File \"/usr/lib/python3/dist-packages/psycopg2/__init__.py\", line 122, in connect\n    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)" +
			"\npsycopg2.OperationalError: " + string(m) + "\n"
	case 4:
		n := r.IntN(8)
		typ, route = "runtime.boundsError", "/api/v1/cart/items"
		m = append(m, "runtime error: index out of range ["+strconv.Itoa(n+2)+"] with length "+strconv.Itoa(n+1)...)
		stack = "goroutine " + strconv.Itoa(1+r.IntN(5000)) + " [running]:" +
			"\nmain.(*Cart).Item(...)\n\t/srv/cart/cart.go:" + ln(64) +
			"\nmain.handleCart({0xb2c4f0, 0xc0001c0000}, 0xc0001b4000)\n\t/srv/cart/handlers.go:" + ln(112) + " +0x1d3" +
			"\nnet/http.HandlerFunc.ServeHTTP(0xc0001a8000?, {0xb2c4f0?, 0xc0001c0000?}, 0x6?)\n\t/usr/local/go/src/net/http/server.go:2220 +0x29" +
			"\nnet/http.(*conn).serve(0xc0001a6000, {0xb2d1a8, 0xc0001a4000})\n\t/usr/local/go/src/net/http/server.go:2102 +0x625" +
			"\ncreated by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/net/http/server.go:3454 +0x485\n"
	default:
		typ, route = "context.deadlineExceededError", "/api/v1/inventory"
		m = append(m, "upstream request to "+hosts[r.IntN(len(hosts))]+" failed: context deadline exceeded (after "+strconv.Itoa(1000+r.IntN(9000))+"ms)"...)
	}
	msg = "GET " + route + "/" + id + " 500: " + typ + ": " + string(m)
	b := make([]byte, 0, 96+len(stack)+len(m))
	b = append(b, `{"request_id":"`...)
	b = appendHex(b, r, 16)
	b = append(b, `","path":`...)
	b = jsontext.AppendString(b, route+"/"+id)
	b = append(b, `,"status":500,"release":"`...)
	b = append(b, releases[rel]...)
	b = append(b, `","error_type":`...)
	b = jsontext.AppendString(b, typ)
	b = append(b, `,"error":`...)
	b = jsontext.AppendString(b, string(m))
	if stack != "" {
		b = append(b, `,"stack":`...)
		b = jsontext.AppendString(b, stack)
	}
	if run != "" {
		b = append(b, `,"run":`...)
		b = strconv.AppendQuote(b, run)
	}
	b = append(b, '}')
	return msg, string(b)
}

// entryOf draws an entry's message and context at level; errorShare of
// its ERROR and FATAL entries are failing requests (errorEntryOf).
func entryOf(r *rand.Rand, level, run string, errorShare float64) (msg, ctx string) {
	if (level == "ERROR" || level == "FATAL") && r.Float64() < errorShare {
		return errorEntryOf(r, run)
	}
	return messageOf(r, level), contextOf(r, run)
}
