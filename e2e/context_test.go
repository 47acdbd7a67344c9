package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// exactContext is ingested as written; no float64 holds a, b or c exactly
// (a is 2^53+1, b and c the int64 bounds) and f is beyond every integer type.
const exactContext = `{"a": 9007199254740993, "b": 9223372036854775807, "c": -9223372036854775808, "f": 1.5e300, "s": "x"}`

// contextTokens splits a context object into its values' JSON text, byte for
// byte as received.
func contextTokens(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m), "context %s", raw)
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

// requireExactContext checks the number tokens' text (not what float64
// makes of them). The integers read back as sent; f, which PostgreSQL
// stores as numeric and writes without an exponent, must be the same
// decimal exactly.
func requireExactContext(t *testing.T, via string, raw []byte) {
	t.Helper()
	got := contextTokens(t, raw)
	require.Equal(t, "9007199254740993", got["a"], "%s: 2^53+1", via)
	require.Equal(t, "9223372036854775807", got["b"], "%s: 2^63-1", via)
	require.Equal(t, "-9223372036854775808", got["c"], "%s: -2^63", via)
	require.Equal(t, `"x"`, got["s"], via)
	want, _ := new(big.Rat).SetString("1.5e300")
	f, ok := new(big.Rat).SetString(got["f"])
	require.True(t, ok, "%s: f is %q", via, got["f"])
	require.Zero(t, want.Cmp(f), "%s: f is %q, not 1.5e300 exactly", via, got["f"])
	require.Len(t, got, 5, via)
}

// walkExactContext ingests exactContext and reads it back through REST, the
// SSE tail and gRPC.
func walkExactContext(t *testing.T, pl *platform, slug, key, session string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The tail is open before the entry is sent.
	req, err := http.NewRequestWithContext(ctx, "GET", pl.baseURL+"/api/logs/tail?project="+slug+"&q=exact+digits", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+session)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	nextLine := func(prefix string) string {
		for {
			select {
			case l, ok := <-lines:
				require.True(t, ok, "the tail ended before a line starting %q", prefix)
				if v, found := strings.CutPrefix(l, prefix); found {
					return v
				}
			case <-ctx.Done():
				t.Fatalf("no tail line starting %q within the deadline", prefix)
			}
		}
	}
	require.Equal(t, "started", nextLine(": tail "))

	body := `{"service_name": "digits", "logs": [{"level": "INFO", "message": "exact digits", "context": ` + exactContext + `}]}`
	pl.do(t, "POST", "/api/logs/batch", body, bearer(key)).expect(t, 201)

	var event struct {
		Message string          `json:"message"`
		Context json.RawMessage `json:"context"`
	}
	data := nextLine("data: ")
	require.NoError(t, json.Unmarshal([]byte(data), &event), data)
	require.Equal(t, "exact digits", event.Message)
	requireExactContext(t, "SSE tail", event.Context)

	r := pl.do(t, "GET", "/api/logs/entries?project="+slug+"&q=exact+digits", nil, bearer(session)).expect(t, 200)
	var page struct {
		Entries []struct {
			Context json.RawMessage `json:"context"`
		} `json:"entries"`
	}
	require.NoError(t, json.Unmarshal(r.Raw, &page))
	require.Len(t, page.Entries, 1)
	requireExactContext(t, "REST entries", page.Entries[0].Context)

	conn, err := grpc.NewClient(pl.grpcAddrs["query"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+session)
	list, err := logsv1.NewQueryServiceClient(conn).ListEntries(authed, &logsv1.ListEntriesRequest{Project: []string{slug}, Q: "exact digits"})
	require.NoError(t, err)
	require.Len(t, list.GetEntries(), 1)
	requireExactContext(t, "gRPC ListEntries", []byte(list.GetEntries()[0].GetContextJson()))
	// The REST context is the gRPC context_json, byte for byte.
	require.Equal(t, list.GetEntries()[0].GetContextJson(), string(page.Entries[0].Context))
}
