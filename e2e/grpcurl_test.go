package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// grpcurlPath finds grpcurl (`make tools` installs it into GOPATH/bin).
func grpcurlPath(t *testing.T) string {
	if p, err := exec.LookPath("grpcurl"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	require.NoError(t, err)
	p := filepath.Join(strings.TrimSpace(string(out)), "bin", "grpcurl")
	_, err = os.Stat(p)
	require.NoError(t, err, "grpcurl is needed: run `make tools`")
	return p
}

// docScript is every ```sh block of a doc, in order, as one script.
func docScript(t *testing.T, path string) string {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var b strings.Builder
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "```sh":
			in = true
		case in && line == "```":
			in = false
			b.WriteString("\n")
		case in:
			b.WriteString(line + "\n")
		}
	}
	require.NoError(t, sc.Err())
	return b.String()
}

// The recipes of docs/grpc.md, run as written (one bash script, stopping at
// the first failure) against the all-in-one: its ports put where the doc
// says localhost:910x, its admin's password for the doc's; the tail, which
// follows until Ctrl-C, stopped after 3 seconds. Each call must succeed
// and the answers the later recipes read (token, key, ids) must be there.
func TestGRPCDocRecipes(t *testing.T) {
	t.Parallel()
	grpcurl := grpcurlPath(t)
	dsn := cluster.NewDatabase(t)
	pl, p := startOnDatabase(t, dsn)
	addrs := map[string]string{}
	for port, s := range map[string]string{"9101": "projects", "9102": "ingestion", "9103": "query", "9104": "analysis"} {
		addrs[port] = serviceAddr(t, p, s)
	}
	_ = pl

	script := docScript(t, "../docs/grpc.md")
	require.Contains(t, script, "TailEntries")
	for port, addr := range addrs {
		script = strings.ReplaceAll(script, "localhost:"+port, addr)
	}
	script = strings.ReplaceAll(script, `"password":"change-me-now"`, `"password":"`+adminPassword+`"`)
	var lines []string
	for _, l := range strings.Split(script, "\n") {
		if strings.Contains(l, "QueryService/TailEntries") {
			// The tail streams until stopped: stop it, and demand it was
			// still running (killed: 143) rather than failed.
			l += " & TAIL=$!; sleep 3; kill $TAIL; wait $TAIL || [ $? = 143 ]"
		}
		lines = append(lines, l)
	}
	script = "set -euo pipefail\n" + strings.Join(lines, "\n") + `
test -n "$TOKEN" && test -n "$KEY" && test -n "$PROJECT_ID" && test -n "$GROUP"
echo "RECIPES OK"
`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(grpcurl)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "script:\n%s\noutput:\n%s", script, out)
	require.Contains(t, string(out), "RECIPES OK")
	for _, want := range []string{
		`"email": "admin@example.com"`, // GetCurrentUser
		`"slug": "grpc-app"`,           // ListProjects, GetProject
		`"count": 2`,                   // IngestBatch
		`"batches": "2"`,               // IngestStream
		`payment 7 failed: timeout`,    // ListEntries, the tail, the error group
		`"status": "resolved"`,         // UpdateErrorGroup
		`"action": "auth.login"`,       // ListAuditEvents
		"Code: Unauthenticated",
	} {
		require.Contains(t, string(out), want, "output:\n%s", out)
	}
}
