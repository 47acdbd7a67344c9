package alerts

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
)

// Page sizes.
const (
	defaultAlertPage  = 100
	maxAlertPage      = 1000
	defaultFiringPage = 20
	maxFiringPage     = 100
)

// Service is AlertService and the alert loops of one replica.
type Service struct {
	logsv1.UnimplementedAlertServiceServer

	log    *zap.Logger
	pool   *pgxpool.Pool
	cfg    Config
	sealer *sealer
	client *http.Client
	now    func() time.Time
	tel    *telemetry
	// wake tells the delivery loop that deliveries were just queued.
	wake chan struct{}
}

// New makes the alerts of the analysis service over its pool. The callers
// are authenticated by the analysis service's interceptor (user sessions).
// A key that does not parse (Config.Validate refuses it first) counts as
// none.
func New(log *zap.Logger, pool *pgxpool.Pool, cfg Config) *Service {
	cfg = cfg.withDefaults()
	sl, err := newSealer(cfg.SecretsKey)
	if err != nil {
		log.Error("the secrets key does not parse: alert channels with a secret are refused", zap.Error(err))
	}
	if sl == nil {
		log.Warn("no secrets key (DEVSMITH_SECRETS_KEY): alert channels with a secret are refused")
	}
	return &Service{
		log:    log,
		pool:   pool,
		cfg:    cfg,
		sealer: sl,
		client: &http.Client{
			Timeout: httpTimeout,
			// A redirect is an answer like any other non-2xx: the
			// receiver's URL is what was configured.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		now:  time.Now,
		tel:  newTelemetry(),
		wake: make(chan struct{}, 1),
	}
}

// Register registers AlertService on g.
func (s *Service) Register(g *grpc.Server) { logsv1.RegisterAlertServiceServer(g, s) }

// access is the caller's role on a project; ok false when they may not
// read it (then it does not exist for them).
func access(ctx context.Context, projectID int64) (authn.ProjectAccess, bool) {
	p := authn.FromContext(ctx)
	if p == nil || p.Kind != authn.KindUser {
		return authn.ProjectAccess{}, false
	}
	for _, a := range p.Projects {
		if a.ID == projectID {
			return a, true
		}
	}
	return authn.ProjectAccess{}, false
}

func canManage(a authn.ProjectAccess) bool {
	return a.Role == "owner" || a.Role == "maintainer" || a.Role == "admin"
}

func principal(ctx context.Context) (*authn.Principal, error) {
	p := authn.FromContext(ctx)
	if p == nil || p.Kind != authn.KindUser {
		return nil, authn.ErrNoCredentials
	}
	return p, nil
}

// CreateAlert adds a rule to a project the caller manages.
func (s *Service) CreateAlert(ctx context.Context, req *logsv1.CreateAlertRequest) (*logsv1.CreateAlertResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var pa authn.ProjectAccess
	found := false
	for _, a := range p.Projects {
		if a.Slug == req.GetProject() {
			pa, found = a, true
		}
	}
	switch {
	case req.GetProject() == "":
		return nil, apierr.Invalidf("project is required (a project slug)")
	case !found:
		return nil, apierr.NotFoundf("project %q not found", req.GetProject())
	case !canManage(pa):
		return nil, errNotManager
	}
	r := rule{ProjectID: pa.ID, ProjectSlug: pa.Slug, Enabled: true}
	if r.Name, err = parseName(req.GetName()); err != nil {
		return nil, err
	}
	if r.Query, err = parseQuery(req.GetQuery()); err != nil {
		return nil, err
	}
	if r.Window, err = parseWindow(req.GetWindow()); err != nil {
		return nil, err
	}
	if r.Condition, r.Threshold, err = parseCondition(req.GetCondition()); err != nil {
		return nil, err
	}
	if r.Cooldown, err = parseCooldown(req.GetCooldown()); err != nil {
		return nil, err
	}
	if r.Channels, err = parseChannels(req.GetChannels(), s.sealer, nil); err != nil {
		return nil, err
	}
	chs, err := channelsJSON(r.Channels)
	if err != nil {
		return nil, err
	}
	ctxJSON, err := json.Marshal(r.Query.Context)
	if err != nil {
		return nil, fmt.Errorf("encoding the context filter: %w", err)
	}
	var id int64
	err = s.pool.QueryRow(ctx, `
		INSERT INTO logs.alert_rules (project_id, name, levels, services, q, context_filter, window_seconds,
		    condition_type, threshold, channels, cooldown_seconds, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		r.ProjectID, r.Name, r.Query.Levels, r.Query.Services, r.Query.Q, ctxJSON, int(r.Window/time.Second),
		r.Condition, r.Threshold, chs, int(r.Cooldown/time.Second), p.UserID).Scan(&id)
	if err != nil {
		return nil, fmt.Errorf("inserting an alert rule: %w", err)
	}
	got, err := s.getRule(ctx, s.pool, id, false)
	if err != nil {
		return nil, err
	}
	s.log.Info("alert rule created", zap.Int64("alert_id", id), zap.Int64("project_id", r.ProjectID), zap.Int64("user_id", p.UserID))
	return &logsv1.CreateAlertResponse{Alert: got.proto()}, nil
}

// ListAlerts lists the readable projects' rules by id.
func (s *Service) ListAlerts(ctx context.Context, req *logsv1.ListAlertsRequest) (*logsv1.ListAlertsResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize(), defaultAlertPage, maxAlertPage)
	if err != nil {
		return nil, err
	}
	after, err := parseToken(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, a := range p.Projects {
		if req.GetProject() == "" || a.Slug == req.GetProject() {
			ids = append(ids, a.ID)
		}
	}
	if req.GetProject() != "" && len(ids) == 0 {
		return nil, apierr.NotFoundf("project %q not found", req.GetProject())
	}
	rows, err := s.pool.Query(ctx, `SELECT `+ruleColumns+` FROM logs.alert_rules r JOIN logs.projects p ON p.id = r.project_id
		WHERE r.project_id = ANY($1) AND r.id > $2 ORDER BY r.id LIMIT $3`, ids, after, size+1)
	if err != nil {
		return nil, fmt.Errorf("listing alert rules: %w", err)
	}
	rules, err := pgx.CollectRows(rows, scanRule)
	if err != nil {
		return nil, fmt.Errorf("listing alert rules: %w", err)
	}
	res := &logsv1.ListAlertsResponse{}
	if len(rules) > size {
		rules = rules[:size]
		res.NextPageToken = makeToken(rules[size-1].ID)
	}
	for i := range rules {
		res.Alerts = append(res.Alerts, rules[i].proto())
	}
	return res, nil
}

// GetAlert returns one readable rule.
func (s *Service) GetAlert(ctx context.Context, req *logsv1.GetAlertRequest) (*logsv1.GetAlertResponse, error) {
	r, err := s.readable(ctx, req.GetId(), false)
	if err != nil {
		return nil, err
	}
	return &logsv1.GetAlertResponse{Alert: r.proto()}, nil
}

// UpdateAlert changes the fields given of a rule the caller manages.
func (s *Service) UpdateAlert(ctx context.Context, req *logsv1.UpdateAlertRequest) (*logsv1.UpdateAlertResponse, error) {
	var out *rule
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := s.managed(ctx, tx, req.GetId())
		if err != nil {
			return err
		}
		if req.Name != nil {
			if r.Name, err = parseName(req.GetName()); err != nil {
				return err
			}
		}
		if req.Query != nil {
			if r.Query, err = parseQuery(req.GetQuery()); err != nil {
				return err
			}
		}
		if req.Window != nil {
			if r.Window, err = parseWindow(req.GetWindow()); err != nil {
				return err
			}
		}
		if req.Condition != nil {
			if r.Condition, r.Threshold, err = parseCondition(req.GetCondition()); err != nil {
				return err
			}
		}
		if req.Cooldown != nil {
			if r.Cooldown, err = parseCooldown(req.GetCooldown()); err != nil {
				return err
			}
		}
		if req.Enabled != nil {
			r.Enabled = req.GetEnabled()
		}
		if len(req.GetChannels()) > 0 {
			keep := map[[2]string]string{}
			for _, c := range r.Channels {
				keep[[2]string{c.Type, c.URL}] = c.Secret
			}
			if r.Channels, err = parseChannels(req.GetChannels(), s.sealer, keep); err != nil {
				return err
			}
		}
		chs, err := channelsJSON(r.Channels)
		if err != nil {
			return err
		}
		ctxJSON, err := json.Marshal(r.Query.Context)
		if err != nil {
			return fmt.Errorf("encoding the context filter: %w", err)
		}
		// A changed rule is evaluated afresh at the next pass.
		_, err = tx.Exec(ctx, `UPDATE logs.alert_rules SET name = $2, levels = $3, services = $4, q = $5, context_filter = $6,
			window_seconds = $7, condition_type = $8, threshold = $9, channels = $10, cooldown_seconds = $11, enabled = $12,
			updated_at = now(), next_evaluation_at = now() WHERE id = $1`,
			r.ID, r.Name, r.Query.Levels, r.Query.Services, r.Query.Q, ctxJSON, int(r.Window/time.Second),
			r.Condition, r.Threshold, chs, int(r.Cooldown/time.Second), r.Enabled)
		if err != nil {
			return fmt.Errorf("updating an alert rule: %w", err)
		}
		out, err = s.getRule(ctx, tx, r.ID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &logsv1.UpdateAlertResponse{Alert: out.proto()}, nil
}

// DeleteAlert removes a rule the caller manages, with its firings.
func (s *Service) DeleteAlert(ctx context.Context, req *logsv1.DeleteAlertRequest) (*logsv1.DeleteAlertResponse, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := s.managed(ctx, tx, req.GetId())
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM logs.alert_rules WHERE id = $1`, r.ID); err != nil {
			return fmt.Errorf("deleting an alert rule: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &logsv1.DeleteAlertResponse{}, nil
}

// readable loads a rule the caller may read (NotFound otherwise), locked
// FOR UPDATE when lock.
func (s *Service) readable(ctx context.Context, id int64, lock bool) (*rule, error) {
	return s.readableIn(ctx, s.pool, id, lock)
}

func (s *Service) readableIn(ctx context.Context, q querier, id int64, lock bool) (*rule, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	if id <= 0 {
		return nil, apierr.Invalidf("id: want a positive alert id")
	}
	r, err := s.getRule(ctx, q, id, lock)
	if errors.Is(err, errNoRule) {
		return nil, apierr.NotFoundf("alert %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	if _, ok := access(ctx, r.ProjectID); !ok {
		return nil, apierr.NotFoundf("alert %d not found", id)
	}
	return r, nil
}

// managed loads a rule, locked, that the caller manages.
func (s *Service) managed(ctx context.Context, tx pgx.Tx, id int64) (*rule, error) {
	r, err := s.readableIn(ctx, tx, id, true)
	if err != nil {
		return nil, err
	}
	if a, _ := access(ctx, r.ProjectID); !canManage(a) {
		return nil, errNotManager
	}
	return r, nil
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

var errNoRule = errors.New("no such alert rule")

const ruleColumns = `r.id, r.project_id, p.slug, r.name, r.levels, r.services, r.q, r.context_filter, r.window_seconds,
	r.condition_type, r.threshold, r.channels, r.cooldown_seconds, r.enabled, r.created_at, r.updated_at,
	r.state, r.state_since, r.last_value, r.last_evaluated_at, r.last_notified_at, r.open_firing_id`

func scanRule(row pgx.CollectableRow) (rule, error) {
	var r rule
	var ctxJSON, chs []byte
	var window, cooldown int
	err := row.Scan(&r.ID, &r.ProjectID, &r.ProjectSlug, &r.Name, &r.Query.Levels, &r.Query.Services, &r.Query.Q, &ctxJSON, &window,
		&r.Condition, &r.Threshold, &chs, &cooldown, &r.Enabled, &r.CreatedAt, &r.UpdatedAt,
		&r.State, &r.StateSince, &r.LastValue, &r.LastEvaluatedAt, &r.LastNotifiedAt, &r.OpenFiringID)
	if err != nil {
		return rule{}, err
	}
	r.Window, r.Cooldown = time.Duration(window)*time.Second, time.Duration(cooldown)*time.Second
	if err := json.Unmarshal(ctxJSON, &r.Query.Context); err != nil {
		return rule{}, fmt.Errorf("decoding a context filter: %w", err)
	}
	if err := json.Unmarshal(chs, &r.Channels); err != nil {
		return rule{}, fmt.Errorf("decoding channels: %w", err)
	}
	return r, nil
}

func (s *Service) getRule(ctx context.Context, q querier, id int64, lock bool) (*rule, error) {
	sql := `SELECT ` + ruleColumns + ` FROM logs.alert_rules r JOIN logs.projects p ON p.id = r.project_id WHERE r.id = $1`
	if lock {
		sql += ` FOR UPDATE OF r`
	}
	rows, err := q.Query(ctx, sql, id)
	if err != nil {
		return nil, fmt.Errorf("reading an alert rule: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, scanRule)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoRule
	}
	if err != nil {
		return nil, fmt.Errorf("reading an alert rule: %w", err)
	}
	return &r, nil
}

func pageSize(n, def, maximum int32) (int, error) {
	switch {
	case n < 0:
		return 0, apierr.Invalidf("page_size %d: must not be negative", n)
	case n == 0:
		return int(def), nil
	case n > maximum:
		return int(maximum), nil
	}
	return int(n), nil
}

// Page tokens are the last id of the previous page, opaque.
func makeToken(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("a" + strconv.FormatInt(id, 10)))
}

func parseToken(t string) (int64, error) {
	if t == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || len(b) < 2 || b[0] != 'a' {
		return 0, errBadPageToken
	}
	id, err := strconv.ParseInt(string(b[1:]), 10, 64)
	if err != nil || id <= 0 {
		return 0, errBadPageToken
	}
	return id, nil
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
