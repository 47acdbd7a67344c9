package fingerprint

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const nodeStack = "PaymentError: payment 17 failed: timeout after 1119 ms\n" +
	"    at charge (/srv/app/billing.js:16:9)\n" +
	"    at async pay (/srv/app/orders.js:20:3)\n" +
	"    at Layer.handle [as handle_request] (/srv/app/node_modules/express/lib/router/layer.js:95:5)\n" +
	"    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)"

// TestRules: which rule applies, and what it keeps and ignores.
func TestRules(t *testing.T) {
	pay := func(id, ms string) string { return "payment " + id + " failed: timeout after " + ms + " ms" }
	for _, tc := range []struct {
		name   string
		a, b   Input
		same   bool
		source string
	}{{
		name:   "no stack: one signature is one group",
		a:      entry(t, pay("8812", "30012"), nil),
		b:      entry(t, pay("17", "5001"), nil),
		same:   true,
		source: SourceMessage,
	}, {
		name:   "no stack: another exception type is another group",
		a:      entry(t, pay("8812", "30012"), map[string]any{"error_type": "PaymentError"}),
		b:      entry(t, pay("17", "5001"), map[string]any{"error_type": "TimeoutError"}),
		source: SourceMessage,
	}, {
		name:   "no stack: another message shape is another group",
		a:      entry(t, pay("8812", "30012"), nil),
		b:      entry(t, "refund 17 failed: card expired", nil),
		source: SourceMessage,
	}, {
		name:   "client fingerprint wins over the stack",
		a:      entry(t, "a", map[string]any{"fingerprint": []any{"checkout", 3}, "stack": nodeStack}),
		b:      entry(t, "b", map[string]any{"fingerprint": []any{"checkout", 3}, "stack": "TypeError: x\n    at other (/srv/app/other.js:1:1)"}),
		same:   true,
		source: SourceClient,
	}, {
		name:   "client fingerprint: a string",
		a:      entry(t, "a", map[string]any{"fingerprint": "checkout"}),
		b:      entry(t, "b", map[string]any{"fingerprint": []any{"checkout"}}),
		same:   true,
		source: SourceClient,
	}, {
		name:   "client fingerprints differ",
		a:      entry(t, "a", map[string]any{"fingerprint": []any{"checkout", 3}}),
		b:      entry(t, "a", map[string]any{"fingerprint": []any{"checkout", 4}}),
		source: SourceClient,
	}, {
		name:   "client {{ default }} splits the default group",
		a:      entry(t, "a", map[string]any{"fingerprint": []any{"{{ default }}", "eu"}, "stack": nodeStack}),
		b:      entry(t, "a", map[string]any{"fingerprint": []any{"{{ default }}", "us"}, "stack": nodeStack}),
		source: SourceClient,
	}, {
		name:   "empty client fingerprint: ignored",
		a:      entry(t, pay("1", "2"), map[string]any{"fingerprint": ""}),
		b:      entry(t, pay("3", "4"), map[string]any{"fingerprint": []any{}}),
		same:   true,
		source: SourceMessage,
	}, {
		name:   "the message does not count when there is a stack",
		a:      entry(t, "GET /orders/17/pay 500: PaymentError: payment 17 failed", map[string]any{"stack": nodeStack}),
		b:      entry(t, "something else entirely", map[string]any{"stack": strings.ReplaceAll(nodeStack, ":16:9", ":99:1")}),
		same:   true,
		source: SourceStack,
	}, {
		name:   "a stack with no frame falls back to the message",
		a:      entry(t, pay("1", "2"), map[string]any{"stack": "no frames here"}),
		b:      entry(t, pay("3", "4"), nil),
		same:   true,
		source: SourceMessage,
	}, {
		name:   "a stack logged as the message",
		a:      entry(t, nodeStack, nil),
		b:      entry(t, "x", map[string]any{"stack": nodeStack}),
		same:   true,
		source: SourceStack,
	}, {
		name:   "dependency frames do not count",
		a:      entry(t, "x", map[string]any{"stack": nodeStack}),
		b:      entry(t, "x", map[string]any{"stack": strings.ReplaceAll(nodeStack, "layer.js:95:5", "route.js:7:1")}),
		same:   true,
		source: SourceStack,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ra, rb := fp(t, tc.a), fp(t, tc.b)
			require.Equal(t, tc.source, ra.Source)
			require.Equal(t, tc.source, rb.Source)
			require.NotZero(t, ra.Fingerprint)
			if tc.same {
				require.Equal(t, ra.Fingerprint, rb.Fingerprint)
			} else {
				require.NotEqual(t, ra.Fingerprint, rb.Fingerprint)
			}
		})
	}
}

