package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Reconnection delays of the tail (and the send's retries): exponential
// from backoffMin to backoffMax, each drawn with full jitter.
const (
	backoffMin = 250 * time.Millisecond
	backoffMax = 15 * time.Second
	// A connection that lasted this long resets the backoff.
	stableAfter = 10 * time.Second
)

// backoff returns the delay before attempt n (0-based) with full jitter,
// never less than floor (a server's Retry-After).
func backoff(n int, floor time.Duration) time.Duration {
	d := backoffMin << min(n, 10)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	d = d/2 + rand.N(d/2+1)
	return max(d, floor)
}

// sleepCtx waits d or until ctx ends (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// tailState is what a reconnection needs: the last resume token and the
// ids already printed with it. A resumed tail streams that token's whole
// transaction again (docs/api.md), so those ids are dropped once.
type tailState struct {
	token  string
	ids    map[string]bool
	opened bool // a stream was open before: the next one is a reconnection
}

func (s *tailState) seen(tok, id string) bool {
	if tok == "" {
		return false
	}
	if tok != s.token {
		s.token, s.ids = tok, map[string]bool{}
	}
	if s.ids[id] {
		return true
	}
	s.ids[id] = true
	return false
}

func logsTail(ctx context.Context, env Env, args []string) error {
	var c common
	var f filters
	usage := "logs tail [--project P] [--service S] [--level L] [--q TEXT] [--context k=v] [--pattern ID]"
	fs := newFlags("logs tail", &c)
	f.register(fs, false, false)
	pos, err := parse(fs, usage, args, env.Stdout)
	if err != nil {
		return err
	}
	if err := noArgs("logs tail", pos); err != nil {
		return err
	}
	if err := checkOutput(c.output); err != nil {
		return err
	}
	q, err := f.values(env.Now())
	if err != nil {
		return err
	}
	cl, err := sessionClient(env, c)
	if err != nil {
		return err
	}
	pr := newPrinter(env, c.output, len(f.project) != 1)
	pr.header()
	st := &tailState{}
	for attempt := 0; ; {
		start := time.Now()
		err := tailOnce(ctx, env, cl, q, st, pr)
		if ctx.Err() != nil {
			return nil // Ctrl-C: a normal end
		}
		var ae *APIError
		if errors.As(err, &ae) && !ae.retryable() {
			return err // a bad filter, no session, a project not yours
		}
		if errors.Is(err, errPrinting) {
			return err
		}
		if time.Since(start) > stableAfter {
			attempt = 0
		}
		floor := time.Duration(0)
		if ae != nil {
			floor = ae.RetryAfter
		}
		d := backoff(attempt, floor)
		attempt++
		fmt.Fprintf(env.Stderr, "devsmith logs tail: %v; reconnecting in %s\n", tailCause(err), d.Round(10*time.Millisecond))
		if !sleepCtx(ctx, d) {
			return nil
		}
	}
}

var errPrinting = errors.New("writing the output")

func tailCause(err error) string {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the server closed the stream"
	}
	return err.Error()
}

// tailOnce follows one connection until it ends; it returns why.
func tailOnce(ctx context.Context, env Env, cl *client, q map[string][]string, st *tailState, pr *printer) error {
	hdr := http.Header{"Accept": {"text/event-stream"}}
	if st.token != "" {
		hdr.Set("Last-Event-ID", st.token)
	}
	res, err := cl.send(ctx, "GET", "/api/logs/tail", q, nil, hdr)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	stop := context.AfterFunc(ctx, func() { res.Body.Close() })
	defer stop()
	r := bufio.NewReaderSize(res.Body, 64<<10)
	var (
		id, event string
		data      strings.Builder
	)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			return &netError{server: cl.server, err: err}
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if data.Len() == 0 {
				id, event = "", ""
				continue
			}
			if event == "error" {
				var msg string
				if json.Unmarshal([]byte(data.String()), &msg) != nil {
					msg = data.String()
				}
				return fmt.Errorf("the server ended the stream: %s", msg)
			}
			if err := tailEvent(id, []byte(data.String()), st, pr); err != nil {
				return err
			}
			id, event = "", ""
			data.Reset()
		case strings.HasPrefix(line, ":"):
			// Comments: the start marker (said on stderr, so a script or a
			// test knows the tail is in place) and the pings.
			reconnect := st.opened
			c := strings.TrimSpace(line[1:])
			if c == "tail started" || c == "tail resumed" {
				st.opened = true
			}
			switch {
			case c == "tail resumed":
				fmt.Fprintln(env.Stderr, "devsmith logs tail: reconnected; resumed after the last entry")
			case c == "tail started" && !reconnect:
				fmt.Fprintf(env.Stderr, "devsmith logs tail: following %s (Ctrl-C stops)\n", cl.server)
			case c == "tail started" && st.token != "":
				fmt.Fprintln(env.Stderr, "devsmith logs tail: reconnected, but the server could not resume from the last entry; entries in between may be missing")
			case c == "tail started":
				fmt.Fprintln(env.Stderr, "devsmith logs tail: reconnected")
			}
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				id = value
			case "event":
				event = value
			case "data":
				if data.Len() > 0 {
					data.WriteByte('\n')
				}
				data.WriteString(value)
			}
		}
	}
}

func tailEvent(tok string, data []byte, st *tailState, pr *printer) error {
	var e struct {
		ID json.Number `json:"id"`
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return fmt.Errorf("decoding a tail event: %w", err)
	}
	if st.seen(tok, e.ID.String()) {
		return nil
	}
	if err := pr.entry(data); err != nil {
		return fmt.Errorf("%w: %w", errPrinting, err)
	}
	return nil
}
