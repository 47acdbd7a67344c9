package signature

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func texts(msg string) string {
	var out []string
	toks, _ := Tokenise(msg, nil, nil)
	for _, t := range toks {
		out = append(out, t.Text)
	}
	return strings.Join(out, " ")
}

func TestTokeniseMasksVariables(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, want string }{
		{"integer", "retry 3 of 10", "retry <num> of <num>"},
		{"signed decimal", "offset -12.5 applied", "offset <num> applied"},
		{"size", "wrote 1.5GB", "wrote <num>"},
		{"size apart", "wrote 1.5 GB, free 3 B", "wrote <num> , free <num>"},
		{"time apart", "took 30 ms", "took <num>"},
		{"unit word alone", "size in MB", "size in MB"},
		{"percent", "cpu 93%", "cpu <num>"},
		{"hex prefixed", "at 0x7fed806eb5d", "at <hex>"},
		{"hex bare", "commit 681aa442f6fed7f0", "commit <hex>"},
		{"word of hex letters", "deadbeef accepted", "deadbeef accepted"},
		{"uuid", "job 123e4567-e89b-12d3-a456-426614174000 done", "job <uuid> done"},
		{"ipv4", "from 10.0.0.1", "from <ip>"},
		{"ipv4 port", "to 10.251.73.220:50010", "to <ip>"},
		{"ipv6", "peer 2001:db8::1 up", "peer <ip> up"},
		{"ipv6 bracketed port", "peer [2001:db8::1]:443 up", "peer <ip> up"},
		{"duration ms", "took 30ms", "took <duration>"},
		{"duration s", "took 1.5s", "took <duration>"},
		{"duration compound", "uptime 1h30m", "uptime <duration>"},
		{"path", "open /var/log/app.log failed", "open <path> failed"},
		{"windows path", `load C:\Windows\x.dll`, "load <path>"},
		{"url", "GET https://example.com/a?b=1", "GET <url>"},
		{"key url", "fetch url=https://example.com/x done", "fetch url = <url> done"},
		{"key path", "open file=/etc/hosts", "open file = <path>"},
		{"key email", "notify to=alice@example.org", "notify to = <email>"},
		{"email", "mail alice@example.org sent", "mail <email> sent"},
		{"date", "on 2015-10-18 at 18:01:47,978", "on <time> at <time>"},
		{"iso time", "at 2026-01-02T03:04:05Z", "at <time>"},
		{"quoted", `query "select * from t" slow`, "query <quoted> slow"},
		{"key value", "status=ok code=500 user=bob", "status = <*> code = <num> user = <*>"},
		{"key value ip", "client=2001:db8::1 seen", "client = <ip> seen"},
		{"id with digits", "block blk_-6952295868487656571 served", "block <id> served"},
		{"punctuation split", "pam_unix(sshd:auth): check", "pam_unix ( sshd : auth ) : check"},
		{"brackets", "[client 1.2.3.4] denied", "[ client <ip> ] denied"},
		{"literal that reads as a placeholder", "got <num> literally", "got < num > literally"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, texts(c.in))
		})
	}
}