// TestStackKeys: every key that holds a stack, flat or nested, gives the
// stack the same group; Stack returns the text.
func TestStackKeys(t *testing.T) {
	want := fp(t, entry(t, "x", map[string]any{"stack": nodeStack}))
	for _, ctx := range []map[string]any{
		{"error.stack": nodeStack},
		{"error": map[string]any{"stack": nodeStack, "message": "m"}},
		{"err": map[string]any{"stack": nodeStack}},
		{"exception.stacktrace": nodeStack},
		{"exception": map[string]any{"stacktrace": nodeStack}},
		{"exc_info": nodeStack},
		{"traceback": nodeStack},
		{"stacktrace": nodeStack},
		{"stack": strings.Split(nodeStack, "\n")},
		{"stack": strings.SplitAfter(nodeStack, "\n")}, // Python's traceback.format_exception
		{"user": map[string]any{"stack": "not this"}, "stack": nodeStack},
	} {
		in := entry(t, "x", ctx)
		got := fp(t, in)
		require.Equal(t, want.Fingerprint, got.Fingerprint, "%v", ctx)
		require.Equal(t, SourceStack, got.Source)
		require.Equal(t, nodeStack, Stack(in.Context), "%v", ctx)
	}
	require.Equal(t, "", Stack([]byte(`{"stack": 3, "msg": "x"}`)))
	require.Equal(t, "", Stack(nil))
	require.Equal(t, "", Stack([]byte(`not json`)))
}

// TestDescription: exception type, title and culprit.
func TestDescription(t *testing.T) {
	long := strings.Repeat("é", 300)
	for _, tc := range []struct {
		name                string
		in                  Input
		typ, title, culprit string
	}{{
		name:    "node stack",
		in:      entry(t, "GET /orders/17/pay 500: PaymentError: payment 17 failed", map[string]any{"stack": nodeStack}),
		typ:     "PaymentError",
		title:   "PaymentError: payment 17 failed: timeout after 1119 ms",
		culprit: "charge (billing.js)",
	}, {
		name:    "no stack: the context's type and the message without it",
		in:      entry(t, "GET /orders/17/pay 500: PaymentError: payment 17 failed\nsecond line", map[string]any{"error_type": "PaymentError"}),
		typ:     "PaymentError",
		title:   "PaymentError: payment 17 failed",
		culprit: "api",
	}, {
		name:    "no stack: the context's type and message",
		in:      entry(t, "checkout failed", map[string]any{"error": map[string]any{"type": "CardError", "message": "card 4242 declined"}}),
		typ:     "CardError",
		title:   "CardError: card 4242 declined",
		culprit: "api",
	}, {
		name:    "the Python sample logger's exception key",
		in:      entry(t, "charge failed", map[string]any{"exception": "ValueError: bad amount 12"}),
		typ:     "ValueError",
		title:   "ValueError: bad amount 12",
		culprit: "api",
	}, {
		name:    "no type",
		in:      entry(t, "disk almost full: 91%", nil),
		title:   "disk almost full: 91%",
		culprit: "api",
	}, {
		name:    "no in-app frame: all frames count, the culprit is the service",
		in:      entry(t, "x", map[string]any{"stack": "Error: socket hang up\n    at TLSSocket.onHangUp (node:_http_client:1:1)\n    at emit (node:events:2:2)"}),
		typ:     "Error",
		title:   "Error: socket hang up",
		culprit: "api",
	}, {
		name:  "a long title is cut to 200 characters",
		in:    entry(t, long, nil),
		title: strings.Repeat("é", 200), culprit: "api",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := fp(t, tc.in)
			require.Equal(t, tc.typ, r.ExceptionType)
			require.Equal(t, tc.title, r.Title)
			require.Equal(t, tc.culprit, r.Culprit)
		})
	}
}

