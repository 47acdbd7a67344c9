package gateway

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/devsmith/logs/internal/restjson"
)

// jsonMarshaler writes the REST shapes of docs/api.md (restjson.AppendMessage)
// and reads request bodies with protojson, ignoring unknown fields.
type jsonMarshaler struct{}

var _ runtime.Marshaler = jsonMarshaler{}

func (jsonMarshaler) ContentType(any) string { return "application/json" }

func (jsonMarshaler) Marshal(v any) ([]byte, error) {
	if m, ok := v.(proto.Message); ok {
		return restjson.AppendMessage(nil, m.ProtoReflect())
	}
	return json.Marshal(v)
}

func (jsonMarshaler) Unmarshal(data []byte, v any) error {
	if m, ok := v.(proto.Message); ok {
		return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, m)
	}
	return json.Unmarshal(data, v)
}

func (j jsonMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return io.EOF
		}
		return j.Unmarshal(b, v)
	})
}

func (j jsonMarshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := j.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
}
