package query

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/ratelimit"
)

// limitKey, called by the authenticator for read keys, holds a project key to its request
// budget and answers a status over it; sessions are not limited.
func TestLimitKeyHoldsReadKeys(t *testing.T) {
	t.Parallel()
	s := New(zap.NewNop(), nil, nil, Config{RateLimit: ratelimit.Config{RequestsPerMinute: 2}})
	ctx := context.Background()
	method := logsv1.QueryService_ListEntries_FullMethodName
	key := &authn.Principal{Kind: authn.KindProject, ProjectID: 7, ProjectSlug: "shop", KeyDigest: authn.Digest("dsk_read")}
	require.NoError(t, s.limitKey(ctx, key))
	require.NoError(t, s.limitKey(ctx, key))
	st := status.Convert(apierr.ToStatus(ctx, zap.NewNop(), method, s.limitKey(ctx, key)))
	require.Equal(t, codes.ResourceExhausted, st.Code(), "as the authenticator answers")
	require.Contains(t, st.Message(), "2 requests a minute")

	user := &authn.Principal{Kind: authn.KindUser, UserID: 1}
	for range 5 {
		require.NoError(t, s.limitKey(ctx, user), "a signed-in user has no key budget")
	}
}
