// Package pgembed runs a local PostgreSQL server from the system's binaries:
// the embedded default of the all-in-one mode. The server listens only on a
// Unix socket inside its data folder, is initialised on first use, reused on
// the next start, and stopped by Stop.
package pgembed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
)

// Config says where the server keeps its files and who runs it.
type Config struct {
	// DataDir is the folder that holds the cluster ("pg") and its log.
	DataDir string
	// OSUser runs the server when the calling process is root (PostgreSQL
	// refuses to run as root). Default "postgres".
	OSUser string
	// BinDir holds initdb and postgres. Default: found on PATH, else the
	// newest /usr/lib/postgresql/*/bin.
	BinDir string
	// Database is created on first start. Default "devsmith".
	Database string
	// StartTimeout bounds how long Start waits for the server to accept
	// connections. Default 60s.
	StartTimeout time.Duration
}

// Server is a running embedded PostgreSQL.
type Server struct {
	cfg     Config
	log     *zap.Logger
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	logFile *os.File
	stopWB  chan struct{} // ends the writeback loop
}

const superuser = "devsmith"

// MaxConnections is the server's max_connections. PostgreSQL keeps 3 of
// them (superuser_reserved_connections) for superusers, which the
// platform's own connections are too (it connects as the superuser).
const MaxConnections = 300

// Start initialises the cluster if needed and starts the server. It returns
// once the server accepts connections.
func Start(ctx context.Context, log *zap.Logger, cfg Config) (*Server, error) {
	if cfg.OSUser == "" {
		cfg.OSUser = "postgres"
	}
	if cfg.Database == "" {
		cfg.Database = "devsmith"
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolving data dir %q: %w", cfg.DataDir, err)
	}
	cfg.DataDir = dir
	if cfg.BinDir == "" {
		if cfg.BinDir, err = findBinDir(); err != nil {
			return nil, err
		}
	}
	cred, err := credential(cfg.OSUser)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating data dir %s: %w", dir, err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("handing data dir %s to OS user %s: %w", dir, cfg.OSUser, err)
		}
		if err := checkReachable(dir, cfg.OSUser, cred); err != nil {
			return nil, err
		}
	}
	s := &Server{cfg: cfg, log: log, exited: make(chan struct{})}
	if err := s.initdb(ctx, cred); err != nil {
		return nil, err
	}
	if err := s.start(cred); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop(context.Background())
		return nil, err
	}
	s.stopWB = make(chan struct{})
	go s.writeback(s.stopWB)
	return s, nil
}

// pgData is the cluster folder; the server's socket lives in it too.
func (s *Server) pgData() string { return filepath.Join(s.cfg.DataDir, "pg") }

// DSN is the connection string for the server's database.
func (s *Server) DSN() string {
	return fmt.Sprintf("host=%s user=%s dbname=%s sslmode=disable", s.pgData(), superuser, s.cfg.Database)
}

// AdminDSN connects to the maintenance database "postgres".
func (s *Server) AdminDSN() string {
	return fmt.Sprintf("host=%s user=%s dbname=postgres sslmode=disable", s.pgData(), superuser)
}

func (s *Server) initdb(ctx context.Context, cred *syscall.Credential) error {
	if _, err := os.Stat(filepath.Join(s.pgData(), "PG_VERSION")); err == nil {
		return nil
	}
	if err := os.RemoveAll(s.pgData()); err != nil {
		return fmt.Errorf("clearing half-initialised cluster: %w", err)
	}
	// The local socket is the only way in and sits in a 0700 folder owned by
	// the server's OS user, so trust authentication admits only that user
	// (and root).
	cmd := exec.CommandContext(ctx, filepath.Join(s.cfg.BinDir, "initdb"),
		"-D", s.pgData(), "-U", superuser, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb in %s: %w: %s", s.pgData(), err, lastLines(string(out), 5))
	}
	s.log.Info("initialised embedded PostgreSQL cluster", zap.String("dir", s.pgData()))
	return nil
}

