package alerts

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// sealer encrypts channel secrets with AES-256-GCM: a random 12-byte nonce
// before the ciphertext, base64. A nil sealer has no key.
type sealer struct{ aead cipher.AEAD }

func newSealer(key string) (*sealer, error) {
	if key == "" {
		return nil, nil
	}
	k, err := parseKey(key)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("making the secrets cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("making the secrets cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	if s == nil {
		return "", errNoSecretsKey
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("drawing a nonce: %w", err)
	}
	return base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plain), nil)), nil
}

func (s *sealer) open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	if s == nil {
		return "", errors.New("opening a channel secret: no secrets key configured")
	}
	b, err := base64.StdEncoding.DecodeString(sealed)
	n := s.aead.NonceSize()
	if err != nil || len(b) < n {
		return "", errors.New("opening a channel secret: not a sealed secret")
	}
	plain, err := s.aead.Open(nil, b[:n], b[n:], nil)
	if err != nil {
		return "", errors.New("opening a channel secret: wrong key or damaged")
	}
	return string(plain), nil
}

// KeyFile returns the secrets key kept in path, making one (32 random
// bytes, base64, mode 0600) when the file does not exist: the all-in-one
// keeps its key in its data folder, so secrets stay readable across
// restarts.
func KeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key := strings.TrimSpace(string(b))
		if _, err := parseKey(key); err != nil {
			return "", fmt.Errorf("secrets key file %s: %w", path, err)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading the secrets key file: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return "", fmt.Errorf("drawing a secrets key: %w", err)
	}
	key := base64.StdEncoding.EncodeToString(k)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("making the secrets key's folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("writing the secrets key file: %w", err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("writing the secrets key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing the secrets key file: %w", err)
	}
	return key, nil
}
