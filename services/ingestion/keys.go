package ingestion

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/grpc/metadata"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
)

// API keys. The projects service owns them (logs.api_keys) and resolves a
// key to its project, id, scopes and expiry (IdentityService.ResolveApiKey).
// Ingestion asks it once per key and remembers digest → key as a hint, but
// never accepts a batch on the hint alone: every write transaction checks
// the digests of the batches it writes against logs.api_keys (a live key,
// not expired, with the ingest scope) and takes FOR KEY SHARE locks on
// those rows. Revoking a key (DeleteProjectKey, DeleteProject) sets its
// key_hash to NULL and rotating the default key replaces it; key_hash is a
// unique, hence key, column, so either waits for the transactions holding
// the lock, and every transaction after it no longer finds the old digest.
// So no batch is committed with a key after its revocation or rotation has
// returned, on any replica, and the check costs one query per group commit
// instead of a gRPC call and a query per batch.
//
// This is the one place ingestion reads a table of the projects service;
// the query in store.go is the whole contract: key_hash is authn.Digest of
// the key, NULL once revoked; scopes holds "ingest" for a key that may
// write; expire_time is NULL or when the key stops working.

// maxKeyHints bounds the remembered keys; when full, the hints are dropped
// and re-learnt from the projects service.
const maxKeyHints = 10_000

type keyHint struct {
	projectID int64
	slug      string
	keyID     int64
	prefix    string
	scopes    []string
	expires   time.Time // zero: never
}

// principal is the project principal of a remembered key.
func (k keyHint) principal(d [sha256.Size]byte) *authn.Principal {
	return &authn.Principal{Kind: authn.KindProject, ProjectID: k.projectID, ProjectSlug: k.slug, KeyDigest: d,
		KeyID: k.keyID, KeyPrefix: k.prefix, Scopes: k.scopes, KeyExpires: k.expires}
}

// keyHints maps key digests to the projects they belonged to when last
// resolved.
type keyHints struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]keyHint
}

func (h *keyHints) get(d [sha256.Size]byte) (keyHint, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	k, ok := h.m[d]
	return k, ok
}

func (h *keyHints) put(d [sha256.Size]byte, k keyHint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil || len(h.m) >= maxKeyHints {
		h.m = make(map[[sha256.Size]byte]keyHint)
	}
	h.m[d] = k
}

func (h *keyHints) drop(d [sha256.Size]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.m, d)
}

// Authenticator takes the project API key of IngestionService's methods
// and of OTLP's LogsService/Export (otlp.go): from the hints
// when the key is known, else resolved through the projects service. The
// key is verified again where the batch is written. It answers statuses: it
// runs before the error-mapping interceptor.
func (s *Service) Authenticator() authn.Authenticator {
	return func(ctx context.Context, fullMethod string, md metadata.MD) (*authn.Principal, error) {
		p, err := s.authenticate(ctx, fullMethod, md)
		if err != nil {
			return nil, apierr.ToStatus(ctx, s.log, fullMethod, err)
		}
		return p, nil
	}
}

func (s *Service) authenticate(ctx context.Context, fullMethod string, md metadata.MD) (*authn.Principal, error) {
	switch fullMethod {
	case logsv1.IngestionService_IngestBatch_FullMethodName, logsv1.IngestionService_IngestStream_FullMethodName,
		collogspb.LogsService_Export_FullMethodName:
	default:
		return nil, errUnknownMethod
	}
	key := authn.APIKey(md)
	if key == "" {
		return nil, authn.ErrNoAPIKey
	}
	d := authn.Digest(key)
	p, err := s.resolveKey(ctx, d, md)
	if err != nil {
		return nil, err
	}
	if !p.KeyExpires.IsZero() && !s.now().Before(p.KeyExpires) {
		s.keys.drop(d)
		return nil, errKeyExpired(p.KeyExpires)
	}
	if !p.HasScope(authn.ScopeIngest) {
		return nil, errNoIngestScope
	}
	return p, nil
}

// resolveKey returns the principal of a key: remembered, or resolved
// through the projects service and remembered.
func (s *Service) resolveKey(ctx context.Context, d [sha256.Size]byte, md metadata.MD) (*authn.Principal, error) {
	if h, ok := s.keys.get(d); ok {
		return h.principal(d), nil
	}
	if s.identity == nil {
		return nil, errNoVerifier
	}
	p, err := s.identity.APIKey(ctx, md)
	if err != nil {
		return nil, err
	}
	s.keys.put(d, keyHint{projectID: p.ProjectID, slug: p.ProjectSlug, keyID: p.KeyID, prefix: p.KeyPrefix,
		scopes: p.Scopes, expires: p.KeyExpires})
	return p, nil
}

// keyDigests lists the distinct key digests of a group, for verifyKeysSQL.
func keyDigests(group []*batch) [][]byte {
	var out [][]byte
	seen := make(map[[sha256.Size]byte]bool, 2)
	for _, b := range group {
		if !seen[b.keyDigest] {
			seen[b.keyDigest] = true
			out = append(out, b.keyDigest[:])
		}
	}
	return out
}

// activeKeys reads an answer of activeKeysSQL: digest → project.
func activeKeys(rows pgx.Rows) (map[[sha256.Size]byte]int64, error) {
	valid := make(map[[sha256.Size]byte]int64, 2)
	var hash []byte
	var id int64
	_, err := pgx.ForEachRow(rows, []any{&hash, &id}, func() error {
		if len(hash) == sha256.Size {
			valid[[sha256.Size]byte(hash)] = id
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verifying API keys: %w", err)
	}
	return valid, nil
}

// keyRefused tells whether key digest d no longer belongs to project
// projectID among the active keys, and then forgets it.
func (s *Service) keyRefused(valid map[[sha256.Size]byte]int64, d [sha256.Size]byte, projectID int64) bool {
	if id, ok := valid[d]; ok && id == projectID {
		return false
	}
	s.keys.drop(d)
	return true
}

// readVerifiedKeys reads verifyKeysSQL's answer and marks the batches whose
// key no longer belongs to their project as refused. It tells whether any
// was.
func (s *Service) readVerifiedKeys(rows pgx.Rows, group []*batch) (refused bool, err error) {
	valid, err := activeKeys(rows)
	if err != nil {
		return false, err
	}
	for _, b := range group {
		if s.keyRefused(valid, b.keyDigest, b.projectID) {
			b.refused, refused = true, true
		}
	}
	return refused, nil
}

// checkKey verifies one batch's key outside a write (a batch refused for
// its envelope still answers 401 when its key is no longer valid).
func (s *Service) checkKey(ctx context.Context, p *authn.Principal) error {
	rows, err := s.pool.Query(ctx, activeKeysSQL, [][]byte{p.KeyDigest[:]})
	if err != nil {
		return fmt.Errorf("verifying API key: %w", err)
	}
	valid, err := activeKeys(rows)
	if err != nil {
		return err
	}
	if s.keyRefused(valid, p.KeyDigest, p.ProjectID) {
		return errKeyRefused
	}
	return nil
}
