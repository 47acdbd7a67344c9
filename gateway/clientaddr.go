package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR
// prefixes ("10.0.0.0/8, 192.168.1.5") into prefixes.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, &net.ParseError{Type: "IP address or CIDR prefix", Text: f}
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// resolveClient makes r.RemoteAddr the client's address, before anything
// reads it (the access log, the x-forwarded-for hop the gateway appends for
// the services, which the projects service's lockout counts and its audit
// trail records). A
// request that comes through a trusted proxy is the proxy speaking for the
// rightmost X-Forwarded-For hop it did not add itself; from anyone else the
// header names nobody, or a client could name a new address on every failed
// sign-in. The header itself goes on untouched: the first-admin setup
// page, open to loopback only, refuses a request that any hop says came
// from elsewhere (a reverse proxy on this machine, say).
func (g *Gateway) resolveClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if client, ok := g.forwardedClient(r); ok {
			r.RemoteAddr = net.JoinHostPort(client.String(), "0")
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedClient walks X-Forwarded-For from the right, past trusted
// proxies, to the first address that is not one. ok is false when the
// direct peer is not a trusted proxy or the header names no address.
func (g *Gateway) forwardedClient(r *http.Request) (client netip.Addr, ok bool) {
	peer, err := netip.ParseAddr(clientIP(r))
	if err != nil || !g.trusted(peer) {
		return netip.Addr{}, false
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// A hop that is no address: what lies left of it cannot be
			// vouched for, so the last good hop is the client.
			return client, ok
		}
		client, ok = a.Unmap(), true
		if !g.trusted(client) {
			return client, true
		}
	}
	return client, ok
}

func (g *Gateway) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range g.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
