package logger

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// SlogHandler is a slog.Handler that ships records through a Logger: the
// record's attributes (groups as nested objects) become the entry's context.
type SlogHandler struct {
	l      *Logger
	opts   slog.HandlerOptions
	attrs  map[string]any // attributes from WithAttrs, already nested by group
	groups []string       // open groups from WithGroup
}

// NewSlogHandler returns a handler for slog.New. opts may be nil (level
// INFO). Levels map to DevSmith levels: below DEBUG is TRACE, DEBUG, INFO,
// WARN, ERROR, and ERROR+4 and above is FATAL.
func NewSlogHandler(l *Logger, opts *slog.HandlerOptions) *SlogHandler {
	h := &SlogHandler{l: l}
	if opts != nil {
		h.opts = *opts
	}
	return h
}

// Enabled reports whether records at level are shipped.
func (h *SlogHandler) Enabled(_ context.Context, level slog.Level) bool {
	min := slog.LevelInfo
	if h.opts.Level != nil {
		min = h.opts.Level.Level()
	}
	return level >= min
}

// Handle ships one record. It never fails.
func (h *SlogHandler) Handle(_ context.Context, r slog.Record) error {
	ctx := cloneMap(h.attrs)
	target := ctx
	if len(h.groups) > 0 {
		target = groupMap(ctx, h.groups)
	}
	r.Attrs(func(a slog.Attr) bool {
		h.addAttr(target, h.groups, a)
		return true
	})
	if h.opts.AddSource && r.PC != 0 {
		frames := runtime.CallersFrames([]uintptr{r.PC})
		f, _ := frames.Next()
		ctx["source"] = fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	pruneEmpty(ctx)
	h.l.LogAt(r.Time, levelName(r.Level), r.Message, ctx)
	return nil
}

// WithAttrs returns a handler whose entries also carry attrs.
func (h *SlogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.attrs = cloneMap(h.attrs)
	target := h2.attrs
	if len(h.groups) > 0 {
		target = groupMap(h2.attrs, h.groups)
	}
	for _, a := range attrs {
		h2.addAttr(target, h.groups, a)
	}
	return &h2
}

// WithGroup returns a handler that nests later attributes under name.
func (h *SlogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.groups = append(append([]string(nil), h.groups...), name)
	return &h2
}

func (h *SlogHandler) addAttr(m map[string]any, groups []string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if h.opts.ReplaceAttr != nil && a.Value.Kind() != slog.KindGroup {
		a = h.opts.ReplaceAttr(groups, a)
		a.Value = a.Value.Resolve()
	}
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		attrs := a.Value.Group()
		if len(attrs) == 0 {
			return
		}
		target := m
		sub := groups
		if a.Key != "" {
			target = groupMap(m, []string{a.Key})
			sub = append(append([]string(nil), groups...), a.Key)
		}
		for _, ga := range attrs {
			h.addAttr(target, sub, ga)
		}
		return
	}
	m[a.Key] = attrValue(a.Value)
}

func attrValue(v slog.Value) any {
	switch v.Kind() {
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return err.Error()
		}
		return v.Any()
	default:
		return v.Any()
	}
}

// groupMap returns the map at path inside m, creating it.
func groupMap(m map[string]any, path []string) map[string]any {
	for _, g := range path {
		sub, ok := m[g].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[g] = sub
		}
		m = sub
	}
	return m
}

// cloneMap copies m and its nested group maps, so handlers never share them.
func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+4)
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = cloneMap(sub)
		}
		out[k] = v
	}
	return out
}

// pruneEmpty removes groups that received no attributes (slog's rule).
func pruneEmpty(m map[string]any) bool {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok && pruneEmpty(sub) {
			delete(m, k)
		}
	}
	return len(m) == 0
}

func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "TRACE"
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARN"
	case l < slog.LevelError+4:
		return "ERROR"
	default:
		return "FATAL"
	}
}
