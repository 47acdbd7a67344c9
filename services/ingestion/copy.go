package ingestion

import (
	"encoding/binary"
	"io"
	"math"
)

// A group's rows as COPY binary data (copySQL, store.go): no text parsing
// of numbers and timestamps on the server, and no per-value encoding plans
// on ours.

// pgEpochMicros is 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in
// Unix microseconds.
const pgEpochMicros = 946_684_800_000_000

// copyHeader is the signature, no flags and no header extension.
const copyHeader = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// copyReader streams the rows of a group as COPY binary data, encoding them
// a chunk at a time into a reused buffer.
type copyReader struct {
	group   []*batch
	bi, ri  int
	buf     []byte
	off     int
	started bool
	ended   bool
}

func (c *copyReader) reset(group []*batch) {
	c.group, c.bi, c.ri, c.off, c.started, c.ended = group, 0, 0, 0, false, false
	c.buf = c.buf[:0]
}

const copyChunk = 64 << 10

func (c *copyReader) Read(p []byte) (int, error) {
	for c.off == len(c.buf) {
		if c.ended {
			return 0, io.EOF
		}
		c.fill()
	}
	n := copy(p, c.buf[c.off:])
	c.off += n
	return n, nil
}

func (c *copyReader) fill() {
	buf := c.buf[:0]
	c.off = 0
	if !c.started {
		buf = append(buf, copyHeader...)
		c.started = true
	}
	for len(buf) < copyChunk && c.bi < len(c.group) {
		b := c.group[c.bi]
		if !b.write || c.ri >= len(b.rows) {
			c.bi, c.ri = c.bi+1, 0
			continue
		}
		buf = appendCopyRow(buf, b, &b.rows[c.ri])
		c.ri++
	}
	if c.bi == len(c.group) {
		buf = binary.BigEndian.AppendUint16(buf, 0xFFFF) // trailer: -1
		c.ended = true
	}
	c.buf = buf
}

// appendCopyRow appends one tuple in COPY binary format, its fields in
// logstore.Columns order.
func appendCopyRow(buf []byte, b *batch, r *row) []byte {
	be := binary.BigEndian
	buf = be.AppendUint16(buf, 12) // fields
	buf = be.AppendUint32(buf, 8)
	buf = be.AppendUint64(buf, uint64(b.projectID))
	buf = be.AppendUint32(buf, 8)
	buf = be.AppendUint64(buf, uint64(r.ts-pgEpochMicros))
	buf = be.AppendUint32(buf, 8)
	buf = be.AppendUint64(buf, uint64(r.id))
	buf = be.AppendUint32(buf, uint32(len(b.service)))
	buf = append(buf, b.service...)
	buf = be.AppendUint32(buf, 2)
	buf = be.AppendUint16(buf, uint16(r.level))
	buf = be.AppendUint32(buf, uint32(len(r.msg)))
	buf = append(buf, r.msg...)
	buf = be.AppendUint32(buf, uint32(1+r.contextLen()))
	buf = append(buf, 1) // jsonb format version
	buf = r.appendContext(buf, b.arena)
	buf = be.AppendUint32(buf, 8)
	buf = be.AppendUint64(buf, uint64(b.receivedAt-pgEpochMicros))
	buf = be.AppendUint32(buf, 8)
	buf = be.AppendUint64(buf, uint64(r.sig))
	buf = be.AppendUint32(buf, 8)
	buf = be.AppendUint64(buf, uint64(r.fp))
	buf = be.AppendUint32(buf, 2)
	buf = be.AppendUint16(buf, uint16(b.class))
	if r.rate == 0 {
		buf = be.AppendUint32(buf, 0xFFFFFFFF) // NULL: not sampled
	} else {
		buf = be.AppendUint32(buf, 4)
		buf = be.AppendUint32(buf, math.Float32bits(r.rate))
	}
	return buf
}
