package ingestion

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// batch_id dedup: a batch whose id was committed before (or came earlier
// in the group) gets the first answer and writes nothing (dedupSQL and
// firstResponseSQL, store.go).

type dedupKey struct {
	project int64
	batchID string
}

// dedupPlan is a group's batch_ids to record: the first batch of each id
// (its leader) and the arguments of dedupSQL.
type dedupPlan struct {
	leaders  map[dedupKey]*batch
	inserted map[dedupKey]bool
	pids     []int64
	bids     []string
	resps    []string
}

// planDedup finds the group's batch_ids, or returns nil when it has none. A
// batch whose id arrives a second time in the group is not written and gets
// the first one's answer. Inserts go in key order, so two writers never
// wait on each other's ids in opposite orders.
func planDedup(group []*batch) *dedupPlan {
	var d *dedupPlan
	for _, b := range group {
		if b.batchID == "" {
			continue
		}
		k := dedupKey{b.projectID, b.batchID}
		if d == nil {
			d = &dedupPlan{leaders: make(map[dedupKey]*batch)}
		}
		if l, ok := d.leaders[k]; ok {
			b.dupOf, b.write = l, false
			continue
		}
		d.leaders[k] = b
		d.pids, d.bids, d.resps = append(d.pids, b.projectID), append(d.bids, b.batchID), append(d.resps, b.outJSON)
	}
	return d
}

// readInserted reads which batch_ids dedupSQL recorded: the others were
// committed before.
func (d *dedupPlan) readInserted(rows pgx.Rows) error {
	d.inserted = make(map[dedupKey]bool, len(d.leaders))
	var k dedupKey
	_, err := pgx.ForEachRow(rows, []any{&k.project, &k.batchID}, func() error {
		d.inserted[k] = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording batch ids: %w", err)
	}
	return nil
}

// firstResponses gives each batch whose id was committed before the answer
// stored with it (and writes nothing of it), and each in-group duplicate
// its leader's answer.
func (w *writer) firstResponses(ctx context.Context, conn *pgx.Conn, d *dedupPlan, group []*batch) error {
	if len(d.inserted) < len(d.leaders) {
		var pids []int64
		var bids []string
		for k, l := range d.leaders {
			if !d.inserted[k] {
				l.write = false
				pids, bids = append(pids, k.project), append(bids, k.batchID)
			}
		}
		rows, err := conn.Query(ctx, firstResponseSQL, pids, bids)
		if err != nil {
			return fmt.Errorf("reading first responses: %w", err)
		}
		var k dedupKey
		var resp string
		found := 0
		_, err = pgx.ForEachRow(rows, []any{&k.project, &k.batchID, &resp}, func() error {
			l := d.leaders[k]
			if l == nil {
				return nil
			}
			var first outcome
			if err := json.Unmarshal([]byte(resp), &first); err != nil {
				return fmt.Errorf("decoding first response of a batch: %w", err)
			}
			if first.Rejected == nil {
				first.Rejected = []rejection{}
			}
			l.pending = &first
			found++
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading first responses: %w", err)
		}
		if found < len(pids) {
			return fmt.Errorf("reading first responses: %d of %d batch ids vanished", len(pids)-found, len(pids))
		}
	}
	for _, b := range group {
		if b.dupOf != nil {
			b.pending = b.dupOf.pending
		}
	}
	return nil
}