func (s *Server) start(cred *syscall.Credential) error {
	logPath := filepath.Join(s.cfg.DataDir, "postgres.log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening %s: %w", logPath, err)
	}
	s.logFile = f
	if err := s.clearStalePid(); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(s.cfg.BinDir, "postgres"), "-D", s.pgData(),
		"-c", "listen_addresses=",
		"-c", "unix_socket_directories="+s.pgData(),
		"-c", "max_connections="+strconv.Itoa(MaxConnections),
		"-c", "shared_buffers=256MB",
		"-c", "max_wal_size=4GB",
		// Ingestion writes WAL fast: keep recycled segments instead of
		// creating (and zero-filling) new ones, and checkpoint less often
		// (fewer full-page images after each checkpoint). Durability is
		// unchanged: fsync and synchronous_commit stay on.
		"-c", "min_wal_size=1GB",
		"-c", "checkpoint_timeout=15min",
		"-c", "wal_buffers=16MB",
	)
	cmd.Args = append(cmd.Args, osSettings()...)
	cmd.Stdout = f
	cmd.Stderr = f
	// Own process group: a Ctrl-C in the terminal reaches us, and we stop the
	// server after the services that use it.
	cmd.SysProcAttr = procAttr(cred)
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		f.Close()
		return fmt.Errorf("starting postgres: %w", err)
	}
	s.cmd = cmd
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	return nil
}

// clearStalePid removes a postmaster.pid left by a server that no longer
// runs (a killed parent), so the next start does not refuse.
func (s *Server) clearStalePid() error {
	pidFile := filepath.Join(s.pgData(), "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return nil
	}
	if syscall.Kill(pid, 0) == nil {
		return fmt.Errorf("a PostgreSQL server (pid %d) is already running in %s; stop it or choose another DEVSMITH_DATA_DIR", pid, s.pgData())
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StartTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := pgx.Connect(ctx, s.AdminDSN())
		if err == nil {
			defer conn.Close(ctx)
			return s.ensureDatabase(ctx, conn)
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited during start (%v); see %s", s.waitErr, filepath.Join(s.cfg.DataDir, "postgres.log"))
		case <-ctx.Done():
			return fmt.Errorf("waiting for postgres to accept connections: %w (last error: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (s *Server) ensureDatabase(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", s.cfg.Database).Scan(&exists); err != nil {
		return fmt.Errorf("checking database %s: %w", s.cfg.Database, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{s.cfg.Database}.Sanitize()); err != nil {
		return fmt.Errorf("creating database %s: %w", s.cfg.Database, err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown: open transactions roll back,
// committed data is safe) and waits for it to exit.
func (s *Server) Stop(ctx context.Context) error { return s.stopWith(ctx, syscall.SIGINT) }

// stopWith signals the postmaster with sig (SIGINT fast, SIGQUIT
// immediate shutdown) and waits for it to exit.
func (s *Server) stopWith(ctx context.Context, sig syscall.Signal) error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	defer s.logFile.Close()
	if s.stopWB != nil {
		close(s.stopWB)
		s.stopWB = nil
	}
	select {
	case <-s.exited:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signalling postgres: %w", err)
	}
	select {
	case <-s.exited:
		return nil
	case <-ctx.Done():
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("postgres did not stop in time, killed: %w", ctx.Err())
	}
}

func findBinDir() (string, error) {
	if p, err := exec.LookPath("postgres"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries not found: install them (Debian: apt-get install postgresql) or set DATABASE_URL to use an existing server")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// credential returns the OS user to run PostgreSQL as when we are root, and
// nil otherwise (the server then runs as the calling user).
func credential(name string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL refuses to run as root and OS user %q does not exist (create it, e.g. `useradd --system %s`, or run as a non-root user): %w", name, name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// checkReachable verifies that the OS user can traverse every parent of dir,
// and names the fix when it cannot (a checkout under a 0700 home, say).
func checkReachable(dir, name string, cred *syscall.Credential) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("checking %s: %w", p, err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode().Perm()
		ok := mode&0o001 != 0 ||
			(st.Uid == cred.Uid && mode&0o100 != 0) ||
			(st.Gid == cred.Gid && mode&0o010 != 0)
		if !ok {
			return fmt.Errorf("the embedded PostgreSQL runs as OS user %q, which cannot reach %s (%s, mode %v, does not let it in); "+
				"set DEVSMITH_DATA_DIR to a folder it can reach (e.g. /var/lib/devsmith), or run `chmod o+x %s`, or set DATABASE_URL",
				name, dir, p, mode, p)
		}
		if p == "/" {
			return nil
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
