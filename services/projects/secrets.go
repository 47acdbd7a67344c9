package projects

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/devsmith/logs/internal/authn"
)

// newSecret returns 32 random bytes, base64url without padding: the body of
// session tokens and API keys.
func newSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// newAPIKey returns a project API key ("dsk_" + 32 random bytes) and the
// SHA-256 digest that is all the database keeps of it.
func newAPIKey() (key string, hash []byte, err error) {
	s, err := newSecret()
	if err != nil {
		return "", nil, fmt.Errorf("making API key: %w", err)
	}
	key = authn.APIKeyPrefix + s
	return key, digest(key), nil
}

// newSessionToken returns a session token and its SHA-256 digest.
func newSessionToken() (token string, hash []byte, err error) {
	token, err = newSecret()
	if err != nil {
		return "", nil, fmt.Errorf("making session token: %w", err)
	}
	return token, digest(token), nil
}

// digest is authn.Digest as the bytea the database stores.
func digest(secret string) []byte {
	sum := authn.Digest(secret)
	return sum[:]
}
