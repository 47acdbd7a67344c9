package query

import (
	"encoding/json"
	"strings"
)

// stackKeys are the context keys a stack trace is sent under
// (docs/errors.md), in the order they are tried: each as a flat key
// ("error.stack") and nested ({"error": {"stack": ...}}).
var stackKeys = []string{"stack", "error.stack", "exception.stacktrace", "exc_info", "traceback", "stacktrace"}

// stackOf is the stack trace text of a context object, "" when it has
// none: a string, or a list of strings joined (Python's
// traceback.format_exception).
func stackOf(context []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(context, &top) != nil {
		return ""
	}
	for _, k := range stackKeys {
		if s := stackText(top[k]); s != "" {
			return s
		}
		parent, child, nested := strings.Cut(k, ".")
		if !nested {
			continue
		}
		var m map[string]json.RawMessage
		if raw, ok := top[parent]; ok && json.Unmarshal(raw, &m) == nil {
			if s := stackText(m[child]); s != "" {
				return s
			}
		}
	}
	return ""
}

func stackText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var lines []string
	if json.Unmarshal(raw, &lines) == nil {
		return strings.Join(lines, "")
	}
	return ""
}
