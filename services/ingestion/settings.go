package ingestion

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/devsmith/logs/internal/logstore/partition"
)

// Project settings. The projects service owns a project's retention
// (logs.projects.retention_days, NULL for the platform's default) and its
// sampling rules (logs.sampling_rules); ingestion applies them to every
// batch. It reads them once for a project it has not seen, then for every
// project it has seen every settingsRefresh, never per batch: a change
// applies to the batches normalised after the next refresh. The query in
// loadSettings is the whole contract.
//
// A batch is written with the retention class it was normalised with
// (batch.class). UpdateProject creates the partitions of a new class
// (partition.EnsureClass) before it commits the retention, and partitions
// of a class are created Ahead days ahead, so a class read here always has
// its partitions, even from a refresh a little behind.

// settingsRefresh is how often the settings of the projects seen are read
// again.
const settingsRefresh = 5 * time.Second

// maxSettings bounds the projects remembered; when full, they are dropped
// and read again as batches come.
const maxSettings = 100_000

// projectSettings are a project's retention class and sampling rules.
type projectSettings struct {
	// class is the project's retention in days, 0 for the platform's
	// default: the retention class its entries are written with.
	class int16
	// rules are the sampling rules, by service ("" for every service
	// without its own); nil when the project samples nothing.
	rules map[string]samplingRule
}

// samplingRule is the fraction of a service's entries kept, by level.
type samplingRule struct {
	debug float32 // TRACE and DEBUG, in (0, 1]
	info  float32 // INFO, in (0, 1]
}

// retention is how long the project's entries are kept: its class in
// days, or def.
func (p *projectSettings) retention(def time.Duration) time.Duration {
	return partition.Retention(int(p.class), def)
}

// rule is the sampling rule of service: its own, else the project's
// default rule; ok is false when nothing is sampled.
func (p *projectSettings) rule(service string) (r samplingRule, ok bool) {
	if r, ok = p.rules[service]; ok {
		return r, true
	}
	r, ok = p.rules[""]
	return r, ok
}

// settingsCache remembers the settings of the projects seen.
type settingsCache struct {
	pool *pgxpool.Pool
	log  *zap.Logger

	mu sync.RWMutex
	m  map[int64]*projectSettings
}

func newSettingsCache(pool *pgxpool.Pool, log *zap.Logger) *settingsCache {
	return &settingsCache{pool: pool, log: log, m: map[int64]*projectSettings{}}
}

// get returns the settings of project, read from the database the first
// time it is asked for.
func (c *settingsCache) get(ctx context.Context, project int64) (*projectSettings, error) {
	c.mu.RLock()
	st, ok := c.m[project]
	c.mu.RUnlock()
	if ok {
		return st, nil
	}
	got, err := loadSettings(ctx, c.pool, []int64{project})
	if err != nil {
		return nil, err
	}
	st = got[project]
	if st == nil {
		st = &projectSettings{} // a project without a row: its key is refused at commit
	}
	c.mu.Lock()
	if len(c.m) >= maxSettings {
		c.m = map[int64]*projectSettings{}
	}
	c.m[project] = st
	c.mu.Unlock()
	return st, nil
}

// run reads the settings of the projects seen every settingsRefresh until
// ctx ends.
func (c *settingsCache) run(ctx context.Context) {
	t := time.NewTicker(settingsRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.refresh(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("reading project settings failed; keeping the previous ones", zap.Error(err))
			}
		}
	}
}

// refresh reads the settings of every project seen again.
func (c *settingsCache) refresh(ctx context.Context) error {
	c.mu.RLock()
	ids := make([]int64, 0, len(c.m))
	for id := range c.m {
		ids = append(ids, id)
	}
	c.mu.RUnlock()
	if len(ids) == 0 {
		return nil
	}
	got, err := loadSettings(ctx, c.pool, ids)
	if err != nil {
		return err
	}
	c.mu.Lock()
	for _, id := range ids {
		if st := got[id]; st != nil {
			c.m[id] = st
		}
	}
	c.mu.Unlock()
	return nil
}

// loadSettings reads the settings of projects.
func loadSettings(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, projects []int64) (map[int64]*projectSettings, error) {
	rows, err := db.Query(ctx, `SELECT p.id, coalesce(p.retention_days, 0), r.service_name, r.debug_rate, r.info_rate
		FROM logs.projects p LEFT JOIN logs.sampling_rules r ON r.project_id = p.id
		WHERE p.id = ANY($1)`, projects)
	if err != nil {
		return nil, fmt.Errorf("reading project settings: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]*projectSettings, len(projects))
	for rows.Next() {
		var id int64
		var class int32
		var service *string
		var debug, info *float32
		if err := rows.Scan(&id, &class, &service, &debug, &info); err != nil {
			return nil, fmt.Errorf("reading project settings: %w", err)
		}
		st := out[id]
		if st == nil {
			st = &projectSettings{class: int16(min(class, 1<<15-1))}
			out[id] = st
		}
		if service != nil && debug != nil && info != nil {
			if st.rules == nil {
				st.rules = map[string]samplingRule{}
			}
			st.rules[*service] = samplingRule{debug: *debug, info: *info}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading project settings: %w", err)
	}
	return out, nil
}
