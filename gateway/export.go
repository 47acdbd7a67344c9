package gateway

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/restjson"
)

// exportPath is the export route.
const exportPath = "/api/logs/export"

// handleExport is GET /api/logs/export: the query service's ExportEntries
// stream as a gzip-compressed file of JSON lines, one entry per line in
// the entries API's shape, oldest first (docs/export.md). The body is
// written as the chunks arrive: the gateway holds one chunk at a time.
// Errors before the first chunk are ordinary JSON errors; an error after
// it ends the body without gzip's trailer, so a client's gunzip reports
// the file incomplete, and the export resumes with since and after_id
// from the last whole line.
func (g *Gateway) handleExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if f := q.Get("format"); f != "" && f != "ndjson" {
		writeErrorBody(w, http.StatusBadRequest, codes.InvalidArgument, fmt.Sprintf("format %q is not supported: ndjson is the one export format", f))
		return
	}
	q.Del("format")
	req := &logsv1.ExportEntriesRequest{}
	if err := (queryParser{}).Parse(req, q, utilities.NewDoubleArray(nil)); err != nil {
		writeErrorBody(w, http.StatusBadRequest, codes.InvalidArgument, err.Error())
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stream, err := g.query.ExportEntries(metadata.NewOutgoingContext(ctx, outgoingAuth(r)), req)
	if err != nil {
		g.writeRPCError(w, r, err)
		return
	}
	first, err := stream.Recv()
	if err != nil && !errors.Is(err, io.EOF) {
		g.writeRPCError(w, r, err)
		return
	}

	h := w.Header()
	h.Set("Content-Type", "application/gzip")
	h.Set("Content-Disposition", `attachment; filename="`+exportFileName(req)+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	zw := gzip.NewWriter(w)
	var line []byte
	for res := first; res != nil; {
		for _, e := range res.GetEntries() {
			line, err = restjson.AppendMessage(line[:0], e.ProtoReflect())
			if err != nil {
				g.log.Error("encoding an exported entry", zap.Int64("entry_id", e.GetId()), zap.Error(err))
				return
			}
			if _, err := zw.Write(append(line, '\n')); err != nil {
				return // the client went away
			}
		}
		if res, err = stream.Recv(); err != nil {
			if !errors.Is(err, io.EOF) {
				// The status went with the headers: end the body without
				// gzip's trailer, which the client sees as incomplete.
				g.log.Warn("export ended early", zap.Error(err))
				return
			}
			res = nil
		}
	}
	if err := zw.Close(); err != nil {
		g.log.Debug("finishing an export", zap.Error(err))
	}
}

// exportFileName names the download after its projects (or "all") and
// start.
func exportFileName(req *logsv1.ExportEntriesRequest) string {
	name := "devsmith-export"
	if p := req.GetProject(); len(p) > 0 {
		name += "-" + strings.Join(p, "+")
	}
	if s := req.GetSince(); s != nil {
		name += "-" + s.AsTime().UTC().Format("20060102T150405Z")
	}
	// Slugs are [a-z0-9-]; anything else a client named is not a slug and
	// the export has failed before this.
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '+' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, name) + ".ndjson.gz"
}
