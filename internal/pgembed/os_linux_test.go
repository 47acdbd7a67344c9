package pgembed

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// dirtyPages is how many of f's pages the kernel holds dirty, not yet
// written back: per file (cachestat(2), Linux 6.5), so other processes'
// writes on a busy machine do not blur it as the global Dirty count would.
func dirtyPages(t *testing.T, f *os.File) uint64 {
	t.Helper()
	var st unix.Cachestat_t
	require.NoError(t, unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{}, &st, 0), "cachestat")
	return st.Dirty
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
	pages := uint64(128<<20) / uint64(os.Getpagesize())
	require.Greater(t, dirtyPages(t, f), pages*3/4, "the file's pages are dirty")

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { s.writeback(stop); close(done) }()
	defer func() { close(stop); <-done }()
	require.Eventually(t, func() bool { return dirtyPages(t, f) < pages/4 }, 10*time.Second, 50*time.Millisecond,
		"the loop has the kernel write the changed file well before its 30 s expiry")
}
