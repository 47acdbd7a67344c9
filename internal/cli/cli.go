// Package cli is the `devsmith` command-line client: sign in, manage
// projects, query, tail and send logs through the REST API (docs/cli.md).
// Everything it touches (arguments, standard streams, environment, the
// context that Ctrl-C cancels) is passed to Main, so it runs in-process in
// tests exactly as from the binary.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// Exit codes (docs/cli.md). A script can tell a usage mistake from a
// refusal, a missing sign-in and an unreachable server.
const (
	ExitOK          = 0 // done
	ExitFailed      = 1 // the server refused the request (4xx other than 401), or a local failure
	ExitUsage       = 2 // bad command line
	ExitAuth        = 3 // not signed in, session expired, invalid token or API key (401)
	ExitUnavailable = 4 // server unreachable, overloaded or failing (connection error, 5xx)
	ExitUndelivered = 5 // logs send: some lines were not stored
)

// Env is what the client reads from its surroundings.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Lookup reads an environment variable (os.LookupEnv).
	Lookup func(string) (string, bool)
	// HTTP is the client for every request; nil means a default one.
	HTTP *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (e Env) get(name string) string {
	if e.Lookup == nil {
		return ""
	}
	v, _ := e.Lookup(name)
	return v
}

// Main runs one client command (args without the program name, starting
// with the subcommand) and returns the exit code. ctx is cancelled on
// SIGINT/SIGTERM: tail stops, send flushes what it read.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.HTTP == nil {
		env.HTTP = &http.Client{}
	}
	if len(args) == 0 {
		writeUsage(env.Stderr)
		return ExitUsage
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "login":
		err = runLogin(ctx, env, rest)
	case "logout":
		err = runLogout(ctx, env, rest)
	case "projects":
		err = runProjects(ctx, env, rest)
	case "logs":
		err = runLogs(ctx, env, rest)
	case "version":
		fmt.Fprintln(env.Stdout, "devsmith", Version())
		return ExitOK
	case "help":
		if len(rest) > 0 {
			return Main(ctx, []string{rest[0], "--help"}, env)
		}
		writeUsage(env.Stdout)
		return ExitOK
	default:
		fmt.Fprintf(env.Stderr, "devsmith: unknown command %q\n", cmd)
		writeUsage(env.Stderr)
		return ExitUsage
	}
	name := cmd
	if len(rest) > 0 && (cmd == "projects" || cmd == "logs") && !strings.HasPrefix(rest[0], "-") {
		name += " " + rest[0]
	}
	return report(env.Stderr, name, err)
}

// Version is the module version the binary was built from ("(devel)" in a
// working tree).
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// Commands is the short list of client subcommands, for `devsmith --help`.
const Commands = `Client commands (devsmith <command> --help for each; docs/cli.md):
  login                 sign in and keep the session in the user's config folder
  logout                end the session and forget it
  projects list         projects you may read
  projects create       create a project (prints its API key once)
  projects rotate-key   give a project a new API key (prints it once)
  projects delete       delete a project (asks first unless --yes)
  logs query            entries matching filters, newest first
  logs tail             follow new entries live (Ctrl-C stops)
  logs send             ship stdin lines as entries (tail -F app.log | devsmith logs send --service app)
  logs export           write a gzip file of JSON lines of the matching entries (resumes when cut)
  version               the client's version
`

func writeUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: devsmith <command> [flags]    (without a command: run the platform; devsmith --help)\n\n")
	fmt.Fprint(w, Commands)
}

// exitError carries an exit code and a message for the user.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, msg: fmt.Sprintf(format, args...)}
}

func failErr(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

// report prints err (if any) as `devsmith <cmd>: message` and returns the
// exit code it stands for.
func report(stderr io.Writer, cmd string, err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	code := ExitFailed
	var ee *exitError
	var ae *APIError
	var ne *netError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case errors.As(err, &ae):
		code = ae.exitCode()
	case errors.As(err, &ne):
		code = ExitUnavailable
	}
	fmt.Fprintf(stderr, "devsmith %s: %s\n", cmd, strings.TrimSpace(err.Error()))
	return code
}
