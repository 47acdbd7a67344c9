package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/term"
)

// credentials is the saved session (credentials.json): which server, the
// session token, until when, and as whom. Nothing else: never the password.
type credentials struct {
	Server string    `json:"server"`
	Token  string    `json:"token"`
	Expiry time.Time `json:"expiry"`
	Email  string    `json:"email,omitempty"`
}

// configDir is where the client keeps its files: DEVSMITH_CONFIG_DIR, else
// os.UserConfigDir()/devsmith, read through env so tests can point it away.
func configDir(env Env) (string, error) {
	if d := env.get("DEVSMITH_CONFIG_DIR"); d != "" {
		return d, nil
	}
	var base string
	switch runtime.GOOS {
	case "windows":
		base = env.get("AppData")
	case "darwin", "ios":
		if h := env.get("HOME"); h != "" {
			base = filepath.Join(h, "Library", "Application Support")
		}
	default:
		base = env.get("XDG_CONFIG_HOME")
		if base == "" || !filepath.IsAbs(base) {
			base = ""
			if h := env.get("HOME"); h != "" {
				base = filepath.Join(h, ".config")
			}
		}
	}
	if base == "" {
		return "", failErr(ExitFailed, "cannot find the user's config folder (HOME is not set; set DEVSMITH_CONFIG_DIR)")
	}
	return filepath.Join(base, "devsmith"), nil
}

func credentialsPath(env Env) (string, error) {
	d, err := configDir(env)
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "credentials.json"), nil
}

// loadCredentials returns the saved session, nil when there is none.
func loadCredentials(env Env) (*credentials, error) {
	p, err := credentialsPath(env)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the saved session: %w", err)
	}
	var c credentials
	if err := json.Unmarshal(b, &c); err != nil || c.Token == "" {
		return nil, failErr(ExitAuth, "the saved session %s is unreadable: run `devsmith login` again", p)
	}
	return &c, nil
}

// saveCredentials writes the session with mode 0600 in a 0700 folder,
// atomically (a temporary file renamed over the old one).
func saveCredentials(env Env, c credentials) (string, error) {
	p, err := credentialsPath(env)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("restricting %s: %w", dir, err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding the session: %w", err)
	}
	f, err := os.CreateTemp(dir, ".credentials-*.json")
	if err != nil {
		return "", fmt.Errorf("saving the session: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return "", fmt.Errorf("saving the session: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return "", fmt.Errorf("saving the session: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("saving the session: %w", err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return "", fmt.Errorf("saving the session: %w", err)
	}
	return p, nil
}

// terminalFd is the file descriptor of r when it is a terminal.
func terminalFd(r any) (int, bool) {
	f, ok := r.(interface{ Fd() uintptr })
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

func runLogin(ctx context.Context, env Env, args []string) error {
	var c common
	usage := "login [--email you@example.com] [--server URL]"
	fs := newFlags("login", &c)
	email := fs.String("email", "", "the account's email (env DEVSMITH_EMAIL; asked when stdin is a terminal)")
	pos, err := parse(fs, usage+"\n\nThe password is asked without echo on a terminal, else read as the first line\nof stdin, or taken from DEVSMITH_PASSWORD.", args, env.Stdout)
	if err != nil {
		return err
	}
	if err := noArgs("login", pos); err != nil {
		return err
	}
	saved, err := loadCredentials(env)
	if err != nil {
		saved = nil // a garbled file is replaced by this sign-in
	}
	server, err := resolveServer(env, c, saved)
	if err != nil {
		return err
	}
	if *email == "" {
		*email = env.get("DEVSMITH_EMAIL")
	}
	stdin := bufio.NewReader(env.Stdin)
	fd, tty := terminalFd(env.Stdin)
	if *email == "" {
		if !tty {
			return usageErr("--email is required when stdin is not a terminal (or set DEVSMITH_EMAIL)")
		}
		fmt.Fprint(env.Stderr, "Email: ")
		line, err := stdin.ReadString('\n')
		if err != nil && line == "" {
			return usageErr("no email given")
		}
		*email = strings.TrimSpace(line)
	}
	password, ok := env.Lookup("DEVSMITH_PASSWORD")
	if !ok || password == "" {
		if tty {
			b, err := readPassword(fd, env.Stderr, "Password: ")
			if err != nil {
				return fmt.Errorf("reading the password: %w", err)
			}
			password = string(b)
		} else {
			line, err := stdin.ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("reading the password from stdin: %w", err)
			}
			password = strings.TrimRight(line, "\r\n")
		}
	}
	if password == "" {
		return usageErr("no password given (type it, pipe it on stdin, or set DEVSMITH_PASSWORD)")
	}
	cl := &client{http: env.HTTP, server: server}
	var res struct {
		Token      string    `json:"token"`
		ExpireTime time.Time `json:"expire_time"`
		User       struct {
			Email string `json:"email"`
			Role  string `json:"role"`
		} `json:"user"`
	}
	if err := cl.do(ctx, "POST", "/api/auth/login", nil, map[string]string{"email": *email, "password": password}, &res); err != nil {
		return err
	}
	if res.Token == "" {
		return failErr(ExitFailed, "the server answered without a session token")
	}
	p, err := saveCredentials(env, credentials{Server: server, Token: res.Token, Expiry: res.ExpireTime, Email: res.User.Email})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Signed in to %s as %s (%s) until %s; session saved in %s\n",
		server, res.User.Email, res.User.Role, res.ExpireTime.Local().Format("2006-01-02 15:04"), p)
	return nil
}

func runLogout(ctx context.Context, env Env, args []string) error {
	var c common
	usage := "logout"
	set := newFlags("logout", &c)
	pos, err := parse(set, usage, args, env.Stdout)
	if err != nil {
		return err
	}
	if err := noArgs("logout", pos); err != nil {
		return err
	}
	p, err := credentialsPath(env)
	if err != nil {
		return err
	}
	saved, _ := loadCredentials(env)
	if saved == nil && c.token == "" && env.get("DEVSMITH_TOKEN") == "" {
		fmt.Fprintln(env.Stdout, "Not signed in.")
		return nil
	}
	var apiErr error
	if cl, err := sessionClient(env, c); err == nil {
		apiErr = cl.do(ctx, "POST", "/api/auth/logout", nil, struct{}{}, nil)
		var ae *APIError
		if errors.As(apiErr, &ae) && ae.Status == 401 {
			apiErr = nil // the session had already ended
		}
	}
	if saved != nil {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing the saved session: %w", err)
		}
	}
	if apiErr != nil {
		return fmt.Errorf("the saved session was removed, but the server did not end it: %w", apiErr)
	}
	fmt.Fprintln(env.Stdout, "Signed out.")
	return nil
}
