package query

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// ListServices lists the services that sent entries to the readable (or
// named) projects, from the per-day rollups.
func (s *Service) ListServices(ctx context.Context, req *logsv1.ListServicesRequest) (*logsv1.ListServicesResponse, error) {
	res, err := s.listServices(ctx, req)
	if err != nil {
		return nil, s.toStatus(ctx, "listing services", err)
	}
	return res, nil
}

func (s *Service) listServices(ctx context.Context, req *logsv1.ListServicesRequest) (*logsv1.ListServicesResponse, error) {
	f, err := parseFilters(ctx, rawFilters{project: req.GetProject()})
	if err != nil {
		return nil, err
	}
	res := &logsv1.ListServicesResponse{Services: []*logsv1.Service{}}
	if len(f.projects) == 0 {
		return res, nil
	}
	rows, err := s.pool.Query(ctx, servicesSQL, f.projects)
	if err != nil {
		return nil, fmt.Errorf("querying services: %w", err)
	}
	type svc struct {
		slug, name string
		last       time.Time
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (svc, error) {
		var (
			id int64
			v  svc
		)
		err := r.Scan(&id, &v.name, &v.last)
		v.slug = f.slugs[id]
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading services: %w", err)
	}
	slices.SortFunc(list, func(a, b svc) int {
		return cmp.Or(cmp.Compare(a.slug, b.slug), cmp.Compare(a.name, b.name))
	})
	for _, v := range list {
		res.Services = append(res.Services, &logsv1.Service{ProjectSlug: v.slug, Name: v.name, LastLogAt: timestamppb.New(v.last)})
	}
	return res, nil
}
