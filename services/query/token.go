package query

import (
	"encoding/base64"
	"encoding/binary"
	"time"
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
