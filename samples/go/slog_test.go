package logger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestSlogHandlerShipsRecordsWithAttributes(t *testing.T) {
	p := newFakePlatform(t, nil)
	l, _ := newTestLogger(t, p, nil)
	log := slog.New(NewSlogHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug - 4, AddSource: true}))
	log.Log(context.Background(), slog.LevelDebug-4, "trace")
	log.Debug("debug", "n", 1)
	log.Info("info", "user", "bob", slog.Group("req", "method", "GET", "path", "/x"))
	log.Warn("warn", "took", 1500*time.Millisecond)
	log.Error("error", "err", errors.New("boom"))
	log.Log(context.Background(), slog.LevelError+4, "fatal")
	child := log.With("request_id", "r1").WithGroup("db").With("table", "users")
	child.Info("query", "rows", 3)
	log.WithGroup("empty").Info("no attrs")
	mustFlush(t, l)
	es := p.entries()
	if len(es) != 8 {
		t.Fatalf("%d entries: %+v", len(es), es)
	}
	var levels []string
	for _, e := range es {
		levels = append(levels, e.Level+":"+e.Message)
	}
	want := "[TRACE:trace DEBUG:debug INFO:info WARN:warn ERROR:error FATAL:fatal INFO:query INFO:no attrs]"
	if fmt.Sprint(levels) != want {
		t.Fatalf("levels %v", levels)
	}
	if es[1].Context["n"].(float64) != 1 {
		t.Fatalf("debug context %v", es[1].Context)
	}
	req, _ := es[2].Context["req"].(map[string]any)
	if es[2].Context["user"] != "bob" || req["method"] != "GET" || req["path"] != "/x" {
		t.Fatalf("info context %v", es[2].Context)
	}
	if es[3].Context["took"] != "1.5s" || es[4].Context["err"] != "boom" {
		t.Fatalf("contexts %v %v", es[3].Context, es[4].Context)
	}
	if src, _ := es[2].Context["source"].(string); !strings.Contains(src, "slog_test.go:") {
		t.Fatalf("source %q", src)
	}
	db, _ := es[6].Context["db"].(map[string]any)
	if es[6].Context["request_id"] != "r1" || db["table"] != "users" || db["rows"].(float64) != 3 {
		t.Fatalf("query context %v", es[6].Context)
	}
	if _, ok := es[7].Context["empty"]; ok {
		t.Fatalf("an empty group must not appear: %v", es[7].Context)
	}
}

func TestSlogHandlerLevelFilter(t *testing.T) {
	p := newFakePlatform(t, nil)
	l, _ := newTestLogger(t, p, nil)
	log := slog.New(NewSlogHandler(l, nil)) // INFO and up
	log.Debug("hidden")
	log.Info("shown")
	mustFlush(t, l)
	if es := p.entries(); len(es) != 1 || es[0].Message != "shown" {
		t.Fatalf("entries %+v", es)
	}
}
