package query

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// ListServices lists the services that sent entries to the readable (or
// named) projects, from the per-day rollups, a page at a time.
func (s *Service) ListServices(ctx context.Context, req *logsv1.ListServicesRequest) (*logsv1.ListServicesResponse, error) {
	size, err := s.cfg.pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	f, err := parseFilters(ctx, rawFilters{project: req.GetProject()})
	if err != nil {
		return nil, err
	}
	hash := f.hash()
	// The page starts after this (slug, name); nil for the first page.
	var afterSlug, afterName *string
	if tok := req.GetPageToken(); tok != "" {
		k, err := decodeServiceToken(tok, hash)
		if err != nil {
			return nil, err
		}
		afterSlug, afterName = &k.slug, &k.name
	}
	res := &logsv1.ListServicesResponse{Services: []*logsv1.Service{}}
	if len(f.projects) == 0 {
		return res, nil
	}
	slugs := make([]string, len(f.projects))
	for i, id := range f.projects {
		slugs[i] = f.slugs[id]
	}
	rows, err := s.pool.Query(ctx, servicesSQL, f.projects, slugs, afterSlug, afterName, size+1)
	if err != nil {
		return nil, fmt.Errorf("querying services: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*logsv1.Service, error) {
		var (
			v    logsv1.Service
			last time.Time
		)
		if err := r.Scan(&v.ProjectSlug, &v.Name, &last); err != nil {
			return nil, err
		}
		v.LastLogAt = timestamppb.New(last)
		return &v, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading services: %w", err)
	}
	if len(list) > size {
		list = list[:size]
		last := list[size-1]
		res.NextPageToken = encodeServiceToken(serviceKey{slug: last.GetProjectSlug(), name: last.GetName()}, hash)
	}
	res.Services = append(res.Services, list...)
	return res, nil
}
