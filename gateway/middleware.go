package gateway

import (
	"bufio"
	"compress/gzip"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
)

// statusRecorder remembers the status and size of a response for the access
// log. It keeps http.Flusher working for the SSE tail.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := s.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// accessLog writes one line per request. It logs the path without the query
// and no headers, so no key, token or password can reach the log.
func (g *Gateway) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		g.tel.observe(r, rec.status, time.Since(start))
		g.log.Info("http request",
			zap.String("method", r.Method),
			zap.String("path", r.URL.Path),
			zap.Int("status", rec.status),
			zap.Int64("bytes", rec.bytes),
			zap.Duration("duration", time.Since(start)),
			zap.String("remote", clientIP(r)),
		)
	})
}

func (g *Gateway) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				g.log.Error("handler panicked", zap.String("path", r.URL.Path), zap.Any("panic", v), zap.Stack("stack"))
				writeErrorBody(w, http.StatusInternalServerError, codes.Internal, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds request bodies to MaxBodyBytes after decompression and
// decompresses gzip bodies. Its errors are plain text on the Loki push path
// (as Loki answers), JSON elsewhere.
func (g *Gateway) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		fail := writeErrorBody
		if isLokiPath(r) {
			fail = func(w http.ResponseWriter, httpStatus int, _ codes.Code, msg string) {
				writeLokiText(w, httpStatus, msg)
			}
		}
		if r.ContentLength > g.cfg.MaxBodyBytes {
			fail(w, http.StatusRequestEntityTooLarge, codes.ResourceExhausted, tooLargeMessage(g.cfg.MaxBodyBytes))
			return
		}
		body := io.ReadCloser(http.MaxBytesReader(w, r.Body, g.cfg.MaxBodyBytes))
		switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); {
		case enc == "" || enc == "identity":
		case enc == "snappy" && isLokiPath(r):
			// Loki's clients may say so of their snappy protobuf; the
			// handler decompresses it.
		case enc == "gzip" || enc == "x-gzip":
			zr, err := gzip.NewReader(body)
			if err != nil {
				fail(w, http.StatusBadRequest, codes.InvalidArgument, "body is not valid gzip: "+err.Error())
				return
			}
			body = readCloser{Reader: http.MaxBytesReader(w, zr, g.cfg.MaxBodyBytes), Closer: r.Body}
			r.Header.Del("Content-Encoding")
			r.ContentLength = -1
		default:
			fail(w, http.StatusUnsupportedMediaType, codes.InvalidArgument, "Content-Encoding "+enc+" is not supported; send identity or gzip")
			return
		}
		r.Body = body
		next.ServeHTTP(w, r)
	})
}

type readCloser struct {
	io.Reader
	io.Closer
}

func tooLargeMessage(limit int64) string {
	return "request body exceeds the limit of " + humanBytes(limit) + " (after decompression)"
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoa(n>>10) + " KiB"
	}
	return itoa(n) + " bytes"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
