package query

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/logstore/partition"
	"github.com/devsmith/logs/internal/pgtest"
)

var cluster *pgtest.Cluster

// TestMain checks, once every test has ended and the cluster is stopped,
// that no goroutine is left: the listener, the hub's reader and every tail
// end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.WithCluster(m, &cluster)) }

// Projects of the tests: a member reads alpha and beta (beta deleted: its
// logs stay readable), not gamma.
const (
	alpha = int64(1)
	beta  = int64(2)
	gamma = int64(3)
)

func member() *authn.Principal {
	return &authn.Principal{Kind: authn.KindUser, UserID: 10, Email: "m@example.com", UserRole: "member", Projects: []authn.ProjectAccess{
		{ID: alpha, Slug: "alpha", Role: "owner", IsActive: true},
		{ID: beta, Slug: "beta", Role: "viewer", IsActive: false},
	}}
}

func admin() *authn.Principal {
	return &authn.Principal{Kind: authn.KindUser, UserID: 1, Email: "a@example.com", UserRole: "admin", Projects: []authn.ProjectAccess{
		{ID: alpha, Slug: "alpha", Role: "admin", IsActive: true},
		{ID: beta, Slug: "beta", Role: "admin", IsActive: false},
		{ID: gamma, Slug: "gamma", Role: "admin", IsActive: true},
	}}
}

func loner() *authn.Principal {
	return &authn.Principal{Kind: authn.KindUser, UserID: 20, Email: "l@example.com", UserRole: "member"}
}

func as(p *authn.Principal) context.Context {
	return authn.WithPrincipal(context.Background(), p)
}

// newService gives a service on a fresh database whose partitions cover the
// given days.
func newService(t testing.TB, cfg Config, days ...time.Time) (*Service, *pgxpool.Pool) {
	t.Helper()
	pool := cluster.NewPool(t)
	for _, d := range days {
		require.NoError(t, partition.Create(context.Background(), pool, d))
	}
	var log *zap.Logger
	if tt, ok := t.(*testing.T); ok {
		log = zaptest.NewLogger(tt, zaptest.Level(zap.WarnLevel))
	} else {
		log = zap.NewNop()
	}
	return New(log, pool, nil, cfg), pool
}

type row struct {
	project int64
	ts      time.Time
	service string
	level   int16
	message string
	context string // JSON; "" for {}
}

// insert writes rows with plain SQL and returns their ids.
func insert(t testing.TB, db rowQuerier, rows ...row) []int64 {
	t.Helper()
	ids := make([]int64, len(rows))
	for i, r := range rows {
		c := r.context
		if c == "" {
			c = "{}"
		}
		require.NoError(t, db.QueryRow(context.Background(), `INSERT INTO logs.entries (project_id, ts, service_name, level, message, context)
			VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING id`, r.project, r.ts, r.service, r.level, r.message, c).Scan(&ids[i]))
	}
	return ids
}

// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}

// requireCode asserts the status a client gets for err: a handler called
// directly returns its plain error, which the server's interceptor maps
// with apierr.ToStatus (an error that came through a server is a status
// already, which ToStatus passes through).
func requireCode(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	require.Error(t, err)
	st, ok := status.FromError(apierr.ToStatus(context.Background(), zaptest.NewLogger(t), "/test", err))
	require.True(t, ok, "not a status: %v", err)
	require.Equal(t, code, st.Code(), st.Message())
	if msg != "" {
		require.Equal(t, msg, st.Message())
	}
}
