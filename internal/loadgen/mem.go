package loadgen

import (
	"context"
	"sync"
	"time"
)

// MemSample is what a MemWatch saw over a window.
type MemSample struct {
	ServerPeakRSSKB   int64 // the platform process: highest VmRSS sampled
	ServerHWMKB       int64 // the platform process: VmHWM (peak over its life)
	PostgresPeakPssKB int64 // embedded PostgreSQL, all its processes: highest Σ RssAnon + largest RssShmem + largest RssFile
	PostgresPeakRSSKB int64 // highest VmRSS of any one PostgreSQL process
}

// pgEvery is how often PostgreSQL's memory is sampled.
const pgEvery = time.Second

// MemWatch samples the memory of the platform and its PostgreSQL.
type MemWatch struct {
	serverPID, pgPID int
	every            time.Duration

	mu   sync.Mutex
	peak MemSample
}

// NewMemWatch watches serverPID and the PostgreSQL process tree under
// pgPID; either may be 0 (not watched).
func NewMemWatch(serverPID, pgPID int, every time.Duration) *MemWatch {
	return &MemWatch{serverPID: serverPID, pgPID: pgPID, every: every}
}

// Run samples until ctx ends.
func (m *MemWatch) Run(ctx context.Context) {
	t := time.NewTicker(m.every)
	defer t.Stop()
	pgTree := []int{}
	lastTree := time.Time{}
	lastPG := time.Time{}
	for {
		var s MemSample
		if m.serverPID > 0 {
			s.ServerPeakRSSKB, _ = procStatusKB(m.serverPID, "VmRSS")
		}
		// PostgreSQL's processes share shared_buffers and the binary: count
		// each one's private memory (RssAnon) and the shared parts once
		// (the largest RssShmem and RssFile). /proc/pid/smaps_rollup's Pss would be exact but
		// walks every page table: measured at 5% of both cores.
		if m.pgPID > 0 && time.Since(lastPG) >= pgEvery {
			lastPG = time.Now()
			if time.Since(lastTree) > 5*time.Second {
				pgTree = append([]int{m.pgPID}, children(m.pgPID)...)
				lastTree = time.Now()
			}
			var shared, files int64
			for _, pid := range pgTree {
				st := procStatus(pid)
				s.PostgresPeakPssKB += st["RssAnon"]
				shared = max(shared, st["RssShmem"])
				files = max(files, st["RssFile"])
				s.PostgresPeakRSSKB = max(s.PostgresPeakRSSKB, st["VmRSS"])
			}
			s.PostgresPeakPssKB += shared + files
		}
		m.mu.Lock()
		m.peak.ServerPeakRSSKB = max(m.peak.ServerPeakRSSKB, s.ServerPeakRSSKB)
		m.peak.PostgresPeakPssKB = max(m.peak.PostgresPeakPssKB, s.PostgresPeakPssKB)
		m.peak.PostgresPeakRSSKB = max(m.peak.PostgresPeakRSSKB, s.PostgresPeakRSSKB)
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Take returns the peaks since the last Take and starts a new window.
func (m *MemWatch) Take() MemSample {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.peak
	m.peak = MemSample{}
	if m.serverPID > 0 {
		p.ServerHWMKB, _ = procStatusKB(m.serverPID, "VmHWM")
	}
	return p
}
