package ingestion

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/partition"
	"github.com/devsmith/logs/internal/restjson"
)

// archiveChunk is how many entries of a project the archiver reads at a
// time: its memory is one chunk, gzip's window and a write buffer,
// whatever the partition's size.
const archiveChunk = 2000

// archiveBuffer is the write buffer between gzip and the file.
const archiveBuffer = 256 << 10

// archiver writes each leaf partition about to be dropped to
// <dir>/<project slug>/<YYYY-MM-DD>.r<class>.ndjson.gz, one file per
// project with entries in it, in the line format of GET /api/logs/export
// (docs/export.md "Scheduled archive").
type archiver struct {
	dir string
	log *zap.Logger
	tel *telemetry
}

// checkArchiveDir makes sure dir exists (creating it) and that files can
// be created in it.
func checkArchiveDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("cannot be created: %w", err)
	}
	f, err := os.CreateTemp(dir, ".devsmith-write-check-*")
	if err != nil {
		return fmt.Errorf("is not writable: %w", err)
	}
	name := f.Name()
	if err := errors.Join(f.Close(), os.Remove(name)); err != nil {
		return fmt.Errorf("is not writable: %w", err)
	}
	return nil
}

// archivePath is where the entries of project slug in leaf are archived.
func archivePath(dir, slug string, leaf partition.Leaf) string {
	return filepath.Join(dir, slug, leaf.Day.Format(time.DateOnly)+".r"+strconv.Itoa(leaf.Class)+".ndjson.gz")
}

// archive is a partition.Archiver: it writes every project's entries of
// leaf, each file durable (fsynced, renamed, its folder fsynced) before it
// returns nil. On an error (ctx ending included) the file being written is
// removed, the files already written stay (a later round rewrites them),
// and the leaf is kept.
func (a *archiver) archive(ctx context.Context, conn *pgxpool.Conn, leaf partition.Leaf) error {
	began := time.Now()
	var entries, size int64
	err := func() error {
		projects, err := leafProjects(ctx, conn, leaf.Name)
		if err != nil {
			return err
		}
		for _, p := range projects {
			n, b, err := a.archiveProject(ctx, conn, leaf, p)
			if err != nil {
				return fmt.Errorf("archiving the entries of project %s: %w", p.slug, err)
			}
			entries, size = entries+n, size+b
		}
		return nil
	}()
	if err != nil {
		// An archive cut by shutdown is not a failure to alert on.
		if ctx.Err() == nil {
			a.tel.archiveLeaves.WithLabelValues("failed").Inc()
			a.log.Error("archiving a partition failed; it is kept and tried again next round",
				zap.String("partition", leaf.Name), zap.Error(err))
		}
		return err
	}
	a.tel.archiveLeaves.WithLabelValues("archived").Inc()
	a.tel.archiveEntries.Add(float64(entries))
	a.tel.archiveBytes.Add(float64(size))
	a.log.Info("archived partition", zap.String("partition", leaf.Name), zap.Int64("entries", entries),
		zap.Int64("bytes", size), zap.Duration("took", time.Since(began)))
	return nil
}

// leafProject is a project with entries in a leaf.
type leafProject struct {
	id   int64
	slug string
}

