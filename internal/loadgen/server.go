package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Admin credentials of a platform the load generator starts itself.
const (
	AdminEmail    = "loadgen@example.com"
	AdminPassword = "loadgen-password-1"
)

// ServerConfig says how to start the all-in-one platform.
type ServerConfig struct {
	// Bin is the devsmith binary (the all-in-one).
	Bin string
	// Args are extra arguments (e.g. a "serve" subcommand of a wrapper).
	Args []string
	// DataDir is the embedded PostgreSQL's folder; empty makes a temporary
	// one that Stop removes.
	DataDir string
	// Env is added to the environment (DEVSMITH_* overrides).
	Env []string
	// LogPath receives the server's output; default DataDir/devsmith.log.
	LogPath string
}

// Server is a running all-in-one platform.
type Server struct {
	BaseURL      string
	IngestAddr   string // the ingestion service's gRPC address
	DSN          string // its embedded PostgreSQL
	DataDir      string
	cmd          *exec.Cmd
	done         chan struct{}
	removeData   bool
	logFile      *os.File
	startupLines []string
}

// StartServer runs the all-in-one on free loopback ports with its own
// embedded PostgreSQL and returns once it is ready.
func StartServer(ctx context.Context, cfg ServerConfig) (*Server, error) {
	s := &Server{done: make(chan struct{})}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "devsmith-loadgen-")
		if err != nil {
			return nil, fmt.Errorf("making a data dir: %w", err)
		}
		cfg.DataDir, s.removeData = dir, true
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("making data dir %s: %w", cfg.DataDir, err)
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolving data dir: %w", err)
	}
	cfg.DataDir = abs
	// The embedded PostgreSQL runs as another OS user when we are root; it
	// must be able to enter the folder.
	_ = os.Chmod(cfg.DataDir, 0o755)
	s.DataDir = cfg.DataDir
	s.DSN = fmt.Sprintf("host=%s user=devsmith dbname=devsmith sslmode=disable", filepath.Join(cfg.DataDir, "pg"))
	if cfg.LogPath == "" {
		cfg.LogPath = filepath.Join(cfg.DataDir, "devsmith.log")
	}
	if s.logFile, err = os.Create(cfg.LogPath); err != nil {
		return nil, fmt.Errorf("creating %s: %w", cfg.LogPath, err)
	}

	cmd := exec.Command(cfg.Bin, cfg.Args...)
	cmd.Env = append(os.Environ(),
		"DEVSMITH_DATA_DIR="+cfg.DataDir,
		"DATABASE_URL=",
		"DEVSMITH_HTTP_ADDR=127.0.0.1:0",
		"DEVSMITH_PROJECTS_ADDR=127.0.0.1:0",
		"DEVSMITH_INGESTION_ADDR=127.0.0.1:0",
		"DEVSMITH_QUERY_ADDR=127.0.0.1:0",
		"DEVSMITH_ANALYSIS_ADDR=127.0.0.1:0",
		"DEVSMITH_ADMIN_EMAIL="+AdminEmail,
		"DEVSMITH_ADMIN_PASSWORD="+AdminPassword,
		"DEVSMITH_LOG_FORMAT=json",
		"DEVSMITH_SHUTDOWN_DRAIN_DELAY=0",
		// The load is one project's keys: limits far above what it sends,
		// so the limiter's code runs in every benchmark without refusing
		// (docs/rate-limits.md).
		"DEVSMITH_RATE_LIMIT_REQUESTS_PER_MINUTE=1000000000",
		"DEVSMITH_RATE_LIMIT_LOGS_PER_SECOND=1000000000",
	)
	cmd.Env = append(cmd.Env, cfg.Env...)
	out, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = cmd.Stderr
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cfg.Bin, err)
	}
	s.cmd = cmd

	ready := make(chan error, 1)
	go s.follow(out, ready)
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	t := time.NewTimer(3 * time.Minute)
	defer t.Stop()
	select {
	case err := <-ready:
		if err != nil {
			s.Stop()
			return nil, err
		}
	case <-s.done:
		return nil, fmt.Errorf("%s exited during start:\n%s", cfg.Bin, strings.Join(s.startupLines, "\n"))
	case <-t.C:
		s.Stop()
		return nil, fmt.Errorf("%s did not become ready in 3 minutes", cfg.Bin)
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	}
	return s, nil
}

