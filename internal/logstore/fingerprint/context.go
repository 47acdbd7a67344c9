package fingerprint

import (
	"strings"

	"github.com/devsmith/logs/internal/jsontext"
)

// The context members the rules read, each as a flat key ("error.stack")
// and nested ({"error": {"stack": ...}}): the earlier slot of a kind wins.
const (
	slotFingerprint = iota

	// Stack traces, in priority order.
	slotStack               // stack
	slotErrorStack          // error.stack
	slotErrStack            // err.stack (pino's error serialiser)
	slotExceptionStacktrace // exception.stacktrace (OpenTelemetry)
	slotExcInfo             // exc_info
	slotTraceback           // traceback
	slotStacktrace          // stacktrace
	slotException           // exception: a type, "Type: message", or a whole traceback
	slotErrorType           // error.type
	slotExceptionType       // exception.type
	slotErrorTypeFlat       // error_type
	slotErrorName           // error.name
	slotErrType             // err.type
	slotErrName             // err.name
	slotErrorMessage        // error.message, or error as a string
	slotExceptionMessage    // exception.message
	slotErrMessage          // err.message
	slotErrorMessageFlat    // error_message
	slotCount
)

var (
	stackSlots   = []int{slotStack, slotErrorStack, slotErrStack, slotExceptionStacktrace, slotExcInfo, slotTraceback, slotStacktrace}
	typeSlots    = []int{slotErrorType, slotExceptionType, slotErrorTypeFlat, slotErrorName, slotErrType, slotErrName}
	messageSlots = []int{slotErrorMessage, slotExceptionMessage, slotErrMessage, slotErrorMessageFlat}
)

// members are where the slots' values are in one context text (End 0: absent).
type members [slotCount]jsontext.Value

// topSlot is the slot of a top-level key; nested is the object whose
// members go into nestedSlot.
func topSlot(key string) (slot int, nested int) {
	switch key {
	case "fingerprint":
		return slotFingerprint, -1
	case "stack":
		return slotStack, -1
	case "error.stack":
		return slotErrorStack, -1
	case "err.stack":
		return slotErrStack, -1
	case "exception.stacktrace":
		return slotExceptionStacktrace, -1
	case "exc_info":
		return slotExcInfo, -1
	case "traceback":
		return slotTraceback, -1
	case "stacktrace":
		return slotStacktrace, -1
	case "exception":
		return slotException, nestException
	case "error":
		return slotErrorMessage, nestError
	case "err":
		return -1, nestErr
	case "error.type":
		return slotErrorType, -1
	case "exception.type":
		return slotExceptionType, -1
	case "error_type":
		return slotErrorTypeFlat, -1
	case "error.name":
		return slotErrorName, -1
	case "error.message":
		return slotErrorMessage, -1
	case "exception.message":
		return slotExceptionMessage, -1
	case "error_message":
		return slotErrorMessageFlat, -1
	}
	return -1, -1
}

const (
	nestError = iota
	nestException
	nestErr
)

// nestedSlot is the slot of key within the object of kind nest.
func nestedSlot(nest int, key string) int {
	switch nest {
	case nestError:
		switch key {
		case "stack":
			return slotErrorStack
		case "type":
			return slotErrorType
		case "name":
			return slotErrorName
		case "message":
			return slotErrorMessage
		}
	case nestException:
		switch key {
		case "stacktrace":
			return slotExceptionStacktrace
		case "type":
			return slotExceptionType
		case "message":
			return slotExceptionMessage
		}
	case nestErr:
		switch key {
		case "stack":
			return slotErrStack
		case "type":
			return slotErrType
		case "name":
			return slotErrName
		case "message":
			return slotErrMessage
		}
	}
	return -1
}

// scan finds the slots' values in text, a JSON object; members not of
// interest are skipped, and a text that is not an object leaves what was
// found before the fault.
func (m *members) scan(text string) {
	*m = members{}
	if len(text) <= 2 {
		return
	}
	sc := jsontext.NewScanner(text)
	more, ok := sc.OpenObject()
	for more && ok {
		k, kok := sc.Key()
		if !kok {
			return
		}
		slot, nest := -1, -1
		if k.Flags&jsontext.Escaped == 0 {
			slot, nest = topSlot(text[k.Start+1 : k.End-1])
		}
		if nest >= 0 && sc.At('{') {
			if !m.scanNested(&sc, text, nest) {
				return
			}
		} else {
			v, vok := sc.ScanValue()
			if !vok {
				return
			}
			if slot >= 0 {
				m[slot] = v
			}
		}
		more, ok = sc.NextMember()
	}
}

func (m *members) scanNested(sc *jsontext.Scanner, text string, nest int) bool {
	more, ok := sc.OpenObject()
	for more && ok {
		k, kok := sc.Key()
		if !kok {
			return false
		}
		v, vok := sc.ScanValue()
		if !vok {
			return false
		}
		if k.Flags&jsontext.Escaped == 0 {
			if slot := nestedSlot(nest, text[k.Start+1:k.End-1]); slot >= 0 {
				m[slot] = v
			}
		}
		more, ok = sc.NextMember()
	}
	return ok
}

func isString(v jsontext.Value) bool { return v.End > 0 && v.Flags&jsontext.String != 0 }

