package authn

import (
	"context"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
)

// RecordKeyUse reports uses of API keys to the projects service
// (IdentityService.RecordKeyUse). Callers batch them (internal/keyuse).
func (ic *IdentityClient) RecordKeyUse(ctx context.Context, uses []*identityv1.KeyUse) error {
	_, err := ic.c.RecordKeyUse(ctx, &identityv1.RecordKeyUseRequest{Uses: uses})
	return err
}
