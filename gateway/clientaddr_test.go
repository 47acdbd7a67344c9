package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolveClient(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 192.168.1.5, fd00::/8")
	require.NoError(t, err)
	tests := []struct {
		name    string
		trusted bool // the gateway trusts the proxies above
		remote  string
		xff     []string
		want    string
	}{
		{name: "direct client", remote: "203.0.113.7:5000", want: "203.0.113.7"},
		{name: "direct client's own header ignored", remote: "203.0.113.7:5000", xff: []string{"198.51.100.1"}, want: "203.0.113.7"},
		{name: "no proxies configured", remote: "10.1.2.3:5000", xff: []string{"198.51.100.1"}, want: "10.1.2.3"},
		{name: "untrusted peer", trusted: true, remote: "203.0.113.7:5000", xff: []string{"198.51.100.1"}, want: "203.0.113.7"},
		{name: "one proxy", trusted: true, remote: "10.1.2.3:5000", xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "client's forged hops left of the real one", trusted: true, remote: "10.1.2.3:5000", xff: []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, want: "198.51.100.1"},
		{name: "chain of proxies", trusted: true, remote: "10.1.2.3:5000", xff: []string{"198.51.100.1, 192.168.1.5", "10.9.9.9"}, want: "198.51.100.1"},
		{name: "only proxies", trusted: true, remote: "10.1.2.3:5000", xff: []string{"10.0.0.1, 10.0.0.2"}, want: "10.0.0.1"},
		{name: "garbage left of a good hop", trusted: true, remote: "10.1.2.3:5000", xff: []string{"unknown, 198.51.100.1"}, want: "198.51.100.1"},
		{name: "garbage hop only", trusted: true, remote: "10.1.2.3:5000", xff: []string{"unknown"}, want: "10.1.2.3"},
		{name: "no header from a proxy", trusted: true, remote: "10.1.2.3:5000", want: "10.1.2.3"},
		{name: "IPv6 proxy and client", trusted: true, remote: "[fd00::1]:5000", xff: []string{"2001:db8::7"}, want: "2001:db8::7"},
		{name: "IPv4-mapped proxy", trusted: true, remote: "[::ffff:10.1.2.3]:5000", xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Gateway{}
			if tt.trusted {
				g.cfg.TrustedProxies = proxies
			}
			var got string
			h := g.resolveClient(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got = clientIP(r)
			}))
			r := httptest.NewRequest(http.MethodPost, "/api/auth/login", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.1.2.3/8 ,, ::1 ")
	require.NoError(t, err)
	require.Equal(t, "[10.0.0.0/8 ::1/128]", fmt.Sprint(got))
	_, err = ParseTrustedProxies("10.0.0.0/8, proxy.local")
	require.EqualError(t, err, "invalid IP address or CIDR prefix: proxy.local")
}