// TestFrameNormalisation: one frame line of each form, normalised.
func TestFrameNormalisation(t *testing.T) {
	for _, tc := range []struct {
		trace string
		want  []frame
	}{
		{"Error: x\n    at async Promise.all (index 0)\n    at new Order (file:///srv/app/order.mjs:3:9)\n    at Object.<anonymous> (/srv/app/main.js:1:1)",
			[]frame{{"Promise.all", "", false}, {"Order", "order.mjs", true}, {"", "main.js", true}}},
		{"Error: x\n    at eval (eval at compile (/srv/app/tpl.js:10:5), <anonymous>:1:1)\n    at C:\\app\\win.js:4:2\n    at Module._compile (internal/modules/cjs/loader.js:1:1)",
			[]frame{{"eval", "tpl.js", true}, {"", "win.js", true}, {"Module._compile", "loader.js", false}}},
		{"Traceback (most recent call last):\n  File \"/usr/lib/python3/dist-packages/flask/app.py\", line 1, in wsgi_app\n  File \"<frozen importlib._bootstrap>\", line 2, in _load\n  File \"/root/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py\", line 3, in decode\n  File \"/srv/app/views.py\", line 4, in show\nKeyError: 'x'",
			[]frame{{"show", "views.py", true}, {"decode", "decoder.py", false}, {"_load", "<frozen importlib._bootstrap>", false}, {"wsgi_app", "app.py", false}}},
		{"goroutine 7 [running]:\nmain.(*Cart).Item(0xc000010000, {0x5, 0x6})\n\t/srv/app/cart.go:12 +0x1f\ngithub.com/gin-gonic/gin.(*Context).Next(...)\n\t/root/go/pkg/mod/github.com/gin-gonic/gin@v1.10.0/context.go:185\nexample.com/shop/vendor/x.F()\n\t/srv/app/vendor/x/x.go:1 +0x1\nnet/http.(*conn).serve(0xc0001)\n\t/usr/local/go/src/net/http/server.go:2100 +0x2\ncreated by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/net/http/server.go:3285 +0x4b4\n\ngoroutine 8 [select]:\nmain.other()\n\t/srv/app/other.go:1 +0x1",
			[]frame{{"main.(*Cart).Item", "cart.go", true}, {"github.com/gin-gonic/gin.(*Context).Next", "context.go", false}, {"example.com/shop/vendor/x.F", "x.go", false}, {"net/http.(*conn).serve", "server.go", false}, {"net/http.(*Server).Serve", "server.go", false}}},
		{"java.lang.RuntimeException: x\n\tat app//com.acme.Svc$$Lambda$14/0x0000000800c03000.accept(Unknown Source)\n\tat kotlin.collections.CollectionsKt.forEach(Iterables.kt:1)\n\tat com.acme.Native.call(Native Method)\n\tSuppressed: java.lang.Exception: y\n\t\tat com.acme.Closer.close(Closer.java:3)\n\tat com.acme.Main.main(Main.kt:9)",
			[]frame{{"com.acme.Svc$$Lambda.accept", "", true}, {"kotlin.collections.CollectionsKt.forEach", "Iterables.kt", false}, {"com.acme.Native.call", "", true}, {"com.acme.Main.main", "Main.kt", true}}},
	} {
		var f Fingerprinter
		f.parse(tc.trace)
		require.Equal(t, tc.want, f.frames, tc.trace)
	}
}
