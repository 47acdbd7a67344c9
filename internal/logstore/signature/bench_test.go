package signature

import "testing"

// BenchmarkOf is the ingestion path's cost per entry: one op is one
// message's signature.
func BenchmarkOf(b *testing.B) {
	msgs := []string{
		"GET /api/users/8812 200 in 12.5ms",
		"payment 8812 failed: timeout after 30012 ms",
		"Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106 dest: /10.250.19.102:50010",
		"user alice@example.com logged in from 10.0.0.1 session=3f2a9c1e7b",
		"worker 17 finished job 123e4567-e89b-12d3-a456-426614174000 in 1.5s",
		"GET /api/v1/users/107965 completed with status 200 in 303.47ms for user 86965 [trace 30071597548d055d]",
		"processed catalog job e4349aa2363f for tenant 1567: 3206 records written, 46 skipped, queue depth 245 [trace 6515e453f1539081]",
	}
	var h Hasher
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Of(msgs[i%len(msgs)])
	}
}
