package fingerprint

import (
	"strconv"
	"strings"
)

// parse reads the stack trace s into f.frames (innermost first), f.typ and
// f.msg, the language told by its first frame or header line: a Go
// goroutine dump, a Python traceback, a Java/Kotlin or a Node/V8 trace.
// Text that is none of them leaves no frames.
func (f *Fingerprinter) parse(s string) {
	for rest := s; rest != ""; {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		t := strings.TrimSpace(line)
		switch {
		case isGoroutineHeader(t):
			f.parseGo(s)
			return
		case t == "Traceback (most recent call last):" || strings.HasPrefix(t, `File "`) && line != t:
			f.parsePython(s)
			return
		case strings.HasPrefix(t, "at ") && line != t:
			if _, ok := javaFrame(t[3:]); ok {
				f.parseJava(s)
			} else {
				f.parseNode(s)
			}
			return
		}
	}
}

// lines calls fn with each line of s, without its line break.
func lines(s string, fn func(line string) bool) {
	for s != "" {
		var line string
		line, s, _ = strings.Cut(s, "\n")
		if !fn(strings.TrimSuffix(line, "\r")) {
			return
		}
	}
}

// basename is the last element of a path ('/' or '\' separated).
func basename(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' || p[i] == '\\' {
			return p[i+1:]
		}
	}
	return p
}

// cutLineNumbers removes up to two trailing ":digits" (line, column).
func cutLineNumbers(s string) string {
	for range 2 {
		i := strings.LastIndexByte(s, ':')
		if i < 0 || i == len(s)-1 || !allDigits(s[i+1:]) {
			break
		}
		s = s[:i]
	}
	return s
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// splitException reads an exception line "Type: message" (or "Type"); typ
// is "" when the line does not start with a type name.
func splitException(line string) (typ, msg string) {
	line = strings.TrimSpace(line)
	if t, m, ok := strings.Cut(line, ": "); ok && isTypeName(t) {
		return t, strings.TrimSpace(m)
	}
	if strings.HasSuffix(line, ":") && isTypeName(line[:len(line)-1]) {
		return line[:len(line)-1], ""
	}
	if isTypeName(line) {
		return line, ""
	}
	return "", line
}

// --- Node / V8 ---

// parseNode reads a V8 stack: the error's "Type: message" line, then
// "    at fn (file:line:col)", "    at file:line:col", "    at async fn
// (...)", "    at new C (...)", "    at fn [as alias] (...)".
func (f *Fingerprinter) parseNode(s string) {
	header := true
	lines(s, func(line string) bool {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "at ") && line != t {
			header = false
			f.frames = append(f.frames, nodeFrame(t[3:]))
			return true
		}
		if header && t != "" && f.typ == "" && f.msg == "" {
			f.typ, f.msg = splitException(t)
		}
		return true
	})
}