// str is the string value v of text, unquoted ("" when not a string).
func str(text string, v jsontext.Value) string {
	if !isString(v) {
		return ""
	}
	return jsontext.Unquote(text, v)
}

// stackText returns the stack of the context (unquoted into f.buf, or a
// substring of text): the first stack slot holding a non-empty string or
// list of strings (its lines), else an exception member that holds a
// traceback.
func (f *Fingerprinter) stackText(text string) string {
	for _, s := range stackSlots {
		if st := f.textOf(text, f.ctx[s]); strings.TrimSpace(st) != "" {
			return st
		}
	}
	if v := f.ctx[slotException]; isString(v) {
		if st := f.textOf(text, v); strings.Contains(st, "\n") {
			return st
		}
	}
	return ""
}

// textOf is a string value, or a list of strings joined by line breaks,
// reusing f.buf ("" for any other value).
func (f *Fingerprinter) textOf(text string, v jsontext.Value) string {
	switch {
	case v.End == 0:
		return ""
	case isString(v):
		if v.Flags&(jsontext.Escaped|jsontext.NonASCII) == 0 {
			return text[v.Start+1 : v.End-1]
		}
		f.buf = jsontext.AppendUnquote(f.buf[:0], text, v)
		return bufString(f.buf)
	case text[v.Start] == '[':
		f.buf = f.buf[:0]
		sc := jsontext.NewScanner(text[v.Start:v.End])
		more, ok := sc.OpenArray()
		for more && ok {
			e, eok := sc.ScanValue()
			if !eok {
				break
			}
			if e.Flags&jsontext.String != 0 {
				// Lines with or without their line breaks (Python's
				// traceback.format_exception keeps them).
				if len(f.buf) > 0 && f.buf[len(f.buf)-1] != '\n' {
					f.buf = append(f.buf, '\n')
				}
				f.buf = jsontext.AppendUnquote(f.buf, text[v.Start:v.End], e)
			}
			more, ok = sc.NextElement()
		}
		return bufString(f.buf)
	}
	return ""
}

// exceptionType is the type the context names: the first type slot that
// holds a string, else the type in an exception member ("Type" or
// "Type: message").
func (m *members) exceptionType(text string) string {
	for _, s := range typeSlots {
		if t := strings.TrimSpace(str(text, m[s])); t != "" {
			return t
		}
	}
	if e := str(text, m[slotException]); e != "" && !strings.Contains(e, "\n") {
		if t, _, ok := strings.Cut(e, ": "); ok && isTypeName(t) {
			return t
		}
		if e = strings.TrimSpace(e); isTypeName(e) {
			return e
		}
	}
	return ""
}

// message is the exception's message the context holds ("" when none).
func (m *members) message(text string) string {
	for _, s := range messageSlots {
		if t := strings.TrimSpace(str(text, m[s])); t != "" {
			return t
		}
	}
	if e := str(text, m[slotException]); e != "" && !strings.Contains(e, "\n") {
		if _, msg, ok := strings.Cut(e, ": "); ok {
			return msg
		}
	}
	return ""
}

// defaultToken in a client's fingerprint list stands for the fingerprint
// the other rules give (as in Sentry).
const defaultToken = "{{ default }}"

// client is the hash of the context's fingerprint member: a non-empty
// string, or a list of strings and numbers (other elements skipped) with at
// least one. def is the fingerprint the other rules give.
func (m *members) client(text string, def uint64) (uint64, bool) {
	v := m[slotFingerprint]
	if v.End == 0 {
		return 0, false
	}
	h := add(fnvOffset, SourceClient)
	n := 0
	one := func(e jsontext.Value, within string) {
		var s string
		switch {
		case e.Flags&jsontext.String != 0:
			s = jsontext.Unquote(within, e)
			if strings.TrimSpace(s) == "" {
				return
			}
			if strings.ReplaceAll(s, " ", "") == "{{default}}" {
				h, n = addInt(h, int64(def)), n+1
				return
			}
		case within[e.Start] == '-' || ('0' <= within[e.Start] && within[e.Start] <= '9'):
			s = within[e.Start:e.End]
		default:
			return
		}
		h, n = add(h, s), n+1
	}
	if text[v.Start] == '[' {
		list := text[v.Start:v.End]
		sc := jsontext.NewScanner(list)
		more, ok := sc.OpenArray()
		for more && ok {
			e, eok := sc.ScanValue()
			if !eok {
				break
			}
			one(e, list)
			more, ok = sc.NextElement()
		}
	} else {
		one(v, text)
	}
	return h, n > 0
}

// isTypeName tells whether s reads as an exception type: an identifier,
// maybe qualified ("pkg.Type", "*main.Err", "Error [ERR_CODE]").
func isTypeName(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	if base, code, ok := strings.Cut(s, " ["); ok {
		if !strings.HasSuffix(code, "]") || strings.ContainsAny(code[:len(code)-1], " []") {
			return false
		}
		s = base
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '$':
		case c >= '0' && c <= '9', c == '.', c == '*', c == '/', c == '-':
			if i == 0 && c != '*' {
				return false
			}
		default:
			if c < 0x80 {
				return false
			}
		}
	}
	return true
}
