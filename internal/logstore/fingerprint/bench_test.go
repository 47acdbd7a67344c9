package fingerprint

import (
	"encoding/json"
	"testing"

	"github.com/devsmith/logs/internal/logstore/signature"
)

const goPanic = "goroutine 42 [running]:\nruntime/debug.Stack()\n\t/usr/local/go/src/runtime/debug/stack.go:26 +0x5e\n" +
	"github.com/devsmith/logs/samples/gin/ginlog.Middleware.func1.1()\n\t/srv/app/ginlog/ginlog.go:96 +0x4e\n" +
	"panic({0x9f1b20?, 0xc0002a4010?})\n\t/usr/local/go/src/runtime/panic.go:860 +0x13a\n" +
	"main.chargeCard(0xc0001b2000, 0x1d)\n\t/srv/app/main.go:41 +0x10e\n" +
	"main.run.func3(0xc0001b2000)\n\t/srv/app/main.go:60 +0x49\n" +
	"github.com/gin-gonic/gin.(*Context).Next(...)\n\t/root/go/pkg/mod/github.com/gin-gonic/gin@v1.10.0/context.go:185\n" +
	"github.com/devsmith/logs/samples/gin/ginlog.Middleware.func1(0xc0001b2000)\n\t/srv/app/ginlog/ginlog.go:103 +0x9a\n" +
	"github.com/gin-gonic/gin.(*Context).Next(...)\n\t/root/go/pkg/mod/github.com/gin-gonic/gin@v1.10.0/context.go:185\n" +
	"github.com/gin-gonic/gin.(*Engine).handleHTTPRequest(0xc0000a2000, 0xc0001b2000)\n\t/root/go/pkg/mod/github.com/gin-gonic/gin@v1.10.0/gin.go:633 +0x892\n" +
	"github.com/gin-gonic/gin.(*Engine).ServeHTTP(0xc0000a2000, {0xb2c4f0, 0xc0001c0000}, 0xc0001b4000)\n\t/root/go/pkg/mod/github.com/gin-gonic/gin@v1.10.0/gin.go:589 +0x1b2\n" +
	"net/http.serverHandler.ServeHTTP({0xc0001a8000?}, {0xb2c4f0?, 0xc0001c0000?}, 0x6?)\n\t/usr/local/go/src/net/http/server.go:3301 +0x8e\n" +
	"net/http.(*conn).serve(0xc0001a6000, {0xb2d1a8, 0xc0001a4000})\n\t/usr/local/go/src/net/http/server.go:2102 +0x625\n" +
	"created by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/net/http/server.go:3454 +0x485\n"

// BenchmarkCompute is the cost of one WARN/ERROR entry's fingerprint, as
// the ingestion service pays it, for entries as the sample middleware
// sends them.
func BenchmarkCompute(b *testing.B) {
	mk := func(msg string, ctx map[string]any) Input {
		c, _ := json.Marshal(ctx)
		var h signature.Hasher
		return Input{Message: msg, Context: c, Signature: h.Of(msg), Service: "api"}
	}
	base := map[string]any{"method": "GET", "path": "/orders/17/pay", "status": 500, "duration_ms": 12.5, "request_id": "8f14e45f-ceea-467f-a0e6-000000000017"}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	for _, bc := range []struct {
		name string
		in   Input
	}{
		{"node", mk("GET /orders/17/pay 500: PaymentError: payment 17 failed: timeout after 1119 ms",
			with("error", "payment 17 failed: timeout after 1119 ms", "error_type", "PaymentError", "stack", nodeStack+
				"\n    at next (/srv/app/node_modules/express/lib/router/route.js:149:13)\n    at Route.dispatch (/srv/app/node_modules/express/lib/router/route.js:119:3)"+
				"\n    at Layer.handle [as handle_request] (/srv/app/node_modules/express/lib/router/layer.js:95:5)\n    at /srv/app/node_modules/express/lib/router/index.js:284:15"))},
		{"go-panic", mk("GET /orders/17/pay 500: panic: payment 17 failed: timeout after 1119 ms",
			with("error", "payment 17 failed: timeout after 1119 ms", "error_type", "*main.PaymentError", "stack", goPanic))},
		{"no-stack", mk("payment 17 failed: timeout after 1119 ms", base)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var f Fingerprinter
			b.SetBytes(int64(len(bc.in.Context)))
			b.ReportAllocs()
			for b.Loop() {
				if r := f.Compute(bc.in); r.Fingerprint == 0 {
					b.Fatal(r)
				}
			}
		})
	}
}
