package query

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	require.Equal(t, Config{MaxPageSize: 1000, DefaultPageSize: 100, SearchCountCap: 10000, TailBuffer: 1000, MaxConns: 16}, Config{}.withDefaults())
	require.Equal(t, Config{MaxPageSize: 50, DefaultPageSize: 50, SearchCountCap: 10, TailBuffer: 5, MaxConns: 3},
		Config{MaxPageSize: 50, DefaultPageSize: 80, SearchCountCap: 10, TailBuffer: 5, MaxConns: 3}.withDefaults())
}

// The flags' defaults are the defaults of a zero Config, and valid.
func TestRegisterFlags(t *testing.T) {
	t.Parallel()
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	require.Equal(t, Config{}.withDefaults(), c)
	require.NoError(t, c.Validate())
	require.NoError(t, fs.Parse([]string{"--max-page-size=200", "--default-page-size=20", "--search-count-cap=7", "--tail-buffer=9", "--query-max-conns=4"}))
	require.Equal(t, Config{MaxPageSize: 200, DefaultPageSize: 20, SearchCountCap: 7, TailBuffer: 9, MaxConns: 4}, c)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := Config{}.withDefaults()
	for want, edit := range map[string]func(*Config){
		"--max-page-size 0: must be at least 1":                      func(c *Config) { c.MaxPageSize = 0 },
		"--default-page-size 2000: larger than --max-page-size 1000": func(c *Config) { c.DefaultPageSize = 2000 },
		"--default-page-size -1: must be at least 1":                 func(c *Config) { c.DefaultPageSize = -1 },
		"--search-count-cap 0: must be at least 1":                   func(c *Config) { c.SearchCountCap = 0 },
		"--tail-buffer 0: must be at least 1":                        func(c *Config) { c.TailBuffer = 0 },
		"--query-max-conns 1: must be at least 2":                    func(c *Config) { c.MaxConns = 1 },
	} {
		c := valid
		edit(&c)
		require.ErrorContains(t, c.Validate(), want)
	}
}
