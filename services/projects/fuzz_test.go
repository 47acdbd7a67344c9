package projects

import (
	"testing"
	"time"
)

// FuzzPageToken: the list endpoints' page-token parser (users, projects,
// members, keys, audit) never panics, refuses what it did not make (a
// non-positive id, text that is not "<micros>.<id>"), and a key it
// accepts encodes to a token that reads back as the same key. (`make
// fuzz`; every go test runs the seeds.)
func FuzzPageToken(f *testing.F) {
	f.Add(encodePageToken(pageKey{T: time.UnixMicro(1764670000123456).UTC(), ID: 42}))
	f.Add(encodePageToken(pageKey{T: time.UnixMicro(-1).UTC(), ID: 1}))
	f.Add("")
	f.Add("MTIz")     // "123": no id
	f.Add("MS4w")     // "1.0": id 0
	f.Add("MS4tMQ\n") // "1.-1", with a newline base64 skips
	f.Fuzz(func(t *testing.T, tok string) {
		k, err := decodePageToken(tok)
		if err != nil || k == nil {
			if tok == "" && (k != nil || err != nil) {
				t.Fatalf("the empty token is the first page: %v, %v", k, err)
			}
			return
		}
		if k.ID <= 0 {
			t.Fatalf("%q: accepted id %d", tok, k.ID)
		}
		back, err := decodePageToken(encodePageToken(*k))
		if err != nil || back == nil || !back.T.Equal(k.T) || back.ID != k.ID {
			t.Fatalf("%q: %+v re-encoded reads %+v, %v", tok, k, back, err)
		}
	})
}
