// Command devsmith runs DevSmith Logs: every service in one process
// (--target=all, the default) or one service per process. Given a
// subcommand (login, projects, logs, ...) it is the command-line client
// instead (internal/cli, docs/cli.md).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/devsmith/logs/internal/cli"
	"github.com/devsmith/logs/internal/platform"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 || len(args[0]) > 0 && args[0][0] == '-' {
		code := platform.Main(args, "")
		if code == 0 && wantsHelp(args) {
			fmt.Fprint(os.Stdout, "\n"+cli.Commands)
		}
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	// After the first signal (tail stops, send flushes) a second one ends
	// the process at once.
	context.AfterFunc(ctx, stop)
	code := cli.Main(ctx, args, cli.Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Lookup: os.LookupEnv,
	})
	stop()
	os.Exit(code)
}

// wantsHelp tells whether the platform's flags ask for --help (which the
// flag package accepts as -h, -help or --help, before any "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help", "--h":
			return true
		}
	}
	return false
}
