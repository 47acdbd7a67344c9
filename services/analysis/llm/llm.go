// Package llm writes the summary of an analysis with a language model
// behind an OpenAI-compatible chat completions API (POST
// {URL}/v1/chat/completions, Authorization: Bearer <key>). The model is
// shown the report — counts, templates and a few example messages — never
// raw logs beyond those examples, and everything it is shown is redacted
// first (Redact: emails, IPs, API keys, bearer tokens, passwords, long hex
// and base64). The call has its own timeout and reads a bounded answer;
// any failure is the caller's cue to use its own summary.
package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/durationflag"
)

// Bounds of one call.
const (
	defaultTimeout = 15 * time.Second
	// maxResponseBytes bounds the answer read from the provider.
	maxResponseBytes = 1 << 20
	// MaxSummaryRunes caps the summary kept from the answer.
	MaxSummaryRunes = 2000
	// maxTokens asks the model for a short answer.
	maxTokens = 400
)

// Config names the model. Without URL and Model the summaries are the
// report's own.
type Config struct {
	// URL is the API's base: "https://host" or "https://host/v1" (either:
	// the client posts to <base>/v1/chat/completions).
	URL string
	// Model is the model's name as the API knows it.
	Model string
	// APIKey is sent as a bearer token (none when empty); it is never
	// logged.
	APIKey string
	// Timeout bounds one call, the answer read included.
	Timeout time.Duration
}

// RegisterFlags declares the settings on fs, with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "llm-url", "", "base URL of an OpenAI-compatible API (with or without /v1) that writes the analysis summary; empty: the summary is built from the report")
	fs.StringVar(&c.Model, "llm-model", "", "model name for --llm-url")
	fs.StringVar(&c.APIKey, "llm-api-key", "", "API key for --llm-url, sent as a bearer token")
	durationflag.Var(fs, &c.Timeout, "llm-timeout", defaultTimeout, "deadline of one summary by the language model (then the report's own summary is used)")
}

// String writes the settings without the API key (whether one is set).
func (c Config) String() string {
	return fmt.Sprintf("llm.Config{URL: %q, Model: %q, APIKey: %s, Timeout: %s}", c.URL, c.Model, keyState(c.APIKey), c.Timeout)
}

// MarshalLogObject logs the settings without the API key.
func (c Config) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("url", c.URL)
	enc.AddString("model", c.Model)
	enc.AddString("api_key", keyState(c.APIKey))
	enc.AddDuration("timeout", c.Timeout)
	return nil
}

func keyState(k string) string {
	if k == "" {
		return "unset"
	}
	return "set"
}

// Enabled tells whether a model is configured (URL and Model set).
func (c Config) Enabled() bool { return c.URL != "" && c.Model != "" }

// Validate checks the settings as given.
func (c Config) Validate() error {
	var errs []error
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("--llm-url: want an http or https URL"))
		}
		if c.Model == "" {
			errs = append(errs, errors.New("--llm-model: required with --llm-url"))
		}
	} else if c.Model != "" || c.APIKey != "" {
		errs = append(errs, errors.New("--llm-url: required with --llm-model or --llm-api-key"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--llm-timeout %s: must be positive", durationflag.Format(c.Timeout)))
	}
	return errors.Join(errs...)
}

// endpoint is the chat completions URL of base.
func endpoint(base string) string {
	base = strings.TrimRight(base, "/")
	if strings.HasSuffix(base, "/v1") {
		return base + "/chat/completions"
	}
	return base + "/v1/chat/completions"
}

// Client calls the model. Safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint string
	http     *http.Client
	log      *zap.Logger
}

// ErrDisabled is the answer of a nil Client.
var ErrDisabled = errors.New("no language model is configured")

// New returns a client for cfg, or nil when cfg is not Enabled (a nil
// Client answers ErrDisabled).
func New(cfg Config, log *zap.Logger) *Client {
	if !cfg.Enabled() {
		return nil
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	return &Client{cfg: cfg, endpoint: endpoint(cfg.URL), http: &http.Client{}, log: log}
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model       string    `json:"model"`
	Messages    []message `json:"messages"`
	MaxTokens   int       `json:"max_tokens"`
	Temperature float64   `json:"temperature"`
}

type chatResponse struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
}

// Summarize asks the model for a short plain-language account of res's
// report, under the client's timeout (and ctx). The answer is trimmed and
// capped at MaxSummaryRunes.
func (c *Client) Summarize(ctx context.Context, res *logsv1.AnalyzeLogsResponse) (string, error) {
	if c == nil {
		return "", ErrDisabled
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	body, err := json.Marshal(chatRequest{
		Model: c.cfg.Model,
		Messages: []message{
			{Role: "system", Content: systemPrompt},
			{Role: "user", Content: Prompt(res)},
		},
		MaxTokens: maxTokens,
	})
	if err != nil {
		return "", fmt.Errorf("encoding the request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The error names the URL, never the headers.
		return "", fmt.Errorf("calling the language model: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading the language model's answer: %w", err)
	}
	if len(data) > maxResponseBytes {
		return "", fmt.Errorf("the language model's answer is over %d bytes", maxResponseBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the language model answered %s", resp.Status)
	}
	var cr chatResponse
	if err := json.Unmarshal(data, &cr); err != nil {
		return "", fmt.Errorf("decoding the language model's answer: %w", err)
	}
	if len(cr.Choices) == 0 {
		return "", errors.New("the language model's answer has no choices")
	}
	text := capRunes(strings.TrimSpace(cr.Choices[0].Message.Content), MaxSummaryRunes)
	if text == "" {
		return "", errors.New("the language model's answer is empty")
	}
	return text, nil
}

func capRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
