package projects

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	"github.com/devsmith/logs/internal/apierr"
)

// maxKeyUses bounds one RecordKeyUse call.
const maxKeyUses = 1000

// RecordKeyUse stores the reported uses of keys, one transaction for the
// call: each live key's last_used_at (to the minute, never backwards) and
// address, and a key.new_address audit event, by the key and from that
// address, the first time an address is seen for a key. Ingestion and
// query report a key at most once a minute per replica, or when its
// address changes (internal/keyuse), so this costs nothing per batch.
func (s *identityServer) RecordKeyUse(ctx context.Context, req *identityv1.RecordKeyUseRequest) (*identityv1.RecordKeyUseResponse, error) {
	uses := req.GetUses()
	if len(uses) > maxKeyUses {
		return nil, apierr.Invalidf("uses: at most %d a call, got %d", maxKeyUses, len(uses))
	}
	// Rows are updated in key order, so concurrent reports (ingestion and
	// query, several replicas) never deadlock.
	uses = slices.SortedFunc(slices.Values(uses), func(a, b *identityv1.KeyUse) int { return cmp.Compare(a.GetKeyId(), b.GetKeyId()) })
	var recorded int32
	err := s.store.inTx(ctx, func(tx pgx.Tx) error {
		recorded = 0
		for i, u := range uses {
			if u.GetKeyId() <= 0 {
				return apierr.Invalidf("uses[%d].key_id must be positive", i)
			}
			at := s.now()
			if u.GetUseTime() != nil {
				at = u.GetUseTime().AsTime()
			}
			use := keyUse{KeyID: u.GetKeyId(), Address: truncate(u.GetAddress(), maxAddressLength), Time: at.Truncate(time.Minute)}
			k, found, err := recordKeyUse(ctx, tx, use)
			if err != nil {
				return err
			}
			if !found {
				continue
			}
			recorded++
			if !k.NewAddress || use.Address == "" {
				continue
			}
			actor := auditActor{KeyPrefix: k.Prefix, ClientIP: use.Address}
			if err := recordAudit(ctx, tx, actor, auditEvent{Action: auditKeyNewAddress, ProjectID: k.ProjectID,
				ProjectSlug: k.ProjectSlug, Details: map[string]any{"key_id": use.KeyID, "address": use.Address}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &identityv1.RecordKeyUseResponse{Recorded: recorded}, nil
}

// maxAddressLength bounds a stored client address (an IPv6 address with a
// zone fits).
const maxAddressLength = 64
