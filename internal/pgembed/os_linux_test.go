package pgembed

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// dirtyKB is the kernel's count of dirty page-cache memory.
func dirtyKB(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/meminfo")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Dirty:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no Dirty line in /proc/meminfo")
	return 0
}

func TestWritebackStartsWritingChangedDataFiles(t *testing.T) {
	s := &Server{cfg: Config{DataDir: t.TempDir()}}
	dir := filepath.Join(s.pgData(), "base", "16384")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	// 128 MB of new pages, as a growing table leaves them: dirty in the
	// page cache, which the kernel would write back only after 30 s.
	f, err := os.Create(filepath.Join(dir, "16385"))
	require.NoError(t, err)
	defer f.Close()
	page := make([]byte, 1<<20)
	for range 128 {
		_, err := f.Write(page)
		require.NoError(t, err)
	}
	before := dirtyKB(t)
	require.Greater(t, before, int64(100<<10), "the file's pages are dirty")

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { s.writeback(stop); close(done) }()
	defer func() { close(stop); <-done }()
	require.Eventually(t, func() bool { return dirtyKB(t) < before-(100<<10) }, 10*time.Second, 50*time.Millisecond,
		"the loop has the kernel write the changed file well before its 30 s expiry")
}
