// Package pgtest gives tests a real PostgreSQL: one embedded server per test
// binary (or the server named by DEVSMITH_TEST_DATABASE_URL), and a fresh
// database with every migration applied for each test that asks. Under
// Main and WithCluster the server starts when a test first asks for a
// database, so a run that needs none (a fuzz target's, or -run of tests
// without one) does not wait for it.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/devsmith/logs/internal/pgembed"
	"github.com/devsmith/logs/migrations"
)

// Cluster is a PostgreSQL server that tests create databases on.
type Cluster struct {
	adminDSN string // maintenance database
	baseDSN  string // DSN without dbname
	srv      *pgembed.Server
	dir      string
	seq      atomic.Int64

	// lazy clusters (WithCluster) start on first use.
	lazy     bool
	once     sync.Once
	startErr error
}

const template = "devsmith_test_template"

// Start starts the cluster and prepares a template database with the
// migrations applied. Call it from TestMain and Stop it afterwards.
func Start() (*Cluster, error) {
	c := &Cluster{}
	if err := c.start(); err != nil {
		return nil, err
	}
	return c, nil
}

// ready starts a lazy cluster on first use; tb fails when it cannot.
func (c *Cluster) ready(tb testing.TB) {
	tb.Helper()
	if !c.lazy {
		return
	}
	c.once.Do(func() { c.startErr = c.start() })
	if c.startErr != nil {
		tb.Fatalf("pgtest: %v", c.startErr)
	}
}

func (c *Cluster) start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if url := os.Getenv("DEVSMITH_TEST_DATABASE_URL"); url != "" {
		c.adminDSN = url
	} else {
		dir, err := os.MkdirTemp("", "devsmith-pgtest-")
		if err != nil {
			return fmt.Errorf("creating temp dir: %w", err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return fmt.Errorf("opening temp dir to the server's user: %w", err)
		}
		c.dir = dir
		srv, err := pgembed.Start(ctx, zap.NewNop(), pgembed.Config{DataDir: dir})
		if err != nil {
			return err
		}
		c.srv = srv
		c.adminDSN = srv.AdminDSN()
	}
	cfg, err := pgx.ParseConfig(c.adminDSN)
	if err != nil {
		return fmt.Errorf("parsing test database URL: %w", err)
	}
	c.baseDSN = fmt.Sprintf("host=%s port=%d user=%s password=%s sslmode=disable", cfg.Host, cfg.Port, cfg.User, cfg.Password)
	if err := c.createTemplate(ctx); err != nil {
		c.stopServer()
		return err
	}
	return nil
}

// Main runs a package's tests against a cluster: use it as TestMain's body.
func Main(m *testing.M, c **Cluster) { os.Exit(WithCluster(m, c).Run()) }

// WithCluster is m with the cluster started before its tests (into *c) and
// stopped after them: goleak.VerifyTestMain(pgtest.WithCluster(m, &cluster))
// then checks for leaked goroutines once the cluster is gone.
func WithCluster(m *testing.M, c **Cluster) interface{ Run() int } {
	return clusterRun{m: m, c: c}
}

type clusterRun struct {
	m *testing.M
	c **Cluster
}

func (r clusterRun) Run() int {
	cl := &Cluster{lazy: true}
	*r.c = cl
	code := r.m.Run()
	cl.Stop()
	return code
}

func (c *Cluster) createTemplate(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.adminDSN)
	if err != nil {
		return fmt.Errorf("connecting to test server: %w", err)
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+template)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+template); err != nil {
		return fmt.Errorf("creating template database: %w", err)
	}
	pool, err := pgxpool.New(ctx, c.DSN(template))
	if err != nil {
		return fmt.Errorf("connecting to template: %w", err)
	}
	defer pool.Close()
	if err := migrations.Apply(ctx, pool); err != nil {
		return fmt.Errorf("migrating template: %w", err)
	}
	return nil
}

// DSN names one database of the cluster (one a test got from NewDatabase,
// or "postgres").
func (c *Cluster) DSN(db string) string { return c.baseDSN + " dbname=" + db }

// NewDatabase creates an empty, migrated database for one test, dropped when
// the test ends, and returns its DSN.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	c.ready(t)
	ctx := context.Background()
	name := fmt.Sprintf("t_%d_%d_%s", os.Getpid(), c.seq.Add(1), sanitize(t.Name()))
	conn, err := pgx.Connect(ctx, c.adminDSN)
	if err != nil {
		t.Fatalf("connecting to test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, c.adminDSN)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return c.DSN(name)
}

// NewPool is NewDatabase plus a pool on it, closed when the test ends.
func (c *Cluster) NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), c.NewDatabase(t))
	if err != nil {
		t.Fatalf("connecting to test database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Stop stops the embedded server, if this cluster started one.
func (c *Cluster) Stop() {
	if c.lazy {
		c.once.Do(func() {}) // waits for a start under way; none after
	}
	c.stopServer()
}

func (c *Cluster) stopServer() {
	if c.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = c.srv.Stop(ctx)
	}
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}

func sanitize(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 30 {
			break
		}
	}
	return b.String()
}
