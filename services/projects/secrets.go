package projects

import (
	"crypto/rand"
	"crypto/sha256"
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

// digest is the SHA-256 of a key or token, as stored. The secrets carry 256
// random bits, so a fast unsalted digest is as strong as the secret itself
// and can be looked up by index.
func digest(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}
