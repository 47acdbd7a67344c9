package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

func TestDriverLogsCountEntriesAndExitsCleanly(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ServiceName string           `json:"service_name"`
			Logs        []map[string]any `json:"logs"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.ServiceName != "driver-go" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, body.Logs...)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"count":1,"message":"ok","rejected":[],"truncated":0}`)
	}))
	defer srv.Close()
	t.Setenv("DEVSMITH_URL", srv.URL+"/api/logs")
	t.Setenv("DEVSMITH_API_KEY", "dsk_test")
	t.Setenv("DEVSMITH_SERVICE", "driver-go")
	t.Setenv("DRIVER_COUNT", "6")
	t.Setenv("DRIVER_RUN_ID", "r42")
	if err := run(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(got) != 6 {
		t.Fatalf("%d entries", len(got))
	}
	levels := []string{"DEBUG", "INFO", "WARN", "ERROR", "DEBUG", "INFO"}
	for i, e := range got {
		ctx := e["context"].(map[string]any)
		if e["level"] != levels[i] || e["message"] != fmt.Sprintf("driver go r42 %d", i) ||
			ctx["run_id"] != "r42" || ctx["i"].(float64) != float64(i) || ctx["lang"] != "go" {
			t.Fatalf("entry %d: %v", i, e)
		}
	}
}

func TestDriverFailsWhenTheKeyIsRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid API key","code":"UNAUTHENTICATED"}`)
	}))
	defer srv.Close()
	t.Setenv("DEVSMITH_URL", srv.URL+"/api/logs")
	t.Setenv("DEVSMITH_API_KEY", "dsk_wrong")
	t.Setenv("DRIVER_COUNT", "3")
	if err := run(); err == nil {
		t.Fatal("run succeeded although the platform refused the key")
	}
}