// leafProjects lists the projects with entries in the leaf, by id: a walk
// of the leaf's (project_id, ts, id) index from one project to the next
// (one probe per project, not a scan of the leaf). A project no longer in
// logs.projects is named project-<id>.
func leafProjects(ctx context.Context, conn *pgxpool.Conn, leaf string) ([]leafProject, error) {
	t := "logs." + pgx.Identifier{leaf}.Sanitize()
	rows, err := conn.Query(ctx, `WITH RECURSIVE p(id) AS (
			(SELECT project_id FROM `+t+` ORDER BY project_id LIMIT 1)
			UNION ALL
			SELECT (SELECT project_id FROM `+t+` WHERE project_id > p.id ORDER BY project_id LIMIT 1) FROM p WHERE p.id IS NOT NULL)
		SELECT p.id, coalesce(pr.slug, 'project-' || p.id) FROM p LEFT JOIN logs.projects pr ON pr.id = p.id
		WHERE p.id IS NOT NULL ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("listing the projects of partition %s: %w", leaf, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (leafProject, error) {
		var p leafProject
		return p, r.Scan(&p.id, &p.slug)
	})
	if err != nil {
		return nil, fmt.Errorf("listing the projects of partition %s: %w", leaf, err)
	}
	return out, nil
}

// archiveProject writes project p's entries of leaf to its file, through a
// temporary file in the same folder renamed over it once synced: a reader
// (or a rerun after a crash) sees the whole previous file or the whole new
// one. It returns the entries and the file's bytes.
func (a *archiver) archiveProject(ctx context.Context, conn *pgxpool.Conn, leaf partition.Leaf, p leafProject) (entries, size int64, err error) {
	final := archivePath(a.dir, p.slug, leaf)
	dir := filepath.Dir(final)
	if err := mkdirSynced(dir); err != nil {
		return 0, 0, err
	}
	// A temporary file left by a crash is this file's; expiry's lock means
	// no other replica is writing it.
	if stale, err := filepath.Glob(final + ".*.tmp"); err == nil {
		for _, s := range stale {
			_ = os.Remove(s)
		}
	}
	f, err := os.CreateTemp(dir, filepath.Base(final)+".*.tmp")
	if err != nil {
		return 0, 0, fmt.Errorf("creating the archive file: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	cw := &countingWriter{w: f}
	bw := bufio.NewWriterSize(cw, archiveBuffer)
	zw := gzip.NewWriter(bw)
	if entries, err = writeEntries(ctx, conn, leaf.Name, p, zw); err != nil {
		return 0, 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, 0, fmt.Errorf("writing the archive file: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return 0, 0, fmt.Errorf("writing the archive file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, 0, fmt.Errorf("syncing the archive file: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, 0, fmt.Errorf("closing the archive file: %w", err)
	}
	if err := os.Rename(f.Name(), final); err != nil {
		_ = os.Remove(f.Name())
		done = true
		return 0, 0, fmt.Errorf("renaming the archive file: %w", err)
	}
	done = true
	if err := syncDir(dir); err != nil {
		return 0, 0, err
	}
	return entries, cw.n, nil
}

// writeEntries writes p's entries of the leaf to w, one JSON line each,
// oldest first by (ts, id). A reader reads chunks of archiveChunk from the
// leaf's (project_id, ts, id) index after the last one read, each with its
// patterns and error groups resolved as export resolves them, while the
// previous chunk is encoded and compressed: at most three chunks are held.
func writeEntries(ctx context.Context, conn *pgxpool.Conn, leaf string, p leafProject, w io.Writer) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	chunks := make(chan []logstore.Entry, 1)
	var readErr error
	go func() {
		defer close(chunks)
		readErr = readEntries(ctx, conn, leaf, p, chunks)
	}()
	// The reader is done with conn when chunks is closed.
	defer func() {
		cancel()
		for range chunks {
		}
	}()
	var n int64
	var line []byte
	for buf := range chunks {
		for i := range buf {
			var err error
			line, err = restjson.AppendMessage(line[:0], buf[i].Proto(p.slug).ProtoReflect())
			if err != nil {
				return n, fmt.Errorf("encoding entry %d: %w", buf[i].ID, err)
			}
			if _, err := w.Write(append(line, '\n')); err != nil {
				return n, fmt.Errorf("writing the archive file: %w", err)
			}
		}
		n += int64(len(buf))
	}
	return n, readErr
}

// readEntries sends p's entries of the leaf to out in chunks, oldest first,
// until the last or ctx ends.
func readEntries(ctx context.Context, conn *pgxpool.Conn, leaf string, p leafProject, out chan<- []logstore.Entry) error {
	from := "SELECT " + logstore.EntryColumns + " FROM logs." + pgx.Identifier{leaf}.Sanitize() + " WHERE project_id = $1"
	first := from + " ORDER BY ts, id LIMIT " + strconv.Itoa(archiveChunk)
	next := from + " AND (ts, id) > ($2, $3) ORDER BY ts, id LIMIT " + strconv.Itoa(archiveChunk)
	var last *logstore.Entry
	for {
		var rows pgx.Rows
		var err error
		if last == nil {
			rows, err = conn.Query(ctx, first, p.id)
		} else {
			rows, err = conn.Query(ctx, next, p.id, last.TS, last.ID)
		}
		if err != nil {
			return fmt.Errorf("reading entries to archive: %w", err)
		}
		buf, err := pgx.CollectRows(rows, logstore.ScanEntry)
		if err != nil {
			return fmt.Errorf("reading entries to archive: %w", err)
		}
		if err := logstore.ResolveEntries(ctx, conn, buf); err != nil {
			return err
		}
		select {
		case out <- buf:
		case <-ctx.Done():
			return ctx.Err()
		}
		if len(buf) < archiveChunk {
			return nil
		}
		last = &buf[len(buf)-1]
	}
}

// mkdirSynced creates dir (a project's folder of the archive) if needed,
// syncing its parent so that the new entry survives a crash.
func mkdirSynced(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating the archive folder: %w", err)
	}
	return syncDir(filepath.Dir(dir))
}

// syncDir fsyncs a folder: the names created or renamed in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing the archive folder: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing the archive folder %s: %w", dir, err)
	}
	return nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
