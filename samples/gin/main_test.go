package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppServesAndFlushesOnShutdown(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	var service string
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ServiceName string           `json:"service_name"`
			Logs        []map[string]any `json:"logs"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		service = body.ServiceName
		got = append(got, body.Logs...)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"count":1,"message":"ok","rejected":[],"truncated":0}`))
	}))
	defer platform.Close()
	t.Setenv("DEVSMITH_URL", platform.URL+"/api/logs")
	t.Setenv("DEVSMITH_API_KEY", "dsk_app")
	t.Setenv("DEVSMITH_SERVICE", "gin-test")
	t.Setenv("PORT", "0")

	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(a string) { addr <- a }) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("app did not start")
	}
	for path, want := range map[string]int{"/": 200, "/error": 500, "/health": 200, "/orders/17/pay": 500, "/users/3": 500} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", path, res.StatusCode, want)
		}
	}
	cancel() // what SIGTERM does through signal.NotifyContext
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("app did not stop")
	}
	mu.Lock()
	defer mu.Unlock()
	byPath := map[string]map[string]any{}
	for _, e := range got {
		if ctx, ok := e["context"].(map[string]any); ok {
			if p, ok := ctx["path"].(string); ok {
				byPath[p] = e
			}
		}
	}
	if service != "gin-test" || len(byPath) != 4 || byPath["/"]["level"] != "INFO" || byPath["/error"]["level"] != "ERROR" {
		t.Fatalf("service %q entries %v", service, got)
	}
	// The failing routes: their own exception types, their stacks through
	// their own functions.
	for path, want := range map[string][2]string{"/orders/17/pay": {"*main.PaymentError", ".chargeCard("}, "/users/3": {"runtime.plainError", ".loadUser("}} {
		ctx := byPath[path]["context"].(map[string]any)
		if byPath[path]["level"] != "ERROR" || ctx["error_type"] != want[0] || !strings.Contains(ctx["stack"].(string), want[1]) {
			t.Fatalf("%s: %v", path, byPath[path])
		}
	}
	if msg, _ := byPath["/orders/17/pay"]["message"].(string); !strings.HasPrefix(msg, "GET /orders/17/pay 500: panic: payment 17 failed: timeout after ") {
		t.Fatalf("message %q", msg)
	}
	if stack := byPath["/error"]["context"].(map[string]any)["stack"].(string); !strings.Contains(stack, "main.go") {
		t.Fatalf("stack %q", stack)
	}
}
