package logger

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakePlatform stands in for POST /api/logs/batch on 127.0.0.1:0.
type fakePlatform struct {
	t       *testing.T
	srv     *httptest.Server
	URL     string
	mu      sync.Mutex
	reqs    []fakeRequest
	respond func(r fakeRequest, n int) fakeAnswer
	changed chan struct{}
}

type fakeRequest struct {
	Path   string
	Header http.Header
	Raw    []byte
	Body   fakeBatch
	At     time.Time
	Status int // -1: connection dropped
}

type fakeBatch struct {
	ProjectSlug string      `json:"project_slug"`
	ServiceName string      `json:"service_name"`
	BatchID     string      `json:"batch_id"`
	Logs        []fakeEntry `json:"logs"`
}

type fakeEntry struct {
	Timestamp string         `json:"timestamp"`
	Level     string         `json:"level"`
	Message   string         `json:"message"`
	Context   map[string]any `json:"context"`
}

type fakeAnswer struct {
	status int
	body   any
	header map[string]string
	drop   bool
}

func ok201() fakeAnswer { return fakeAnswer{status: http.StatusCreated} }

func newFakePlatform(t *testing.T, respond func(r fakeRequest, n int) fakeAnswer) *fakePlatform {
	t.Helper()
	if respond == nil {
		respond = func(fakeRequest, int) fakeAnswer { return ok201() }
	}
	p := &fakePlatform{t: t, respond: respond, changed: make(chan struct{}, 1)}
	p.srv = httptest.NewServer(http.HandlerFunc(p.handle))
	t.Cleanup(p.srv.Close)
	p.URL = p.srv.URL + "/api/logs"
	return p
}

func (p *fakePlatform) handle(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, _ := io.ReadAll(body)
	req := fakeRequest{Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw, At: time.Now()}
	if err := json.Unmarshal(raw, &req.Body); err != nil {
		p.t.Errorf("fake platform: body is not JSON: %v", err)
	}
	p.mu.Lock()
	n := len(p.reqs)
	p.mu.Unlock()
	ans := p.respond(req, n)
	if ans.drop {
		req.Status = -1
		p.record(req)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	req.Status = ans.status
	p.record(req) // before answering: a client that has the answer finds the request
	if ans.body == nil {
		ans.body = map[string]any{"count": len(req.Body.Logs), "message": "ok", "rejected": []any{}, "truncated": 0}
	}
	for k, v := range ans.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ans.status)
	_ = json.NewEncoder(w).Encode(ans.body)
}

func (p *fakePlatform) record(r fakeRequest) {
	p.mu.Lock()
	p.reqs = append(p.reqs, r)
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

func (p *fakePlatform) requests() []fakeRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]fakeRequest(nil), p.reqs...)
}

func (p *fakePlatform) accepted() []fakeRequest {
	var out []fakeRequest
	for _, r := range p.requests() {
		if r.Status >= 200 && r.Status < 300 {
			out = append(out, r)
		}
	}
	return out
}

func (p *fakePlatform) entries() []fakeEntry {
	var out []fakeEntry
	for _, r := range p.accepted() {
		out = append(out, r.Body.Logs...)
	}
	return out
}

// waitFor returns once pred holds, re-checking on every request; fails the test after timeout.
func (p *fakePlatform) waitFor(pred func() bool, timeout time.Duration) {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !pred() {
		select {
		case <-p.changed:
		case <-deadline.C:
			p.t.Fatalf("timed out after %v; %d requests seen", timeout, len(p.requests()))
		}
	}
}

func newHTTPServer(f http.HandlerFunc) *httptest.Server { return httptest.NewServer(f) }