// follow reads the server's JSON log lines until it is ready (addresses
// known), then copies the rest to the log file.
func (s *Server) follow(r io.Reader, ready chan<- error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		s.logFile.Write(line)
		s.logFile.Write([]byte{'\n'})
		if len(s.startupLines) < 200 {
			s.startupLines = append(s.startupLines, string(line))
		}
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			continue
		}
		switch m["msg"] {
		case "gRPC service listening":
			if m["service"] == "ingestion" {
				s.IngestAddr, _ = m["addr"].(string)
			}
		case "gateway listening":
			addr, _ := m["addr"].(string)
			s.BaseURL = "http://" + addr
		case "startup failed":
			ready <- fmt.Errorf("the platform failed to start: %v", m["error"])
			_, _ = io.Copy(s.logFile, r)
			return
		}
		if s.BaseURL != "" && s.IngestAddr != "" {
			ready <- nil
			break
		}
	}
	_, _ = io.Copy(s.logFile, r)
}

// PID is the platform process.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// PostgresPID is the embedded postmaster's pid (0 when unknown).
func (s *Server) PostgresPID() int { return postmasterPID(filepath.Join(s.DataDir, "pg")) }

func postmasterPID(pgData string) int {
	b, err := os.ReadFile(filepath.Join(pgData, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	return pid
}

// Stop ends the platform (SIGTERM, then SIGKILL after a minute) and removes
// a temporary data dir.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(time.Minute):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	if s.logFile != nil {
		s.logFile.Close()
	}
	if s.removeData {
		_ = os.RemoveAll(s.DataDir)
	}
}

// Exited reports whether the platform has stopped.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

var errNoProc = errors.New("no such process")

// procStatusKB reads a "Key: N kB" line of /proc/pid/status.
func procStatusKB(pid int, key string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, errNoProc
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, err := strconv.ParseInt(f[0], 10, 64)
				return n, err
			}
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", key, pid)
}

// procStatus reads the "Key: N kB" lines of /proc/pid/status.
func procStatus(pid int) map[string]int64 {
	out := map[string]int64{}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.HasSuffix(v, " kB") {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, " kB")), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}

// children lists the direct children of pid.
func children(pid int) []int {
	var out []int
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; cut after ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 {
			if ppid, _ := strconv.Atoi(f[1]); ppid == pid {
				out = append(out, child)
			}
		}
	}
	return out
}

// cpuSeconds is the user+system CPU time of pid (USER_HZ = 100 ticks/s on
// Linux), 0 when it is gone.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return float64(u+st) / 100
}

// CPUMeter measures the CPU time a process (and, for PostgreSQL, its
// children: the backends) used over a window.
type CPUMeter struct {
	pid  int
	tree bool
	at   time.Time
	base map[int]float64
}

// NewCPUMeter starts a window for pid (with its children when tree).
func NewCPUMeter(pid int, tree bool) *CPUMeter {
	m := &CPUMeter{pid: pid, tree: tree}
	m.Reset()
	return m
}

func (m *CPUMeter) snapshot() map[int]float64 {
	out := map[int]float64{}
	if m.pid <= 0 {
		return out
	}
	out[m.pid] = cpuSeconds(m.pid)
	if m.tree {
		for _, c := range children(m.pid) {
			out[c] = cpuSeconds(c)
		}
	}
	return out
}

// Reset starts a new window.
func (m *CPUMeter) Reset() {
	m.at = time.Now()
	m.base = m.snapshot()
}

// Cores is the CPU used since Reset, in cores (CPU seconds per second).
// Processes that ended during the window are not counted.
func (m *CPUMeter) Cores() float64 {
	now := m.snapshot()
	used := 0.0
	for pid, v := range now {
		used += v - m.base[pid]
	}
	el := time.Since(m.at).Seconds()
	if el <= 0 {
		return 0
	}
	return used / el
}
