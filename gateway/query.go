package gateway

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// contextPrefix introduces a context filter: `context.user_id=123`.
const contextPrefix = "context."

// queryParser reads query strings the way docs/api.md writes them: repeated
// parameters for repeated fields, and `context.<key>=<value>` into the
// request's repeated ContextFilter field `context`. Everything else goes to
// grpc-gateway's default parser.
type queryParser struct{}

func (queryParser) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	rest := make(url.Values, len(values))
	m := msg.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("context")
	for k, vs := range values {
		key, isContext := strings.CutPrefix(k, contextPrefix)
		if !isContext || fd == nil || !fd.IsList() || fd.Kind() != protoreflect.MessageKind {
			rest[k] = vs
			continue
		}
		if key == "" {
			return fmt.Errorf("query parameter %q: the context key is missing", k)
		}
		list := m.Mutable(fd).List()
		for _, v := range vs {
			el := list.NewElement().Message()
			kf := el.Descriptor().Fields().ByName("key")
			vf := el.Descriptor().Fields().ByName("value")
			if kf == nil || vf == nil {
				return fmt.Errorf("query parameter %q is not supported here", k)
			}
			el.Set(kf, protoreflect.ValueOfString(key))
			el.Set(vf, protoreflect.ValueOfString(v))
			list.Append(protoreflect.ValueOfMessage(el))
		}
	}
	return (&runtime.DefaultQueryParser{}).Parse(msg, rest, filter)
}
