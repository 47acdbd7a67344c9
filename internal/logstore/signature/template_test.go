package signature

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTemplate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, in, want string }{
		{"plain", "user logged in", "user logged in"},
		{"numbers", "retry 3 of 10", "retry <num> of <num>"},
		{"spacing collapsed", "  retry\t3   of 10 ", "retry <num> of <num>"},
		{"punctuation kept tight", "pam_unix(sshd:auth): check", "pam_unix(sshd:auth): check"},
		{"key value", "status=ok code=500", "status=<*> code=<num>"},
		{"separated punctuation", "wrote 1.5 GB, free 3 B", "wrote <num>, free <num>"},
		{"brackets", "[client 1.2.3.4] denied", "[client <ip>] denied"},
		{"quoted", `query "select * from t" slow`, "query <quoted> slow"},
		{"empty", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, Template(c.in))
		})
	}
}

// A template holds every masked token, in order, and nothing else but
// single spaces.
func TestTemplateKeepsTokens(t *testing.T) {
	t.Parallel()
	for _, msg := range []string{"retry 3 of 10", "status=ok code=500 user=bob", "open /var/log/app.log failed", "[client 1.2.3.4] denied"} {
		toks, _ := Tokenise(msg, nil, nil)
		var joined string
		for _, tk := range toks {
			joined += tk.Text
		}
		require.Equal(t, joined, strings.ReplaceAll(Template(msg), " ", ""), msg)
	}
}