// nodeFrame normalises a V8 frame (after "at ").
func nodeFrame(s string) frame {
	s = strings.TrimPrefix(s, "async ")
	fn, loc := "", s
	if strings.HasSuffix(s, ")") {
		if i := strings.Index(s, " ("); i >= 0 {
			fn, loc = s[:i], s[i+2:len(s)-1]
		}
	}
	if strings.HasPrefix(loc, "eval at ") {
		// "eval at outer (file:1:2), <anonymous>:1:1": the evaluating file.
		if i := strings.LastIndexByte(loc, '('); i >= 0 {
			loc = loc[i+1:]
			if j := strings.IndexByte(loc, ')'); j >= 0 {
				loc = loc[:j]
			}
		}
	}
	fn = strings.TrimPrefix(fn, "new ")
	if i := strings.Index(fn, " [as "); i >= 0 {
		fn = fn[:i]
	}
	if fn == "Object.<anonymous>" || fn == "<anonymous>" {
		fn = ""
	}
	loc = strings.TrimPrefix(loc, "file://")
	path := cutLineNumbers(loc)
	app := !(strings.HasPrefix(path, "node:") ||
		strings.HasPrefix(path, "internal/") ||
		strings.Contains(path, "node_modules/") || strings.Contains(path, `node_modules\`) ||
		path == "<anonymous>" || path == "native" || strings.HasPrefix(path, "index "))
	file := basename(path)
	if path == "<anonymous>" || path == "native" || strings.HasPrefix(path, "index ") {
		file = ""
	}
	return frame{fn: fn, file: file, app: app}
}

// --- Python ---

// parsePython reads a traceback: `  File "path", line N, in func` frames
// (outermost first) and the exception line "module.Type: message" after
// them. Of chained exceptions ("During handling of the above exception",
// "The above exception was the direct cause") the last one printed, the one
// that propagated, is kept.
func (f *Fingerprinter) parsePython(s string) {
	afterFrames := false
	lines(s, func(line string) bool {
		t := strings.TrimSpace(line)
		switch {
		case t == "Traceback (most recent call last):":
			f.frames, f.typ, f.msg, afterFrames = f.frames[:0], "", "", false
		case strings.HasPrefix(t, `File "`) && line != t:
			if fr, ok := pythonFrame(t); ok {
				f.frames = append(f.frames, fr)
				afterFrames = true
			}
		case afterFrames && t != "" && line[0] != ' ' && line[0] != '\t':
			f.typ, f.msg = splitException(t)
			if f.typ == "" {
				f.msg = ""
			}
			afterFrames = false
		}
		return true
	})
	// Innermost first, as every other language.
	for i, j := 0, len(f.frames)-1; i < j; i, j = i+1, j-1 {
		f.frames[i], f.frames[j] = f.frames[j], f.frames[i]
	}
}

// pythonFrame reads `File "path", line N, in func`.
func pythonFrame(t string) (frame, bool) {
	rest := t[len(`File "`):]
	end := strings.Index(rest, `"`)
	if end < 0 {
		return frame{}, false
	}
	path := rest[:end]
	fn := ""
	if i := strings.LastIndex(rest[end:], ", in "); i >= 0 {
		fn = strings.TrimSpace(rest[end+i+len(", in "):])
	}
	return frame{fn: fn, file: basename(path), app: pythonInApp(path)}, true
}

// pythonInApp: not an installed package (site-packages, dist-packages), not
// the standard library (lib/pythonX.Y/), not a frozen module.
func pythonInApp(path string) bool {
	if strings.Contains(path, "site-packages") || strings.Contains(path, "dist-packages") || strings.HasPrefix(path, "<frozen ") {
		return false
	}
	for p := path; ; {
		i := strings.Index(p, "/lib/python")
		if i < 0 {
			return true
		}
		p = p[i+len("/lib/python"):]
		if p != "" && p[0] >= '0' && p[0] <= '9' {
			return false
		}
	}
}

// --- Go ---

// parseGo reads a goroutine dump (a crash's, or debug.Stack's): the
// panicking goroutine's frames, "pkg.fn(args)" then "\t/path/file.go:NN
// +0x1f", "created by pkg.fn in goroutine N". Frames inside the panic
// machinery (a recovering deferred function and runtime.gopanic, above the
// outermost "panic(...)" frame) are not the failure's. The type is "panic"
// ("runtime error" for the runtime's panics, "fatal error" for a fatal
// error) and the message the "panic: ..." line's, when the dump has one.
func (f *Fingerprinter) parseGo(s string) {
	inGoroutine, done := false, false
	var fn string
	lines(s, func(line string) bool {
		t := strings.TrimSpace(line)
		switch {
		case done:
			return false
		case !inGoroutine:
			if m, ok := strings.CutPrefix(t, "panic: "); ok {
				f.typ, f.msg = "panic", goPanicMessage(m)
				if strings.HasPrefix(f.msg, "runtime error: ") {
					f.typ = "runtime error"
				}
			} else if m, ok := strings.CutPrefix(t, "fatal error: "); ok {
				f.typ, f.msg = "fatal error", m
			} else if isGoroutineHeader(t) {
				inGoroutine = true
			}
		case t == "" || isGoroutineHeader(t):
			done = len(f.frames) > 0 // the next goroutine is not the failing one
		case line[0] == '\t':
			if fn != "" {
				f.frames = append(f.frames, goFrame(fn, t))
				fn = ""
			}
		default:
			fn = t
		}
		return true
	})
	// Above the outermost panic(...) frame: the recovery, not the failure.
	for i := len(f.frames) - 1; i >= 0; i-- {
		if f.frames[i].fn == "panic" {
			f.frames = append(f.frames[:0], f.frames[i+1:]...)
			break
		}
	}
}

