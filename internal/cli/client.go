package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultServer is the server when neither --server, DEVSMITH_SERVER nor
// a saved session names one.
const DefaultServer = "http://localhost:3000"

// requestTimeout bounds every request but the tail's stream.
const requestTimeout = 60 * time.Second

// APIError is an error answer of the API: its status, its gRPC code name
// and its message (passed on to the user as sent).
type APIError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s (HTTP %d %s)", e.Message, e.Status, code)
}

func (e *APIError) exitCode() int {
	switch {
	case e.Status == http.StatusUnauthorized:
		return ExitAuth
	case e.Status >= 500:
		return ExitUnavailable
	default:
		return ExitFailed
	}
}

// retryable: rate limited, overloaded or failing on the server's side.
func (e *APIError) retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// netError is a request that got no answer (refused, reset, timed out).
type netError struct {
	server string
	err    error
}

func (e *netError) Error() string {
	return fmt.Sprintf("cannot reach %s: %v", e.server, e.err)
}

func (e *netError) Unwrap() error { return e.err }

// client talks to one server with one credential.
type client struct {
	http   *http.Client
	server string // base URL without a trailing slash
	auth   string // Authorization header value, "" for none
}

// resolveServer: --server, DEVSMITH_SERVER, the saved session's, the default.
func resolveServer(env Env, c common, saved *credentials) (string, error) {
	s := c.server
	if s == "" {
		s = env.get("DEVSMITH_SERVER")
	}
	if s == "" && saved != nil {
		s = saved.Server
	}
	if s == "" {
		s = DefaultServer
	}
	return normalizeServer(s)
}

func normalizeServer(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageErr("server %q is not an http(s) URL", s)
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}

// sessionClient is a client authenticated as a user: --token or
// DEVSMITH_TOKEN, else the saved session if it belongs to the same server.
func sessionClient(env Env, c common) (*client, error) {
	saved, err := loadCredentials(env)
	if err != nil {
		return nil, err
	}
	server, err := resolveServer(env, c, saved)
	if err != nil {
		return nil, err
	}
	tok := c.token
	if tok == "" {
		tok = env.get("DEVSMITH_TOKEN")
	}
	if tok == "" {
		switch {
		case saved == nil:
			return nil, failErr(ExitAuth, "not signed in: run `devsmith login --server %s` (or set DEVSMITH_TOKEN)", server)
		case saved.Server != server:
			// Never send a session to another server than it came from.
			return nil, failErr(ExitAuth, "not signed in to %s (the saved session is for %s): run `devsmith login --server %s`", server, saved.Server, server)
		case !saved.Expiry.IsZero() && env.Now().After(saved.Expiry):
			return nil, failErr(ExitAuth, "the session for %s expired at %s: run `devsmith login`", server, saved.Expiry.Format(time.RFC3339))
		}
		tok = saved.Token
	}
	return &client{http: env.HTTP, server: server, auth: "Bearer " + tok}, nil
}

// do sends a JSON request and decodes a 2xx JSON answer into out (if not
// nil); other answers become an *APIError, no answer a *netError.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding the request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	res, err := c.send(ctx, method, path, query, rd, nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return &netError{server: c.server, err: fmt.Errorf("reading the answer: %w", err)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding the answer of %s %s: %w", method, path, err)
	}
	return nil
}

// send makes one request and returns a 2xx answer for the caller to read
// and close; any other answer is read and returned as an *APIError.
func (c *client) send(ctx context.Context, method, path string, query url.Values, body io.Reader, hdr http.Header) (*http.Response, error) {
	u := c.server + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, usageErr("bad request URL %q: %v", u, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.auth != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", c.auth)
	}
	req.Header.Set("User-Agent", "devsmith-cli/"+Version())
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return nil, ctx.Err()
		}
		return nil, &netError{server: c.server, err: unwrapURLError(err)}
	}
	if res.StatusCode/100 == 2 {
		return res, nil
	}
	defer res.Body.Close()
	return nil, readAPIError(res)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func readAPIError(res *http.Response) *APIError {
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	e := &APIError{Status: res.StatusCode}
	var body struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Error != "" {
		e.Message, e.Code = body.Error, body.Code
	} else {
		e.Message = strings.TrimSpace(string(raw))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "..."
		}
		if e.Message == "" {
			e.Message = http.StatusText(res.StatusCode)
		}
	}
	if s := res.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		} else if t, err := http.ParseTime(s); err == nil {
			e.RetryAfter = time.Until(t)
		}
	}
	return e
}
