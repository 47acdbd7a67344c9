package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// entry is the part of an API entry the table shows; the JSON output
// writes the entry's own bytes (raw), so context numbers keep every digit.
type entry struct {
	ID          json.Number     `json:"id"`
	ProjectSlug string          `json:"project_slug"`
	ServiceName string          `json:"service_name"`
	Timestamp   time.Time       `json:"timestamp"`
	Level       string          `json:"level"`
	Message     string          `json:"message"`
	Context     json.RawMessage `json:"context"`
}

// printer writes entries as a table or as JSON lines.
type printer struct {
	w           io.Writer
	json        bool
	color       bool
	showProject bool
}

// newPrinter decides the colours: only on a terminal, and never when
// NO_COLOR is set (https://no-color.org) or TERM is dumb.
func newPrinter(env Env, output string, showProject bool) *printer {
	_, tty := terminalFd(env.Stdout)
	_, noColor := env.Lookup("NO_COLOR")
	return &printer{
		w:           env.Stdout,
		json:        output == "json",
		color:       tty && !noColor && env.get("TERM") != "dumb",
		showProject: showProject,
	}
}

const (
	ansiReset  = "\x1b[0m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiBRed   = "\x1b[1;31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiCyan   = "\x1b[36m"
)

func levelColor(level string) string {
	switch level {
	case "FATAL":
		return ansiBRed
	case "ERROR":
		return ansiRed
	case "WARN":
		return ansiYellow
	case "INFO":
		return ansiGreen
	default:
		return ansiDim
	}
}

// header is the table's first line (nothing for JSON).
func (p *printer) header() {
	if p.json {
		return
	}
	h := fmt.Sprintf("%-24s %-5s %s%-16s %s", "TIME", "LEVEL", p.projectCol("PROJECT"), "SERVICE", "MESSAGE")
	if p.color {
		h = ansiDim + h + ansiReset
	}
	fmt.Fprintln(p.w, strings.TrimRight(h, " "))
}

func (p *printer) projectCol(s string) string {
	if !p.showProject {
		return ""
	}
	return fmt.Sprintf("%-16s ", s)
}

// entry writes one API entry given as its JSON object.
func (p *printer) entry(raw []byte) error {
	if p.json {
		return writeJSONLine(p.w, raw)
	}
	var e entry
	if err := json.Unmarshal(raw, &e); err != nil {
		return fmt.Errorf("decoding an entry: %w", err)
	}
	_, err := io.WriteString(p.w, p.formatRow(e)+"\n")
	return err
}

// formatRow is one table line: UTC time to the millisecond, level, service
// and the message on one line (newlines shown as \n), then the context
// when it is not empty.
func (p *printer) formatRow(e entry) string {
	ts := e.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z")
	level := fmt.Sprintf("%-5s", e.Level)
	proj := p.projectCol(e.ProjectSlug)
	svc := fmt.Sprintf("%-16s", e.ServiceName)
	msg := oneLine(e.Message)
	ctx := ""
	var b bytes.Buffer
	if len(e.Context) > 0 && json.Compact(&b, e.Context) == nil && b.String() != "{}" && b.String() != "null" {
		ctx = " " + b.String()
	}
	if p.color {
		ts = ansiDim + ts + ansiReset
		level = levelColor(e.Level) + level + ansiReset
		svc = ansiCyan + svc + ansiReset
		if ctx != "" {
			ctx = ansiDim + ctx + ansiReset
		}
	}
	return ts + " " + level + " " + proj + svc + " " + msg + ctx
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`, "\t", " ").Replace(s)
}

// writeJSONLine writes a JSON value compacted on one line. Compacting
// copies number literals as they are: nothing goes through float64.
func writeJSONLine(w io.Writer, raw []byte) error {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return fmt.Errorf("compacting JSON: %w", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}
