package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/devsmith/logs/internal/jsontext"
)

// Browser security of the gateway (docs/security.md, Browser): the
// response headers every answer carries, the session and CSRF cookies, and
// the CSRF check of cookie-authenticated writes.

// CSRFCookie carries the CSRF token to the dashboard's script (it is not
// HttpOnly), which echoes it as CSRFHeader on every write.
const (
	CSRFCookie = "devsmith_csrf"
	CSRFHeader = "X-CSRF-Token"
)

// csrfCode is the "code" of a refused cookie-authenticated write.
const csrfCode = "csrf"

// hstsValue is sent when the request came over TLS (or the gateway is told
// it sits behind a TLS-terminating proxy, --secure-cookie): a year.
const hstsValue = "max-age=31536000"

// apiContentSecurityPolicy is for the API's answers (JSON, SSE, text): no
// document of ours is ever rendered from them. The dashboard's HTML sets
// its own, stricter than none but allowing its scripts (gateway/web).
const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

type secureKey struct{}

// isSecure reports whether the request's answer is to be treated as
// HTTPS: the connection is TLS, or --secure-cookie says a proxy in front
// terminates it.
func (g *Gateway) isSecure(r *http.Request) bool { return r.TLS != nil || g.cfg.SecureCookie }

// secureFrom is isSecure of the request whose context ctx is (the
// grpc-gateway handlers' forwardResponse sees the context only).
func secureFrom(ctx context.Context) bool {
	v, _ := ctx.Value(secureKey{}).(bool)
	return v
}

// securityHeaders sets the headers of every answer: no MIME sniffing, no
// framing, the referrer policy, a CSP for non-dashboard answers, HSTS over
// HTTPS. Handlers may replace the CSP (the dashboard's HTML does).
func (g *Gateway) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Content-Security-Policy", apiContentSecurityPolicy)
		secure := g.isSecure(r)
		if secure {
			h.Set("Strict-Transport-Security", hstsValue)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), secureKey{}, secure)))
	})
}

// csrfToken is the CSRF token of a session: derived from the session
// token, so that it needs no storage, holds on every replica, and cannot be
// made by someone who does not hold the session (a cookie planted from a
// sibling domain does not match the session cookie).
func csrfToken(session string) string {
	sum := sha256.Sum256([]byte("devsmith-csrf\x00" + session))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkCSRF refuses a cookie-authenticated write that a browser could
// have been made to send from another site. A write (POST, PUT, PATCH,
// DELETE) whose credential is the session cookie (no Authorization or
// X-API-Key header: a page of another origin cannot set those without a
// CORS preflight, which the gateway never grants) needs an Origin (or,
// without one, a Referer) of this site, and the session's CSRF token in
// X-CSRF-Token. Sign-in and first-admin setup, which carry no session yet,
// need the origin only. Writes with an Authorization or X-API-Key header
// still have a foreign Origin refused, but for the endpoints that take API
// keys only (batch, Loki push, OTLP), which browsers of any site may call.
func (g *Gateway) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/api/logs/batch" || isLokiPath(r) || r.URL.Path == otlpPath {
			next.ServeHTTP(w, r)
			return
		}
		headerAuth := r.Header.Get("Authorization") != "" || r.Header.Get("X-API-Key") != ""
		session, _ := r.Cookie(SessionCookie)
		cookieAuth := !headerAuth && session != nil && session.Value != ""
		origin, from := r.Header.Get("Origin"), "Origin"
		if origin == "" && cookieAuth {
			origin, from = refererOrigin(r.Header.Get("Referer")), "Referer"
		}
		switch {
		case origin != "" && !g.sameSite(r, origin):
			g.refuseCSRF(w, "cross-origin request refused: "+from+" "+origin+" is not this site")
			return
		case !cookieAuth:
			next.ServeHTTP(w, r)
			return
		case origin == "":
			g.refuseCSRF(w, "cookie-authenticated "+r.Method+" refused: the request carries neither Origin nor Referer")
			return
		case r.URL.Path == "/api/auth/login" || r.URL.Path == "/api/auth/setup":
			next.ServeHTTP(w, r)
			return
		}
		got := r.Header.Get(CSRFHeader)
		if got == "" {
			g.refuseCSRF(w, "cookie-authenticated "+r.Method+" refused: the "+CSRFHeader+" header (the "+CSRFCookie+" cookie's value) is missing")
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(session.Value))) != 1 {
			g.refuseCSRF(w, "cookie-authenticated "+r.Method+" refused: the "+CSRFHeader+" header does not match the session (sign in again)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameSite reports whether origin is this site: the configured public URL's
// origin, or without one the request's own scheme and host.
func (g *Gateway) sameSite(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if g.cfg.PublicURL != nil {
		return strings.EqualFold(u.Scheme, g.cfg.PublicURL.Scheme) && strings.EqualFold(u.Host, g.cfg.PublicURL.Host)
	}
	return strings.EqualFold(u.Host, r.Host)
}

func refererOrigin(ref string) string {
	u, err := url.Parse(ref)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (g *Gateway) refuseCSRF(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	b := append([]byte(`{"error":`), jsontext.AppendString(nil, msg)...)
	b = append(b, `,"code":"`+csrfCode+`"}`+"\n"...)
	_, _ = w.Write(b)
}

// setSessionCookies sets the session cookie (HttpOnly) and the session's
// CSRF token cookie (readable by the dashboard's script), both SameSite=Lax
// so that a link from a chat or a mail keeps the session, and Secure over
// HTTPS.
func setSessionCookies(ctx context.Context, w http.ResponseWriter, token string, expires time.Time) {
	secure := secureFrom(ctx)
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure,
	})
	http.SetCookie(w, &http.Cookie{
		Name: CSRFCookie, Value: csrfToken(token), Path: "/", Expires: expires,
		SameSite: http.SameSiteLaxMode, Secure: secure,
	})
}

func clearSessionCookies(ctx context.Context, w http.ResponseWriter) {
	secure := secureFrom(ctx)
	for _, c := range []*http.Cookie{
		{Name: SessionCookie, HttpOnly: true},
		{Name: CSRFCookie},
	} {
		c.Path, c.MaxAge, c.SameSite, c.Secure = "/", -1, http.SameSiteLaxMode, secure
		http.SetCookie(w, c)
	}
}