func isGoroutineHeader(t string) bool {
	if !strings.HasPrefix(t, "goroutine ") || !strings.HasSuffix(t, "]:") {
		return false
	}
	n, _, _ := strings.Cut(t[len("goroutine "):], " ")
	return allDigits(n)
}

// goPanicMessage drops the " [recovered]" marks of a re-panic.
func goPanicMessage(m string) string {
	if i := strings.Index(m, " [recovered"); i >= 0 {
		m = m[:i]
	}
	return strings.TrimSpace(m)
}

// goFrame normalises a function line and its file line.
func goFrame(fn, fileLine string) frame {
	if c, ok := strings.CutPrefix(fn, "created by "); ok {
		fn = c
		if i := strings.Index(fn, " in goroutine "); i >= 0 {
			fn = fn[:i]
		}
	} else if strings.HasSuffix(fn, ")") {
		if i := strings.LastIndexByte(fn, '('); i > 0 {
			fn = fn[:i]
		}
	}
	path := fileLine
	if i := strings.Index(path, " +0x"); i >= 0 {
		path = path[:i]
	}
	path = cutLineNumbers(strings.TrimSpace(path))
	return frame{fn: fn, file: basename(path), app: goInApp(fn, path)}
}

// goInApp: not the runtime's or the standard library's (a package whose
// import path starts with one of Go's top-level standard names), not a
// dependency's (the module cache, vendor/).
func goInApp(fn, path string) bool {
	if strings.Contains(path, "/pkg/mod/") || strings.Contains(path, "/vendor/") || strings.HasPrefix(path, "vendor/") {
		return false
	}
	pkg := fn
	slash := strings.LastIndexByte(pkg, '/')
	if i := strings.IndexByte(pkg[slash+1:], '.'); i >= 0 {
		pkg = pkg[:slash+1+i]
	}
	if pkg == "main" {
		return true
	}
	root, _, _ := strings.Cut(pkg, "/")
	return strings.Contains(root, ".") || !goStdRoots[root]
}

// goStdRoots are the first elements of the standard library's import paths.
var goStdRoots = map[string]bool{
	"archive": true, "arena": true, "bufio": true, "builtin": true, "bytes": true, "cmd": true, "cmp": true,
	"compress": true, "container": true, "context": true, "crypto": true, "database": true, "debug": true,
	"embed": true, "encoding": true, "errors": true, "expvar": true, "flag": true, "fmt": true, "go": true,
	"hash": true, "html": true, "image": true, "index": true, "internal": true, "io": true, "iter": true,
	"log": true, "maps": true, "math": true, "mime": true, "net": true, "os": true, "path": true,
	"plugin": true, "reflect": true, "regexp": true, "runtime": true, "slices": true, "sort": true,
	"strconv": true, "strings": true, "structs": true, "sync": true, "syscall": true, "testing": true,
	"text": true, "time": true, "unicode": true, "unique": true, "unsafe": true, "vendor": true, "weak": true,
	"panic": true, // the panic(...) frame itself
}

// --- Java / Kotlin ---

// javaBlock is one exception of a Java trace: the first, or a "Caused by:".
type javaBlock struct {
	typ, msg   string
	start, end int // its frames in f.frames
	more       int // "... N more": its trace's last N frames are its enclosing one's
}

