package query

import (
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/devsmith/logs/internal/apierr"
)

// A page token is the position after which the next page starts, the last
// entry's (ts, id), with the hash of the filters it was made for:
//
//	version (1 byte) | ts in Unix microseconds (8) | id (8) | filters hash (8)
//
// base64url without padding. It is opaque to clients; a token whose hash
// differs from the request's filters is refused.
const tokenVersion = 1

type cursor struct {
	ts time.Time
	id int64
}

func encodeToken(c cursor, hash [8]byte) string {
	var b [25]byte
	b[0] = tokenVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(c.ts.UnixMicro()))
	binary.BigEndian.PutUint64(b[9:17], uint64(c.id))
	copy(b[17:], hash[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeToken(tok string, hash [8]byte) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 25 || b[0] != tokenVersion || [8]byte(b[17:25]) != hash {
		return cursor{}, errBadPageToken
	}
	return cursor{
		ts: time.UnixMicro(int64(binary.BigEndian.Uint64(b[1:9]))).UTC(),
		id: int64(binary.BigEndian.Uint64(b[9:17])),
	}, nil
}

// pageSize applies the configured default and cap (AIP-158): 0 is the
// default, more than the cap is the cap, negative is refused.
func (c Config) pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, apierr.Invalidf("page_size must not be negative")
	case n == 0:
		return c.DefaultPageSize, nil
	case int(n) > c.MaxPageSize:
		return c.MaxPageSize, nil
	}
	return int(n), nil
}

// A services page token is the last service of the page, by (project slug,
// name), with the hash of the filters it was made for:
//
//	version (1 byte) | filters hash (8) | slug length (uvarint) | slug | name
//
// base64url without padding, opaque to clients like the entries token.
const serviceTokenVersion = 2

type serviceKey struct {
	slug, name string
}

func encodeServiceToken(k serviceKey, hash [8]byte) string {
	b := make([]byte, 0, 1+8+binary.MaxVarintLen64+len(k.slug)+len(k.name))
	b = append(b, serviceTokenVersion)
	b = append(b, hash[:]...)
	b = binary.AppendUvarint(b, uint64(len(k.slug)))
	b = append(b, k.slug...)
	b = append(b, k.name...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeServiceToken(tok string, hash [8]byte) (serviceKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 1+8 || b[0] != serviceTokenVersion || [8]byte(b[1:9]) != hash {
		return serviceKey{}, errBadPageToken
	}
	n, size := binary.Uvarint(b[9:])
	rest := b[9:]
	if size <= 0 || n > uint64(len(rest)-size) {
		return serviceKey{}, errBadPageToken
	}
	rest = rest[size:]
	return serviceKey{slug: string(rest[:n]), name: string(rest[n:])}, nil
}

// A patterns page token is where the next page starts in the ranking, with
// the end of the range the first page ranked (until defaults to now: the
// later pages rank the same range) and the hash of the filters it was made
// for:
//
//	version (1 byte) | filters hash (8) | until in Unix microseconds (8) | offset (uvarint)
//
// base64url without padding, opaque to clients like the entries token.
const patternTokenVersion = 3

type patternCursor struct {
	until  time.Time
	offset int
}

func encodePatternToken(c patternCursor, hash [8]byte) string {
	b := make([]byte, 0, 1+8+8+binary.MaxVarintLen64)
	b = append(b, patternTokenVersion)
	b = append(b, hash[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.until.UnixMicro()))
	b = binary.AppendUvarint(b, uint64(c.offset))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePatternToken(tok string, hash [8]byte) (patternCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 1+8+8+1 || b[0] != patternTokenVersion || [8]byte(b[1:9]) != hash {
		return patternCursor{}, errBadPageToken
	}
	off, size := binary.Uvarint(b[17:])
	if size <= 0 || 17+size != len(b) || off > maxPatternOffset {
		return patternCursor{}, errBadPageToken
	}
	return patternCursor{
		until:  time.UnixMicro(int64(binary.BigEndian.Uint64(b[9:17]))).UTC(),
		offset: int(off),
	}, nil
}
