package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"time"
)

// API is a small REST client for setting up a run.
type API struct {
	BaseURL string
	Token   string // session token
	HTTP    *http.Client
}

// NewAPI returns a client of baseURL.
func NewAPI(baseURL string) *API {
	return &API{BaseURL: baseURL, HTTP: &http.Client{Timeout: 2 * time.Minute}}
}

func (a *API) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	res, err := a.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading answer: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, res.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decoding answer: %w", method, path, err)
		}
	}
	return nil
}

// Login signs in and keeps the session token.
func (a *API) Login(ctx context.Context, email, password string) error {
	var out struct {
		Token string `json:"token"`
	}
	if err := a.do(ctx, "POST", "/api/auth/login", map[string]string{"email": email, "password": password}, &out); err != nil {
		return err
	}
	a.Token = out.Token
	return nil
}

// WaitReady polls /readyz until it answers 200.
func (a *API) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if err := a.do(ctx, "GET", "/readyz", nil, nil); err == nil {
			return nil
		} else if ctx.Err() != nil {
			return fmt.Errorf("platform not ready: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Project is a created project.
type Project struct {
	ID     int64  `json:"project_id"`
	Slug   string `json:"slug"`
	APIKey string `json:"api_key"`
}

// CreateProject creates a project and returns its API key.
func (a *API) CreateProject(ctx context.Context, name, slug string) (*Project, error) {
	var p Project
	if err := a.do(ctx, "POST", "/api/logs/projects", map[string]string{"name": name, "slug": slug}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Get reads path into out.
func (a *API) Get(ctx context.Context, path string, q url.Values, out any) error {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return a.do(ctx, "GET", path, nil, out)
}

// CountRun counts a project's entries whose context has "run" = runID,
// through the query API (an exact count).
func (a *API) CountRun(ctx context.Context, slug, runID string) (int64, error) {
	return a.Count(ctx, url.Values{"project": {slug}, "context.run": {runID}})
}

// Count is the exact number of entries matching the filters q, through
// the query API.
func (a *API) Count(ctx context.Context, q url.Values) (int64, error) {
	var out struct {
		TotalSize json.Number `json:"total_size"`
		Exact     bool        `json:"total_size_exact"`
	}
	q = maps.Clone(q)
	q.Set("page_size", "1")
	if err := a.Get(ctx, "/api/logs/entries", q, &out); err != nil {
		return 0, err
	}
	if !out.Exact {
		return 0, fmt.Errorf("the count of %s is not exact", q.Encode())
	}
	return out.TotalSize.Int64()
}
