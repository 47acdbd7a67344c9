package ingestion

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The flags' defaults are the defaults of a zero Config (the automatic
// ones stay 0), and valid.
func TestRegisterFlags(t *testing.T) {
	t.Parallel()
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	auto := c
	auto.Writers, auto.MaxConns = 0, 0
	d := Config{}.withDefaults()
	d.Writers, d.MaxConns = 0, 0
	require.Equal(t, d, auto)
	require.NoError(t, c.Validate())
	require.Equal(t, "30d", fs.Lookup("retention").DefValue)
	require.NoError(t, fs.Parse([]string{"--retention=2d", "--ingestion-writers=3", "--ingestion-queue-rows=100", "--ingestion-queue-bytes=1000", "--ingestion-max-conns=9"}))
	require.Equal(t, 48*time.Hour, c.Retention)
	require.Equal(t, 3, c.Writers)
	require.Equal(t, 100, c.QueueRows)
	require.Equal(t, 1000, c.QueueBytes)
	require.Equal(t, 9, c.PoolConns())
}

func TestPoolConnsCoverTheWriters(t *testing.T) {
	t.Parallel()
	require.Equal(t, 7, Config{Writers: 3}.PoolConns())
	require.Equal(t, 20, Config{Writers: 3, MaxConns: 20}.PoolConns())
	require.GreaterOrEqual(t, Config{}.PoolConns(), Config{}.withDefaults().Writers+2)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := Config{}.withDefaults()
	valid.Writers, valid.MaxConns = 0, 0
	for want, edit := range map[string]func(*Config){
		"--retention 30m: too short, at least 1h":       func(c *Config) { c.Retention = 30 * time.Minute },
		"--maintenance-interval 0s: must be positive":   func(c *Config) { c.MaintenanceInterval = 0 },
		"--max-batch-entries 0: must be at least 1":     func(c *Config) { c.MaxEntries = 0 },
		"--max-message-bytes -1: must be at least 1":    func(c *Config) { c.MaxMessageBytes = -1 },
		"--max-context-bytes 0: must be at least 1":     func(c *Config) { c.MaxContextBytes = 0 },
		"--ingestion-writers -2: must be at least 0":    func(c *Config) { c.Writers = -2 },
		"--ingestion-queue-rows 0: must be at least 1":  func(c *Config) { c.QueueRows = 0 },
		"--ingestion-queue-bytes 0: must be at least 1": func(c *Config) { c.QueueBytes = 0 },
		"--ingestion-max-conns 4: must be at least 6":   func(c *Config) { c.Writers, c.MaxConns = 4, 4 },
	} {
		c := valid
		edit(&c)
		require.ErrorContains(t, c.Validate(), want)
	}
}

// --archive-dir is created when missing, and refused, naming the variable,
// when it cannot be created or written.
func TestValidateArchiveDir(t *testing.T) {
	t.Parallel()
	valid := Config{}.withDefaults()
	valid.Writers, valid.MaxConns = 0, 0
	base := t.TempDir()
	file := filepath.Join(base, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))

	c := valid
	c.ArchiveDir = filepath.Join(base, "new", "archive")
	require.NoError(t, c.Validate())
	st, err := os.Stat(c.ArchiveDir)
	require.NoError(t, err)
	require.True(t, st.IsDir(), "created")
	left, err := os.ReadDir(c.ArchiveDir)
	require.NoError(t, err)
	require.Empty(t, left, "the write check leaves nothing")

	for _, dir := range []string{file, filepath.Join(file, "sub")} {
		c.ArchiveDir = dir
		err := c.Validate()
		require.ErrorContains(t, err, `--archive-dir (DEVSMITH_ARCHIVE_DIR) "`+dir+`": cannot be created`)
	}
}