// parseJava reads a JVM trace: "pkg.Type: message", "\tat
// pkg.Class.method(File.java:NN)", "\t... N more", "Caused by: ...";
// "Suppressed:" blocks are skipped. It keeps the root cause (the last
// "Caused by:"), its type and message, and its whole stack: its own frames
// and the frames it shares with its enclosing exception ("... N more"), so
// that a cause thrown inside a library still has the application's
// frames.
func (f *Fingerprinter) parseJava(s string) {
	f.blocks = f.blocks[:0]
	skipIndent := -1
	lines(s, func(line string) bool {
		t := strings.TrimLeft(line, " \t")
		indent := len(line) - len(t)
		t = strings.TrimSpace(t)
		if skipIndent >= 0 {
			if indent > skipIndent {
				return true
			}
			skipIndent = -1
		}
		switch {
		case t == "":
		case strings.HasPrefix(t, "Suppressed: "):
			skipIndent = indent
		case strings.HasPrefix(t, "at "):
			fr, ok := javaFrame(t[3:])
			if !ok {
				return true
			}
			if len(f.blocks) == 0 {
				f.blocks = append(f.blocks, javaBlock{start: len(f.frames)})
			}
			f.frames = append(f.frames, fr)
			f.blocks[len(f.blocks)-1].end = len(f.frames)
		case strings.HasPrefix(t, "... ") && strings.HasSuffix(t, " more"):
			if n, err := strconv.Atoi(t[4 : len(t)-5]); err == nil && len(f.blocks) > 0 {
				f.blocks[len(f.blocks)-1].more = n
			}
		case strings.HasPrefix(t, "Caused by: "):
			b := javaBlock{start: len(f.frames), end: len(f.frames)}
			b.typ, b.msg = splitException(t[len("Caused by: "):])
			f.blocks = append(f.blocks, b)
		case len(f.blocks) == 0:
			if i := strings.Index(t, `Exception in thread "`); i == 0 {
				if j := strings.Index(t[len(`Exception in thread "`):], `" `); j >= 0 {
					t = t[len(`Exception in thread "`)+j+2:]
				}
			}
			b := javaBlock{start: len(f.frames), end: len(f.frames)}
			b.typ, b.msg = splitException(t)
			f.blocks = append(f.blocks, b)
		}
		return true
	})
	if len(f.blocks) == 0 {
		return
	}
	// The root cause's whole stack: its frames, then the last `more` of its
	// enclosing exception's whole stack, and so on outwards.
	full := append(f.scratch[:0], f.frames[f.blocks[0].start:f.blocks[0].end]...)
	for _, b := range f.blocks[1:] {
		shared := full[max(len(full)-b.more, 0):]
		next := make([]frame, 0, b.end-b.start+len(shared))
		next = append(next, f.frames[b.start:b.end]...)
		full = append(next, shared...)
	}
	f.scratch = full[:0]
	f.frames = append(f.frames[:0], full...)
	root := f.blocks[len(f.blocks)-1]
	f.typ, f.msg = root.typ, root.msg
}

// javaFrame normalises a JVM frame (after "at "): "pkg.Class.method(File.java:NN)",
// with a module ("java.base/") or class loader ("app//") prefix, a lambda's
// runtime numbering and address ("$$Lambda$14/0x0000000800c03000") dropped.
func javaFrame(s string) (frame, bool) {
	i := strings.IndexByte(s, '(')
	if i <= 0 || !strings.HasSuffix(s, ")") || strings.ContainsAny(s[:i], " \t") {
		return frame{}, false
	}
	fn, loc := s[:i], s[i+1:len(s)-1]
	if !strings.Contains(fn, ".") {
		return frame{}, false
	}
	if a := strings.Index(fn, "/0x"); a >= 0 {
		end := a + 3
		for end < len(fn) && isHex(fn[end]) {
			end++
		}
		fn = fn[:a] + fn[end:]
	}
	if j := strings.LastIndexByte(fn, '/'); j >= 0 {
		fn = fn[j+1:]
	}
	if l := strings.Index(fn, "$$Lambda$"); l >= 0 {
		end := l + len("$$Lambda$")
		for end < len(fn) && fn[end] >= '0' && fn[end] <= '9' {
			end++
		}
		fn = fn[:l+len("$$Lambda")] + fn[end:]
	}
	file, _, _ := strings.Cut(loc, ":")
	if file == "Native Method" || file == "Unknown Source" {
		file = ""
	}
	return frame{fn: fn, file: file, app: javaInApp(fn)}, true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// javaInApp: not the JDK's (java., javax., jdk., sun., com.sun.) nor
// Kotlin's standard library.
func javaInApp(fn string) bool {
	for _, p := range []string{"java.", "javax.", "jdk.", "sun.", "com.sun.", "kotlin.", "kotlinx."} {
		if strings.HasPrefix(fn, p) {
			return false
		}
	}
	return true
}
