package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// common are the flags every command takes.
type common struct {
	server string
	token  string
	output string
}

// newFlags is a subcommand's flag set with the common flags.
func newFlags(name string, c *common) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&c.server, "server", "", "server URL (env DEVSMITH_SERVER, else the one signed in to, else http://localhost:3000)")
	fs.StringVar(&c.token, "token", "", "session token (env DEVSMITH_TOKEN; default: the saved session)")
	fs.StringVar(&c.output, "output", "table", "table or json (JSON lines)")
	return fs
}

// parse reads flags and positional arguments in any order (flags may follow
// positional ones: `projects delete shop --yes`). "--" ends the flags.
func parse(fs *flag.FlagSet, usage string, args []string, w io.Writer) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				writeFlagHelp(w, usage, fs)
				return nil, flag.ErrHelp
			}
			return nil, usageErr("%v (devsmith %s --help)", err, fs.Name())
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func writeFlagHelp(w io.Writer, usage string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: devsmith %s\n\nFlags:\n", usage)
	fs.VisitAll(func(f *flag.Flag) {
		kind, text := flag.UnquoteUsage(f)
		if kind != "" {
			kind = " " + kind
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "  --%s%s\n        %s%s\n", f.Name, kind, text, def)
	})
}

// list is a repeatable flag; each value may also be comma-separated
// (`--level WARN,ERROR` = `--level WARN --level ERROR`).
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }

func (l *list) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// pairs is the repeatable --context k=v flag (values may hold commas).
type pairs [][2]string

func (p *pairs) String() string {
	var b []string
	for _, kv := range *p {
		b = append(b, kv[0]+"="+kv[1])
	}
	return strings.Join(b, " ")
}

func (p *pairs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(k), "context."))
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", s)
	}
	*p = append(*p, [2]string{k, v})
	return nil
}

func checkOutput(o string) error {
	if o != "table" && o != "json" {
		return usageErr("--output %q: want table or json", o)
	}
	return nil
}

func noArgs(cmd string, pos []string) error {
	if len(pos) > 0 {
		return usageErr("unexpected argument %q (devsmith %s --help)", pos[0], cmd)
	}
	return nil
}
