package pgembed

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// osSettings are the server settings of this OS: backends evicting dirty
// pages of a growing table ask the kernel to write them back at once
// (every 256 kB) instead of leaving them to its 30 s dirty-page expiry,
// whose bursts (450 MB in a second, measured) held up every commit's WAL
// flush by 100-200 ms.
func osSettings() []string { return []string{"-c", "backend_flush_after=256kB"} }

// procAttr starts the server in its own process group, as cred, and stops
// it (Pdeathsig) if this process dies.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGINT}
}

// writeback starts the kernel writing the data files changed in the last
// seconds, every second, without waiting for the writes
// (sync_file_range(SYNC_FILE_RANGE_WRITE)), until stop is closed.
//
// PostgreSQL 15 grows tables and indexes by writing zero-filled pages
// through the page cache. Left to the kernel's dirty-page expiry (30 s),
// the new pages of a busy table are written in one burst of hundreds of MB,
// and every commit's WAL flush queues behind it: 100-200 ms stalls of all
// batches once every 30 s under steady ingestion (measured, see
// docs/performance.md). PostgreSQL's own *_flush_after settings cover the
// pages it writes from shared buffers, not these. Durability does not
// depend on this loop: PostgreSQL fsyncs what it must.
func (s *Server) writeback(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	base := filepath.Join(s.pgData(), "base")
	last := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		since := last.Add(-time.Second) // overlap: mtime has coarse ticks
		last = time.Now()
		_ = filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			info, err := d.Info()
			if err != nil || info.ModTime().Before(since) {
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				return nil // dropped meanwhile (a partition past retention)
			}
			_ = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
			_ = f.Close()
			return nil
		})
	}
}

// childPIDs lists the processes whose parent is pid, from /proc.
func childPIDs(pid int) ([]int, error) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, d := range dirs {
		child, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(stat[i+1:])
		if len(f) > 1 {
			if ppid, err := strconv.Atoi(string(f[1])); err == nil && ppid == pid {
				out = append(out, child)
			}
		}
	}
	return out, nil
}
