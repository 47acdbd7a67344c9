// Package restjson is the JSON encoding of the REST API's messages
// (docs/api.md): the gateway writes its answers with it, and the ingestion
// service's scheduled archive writes entries in the lines export writes
// (docs/export.md), so that both files are read the same way.
package restjson

import (
	"encoding/base64"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/devsmith/logs/internal/jsontext"
)

// rawJSONFields are string fields holding JSON text that REST writes as the
// JSON value itself, under another name: LogEntry's context_json is the
// REST `"context": {...}`, byte for byte as the query service read it (so a
// 64-bit number keeps every digit).
var rawJSONFields = map[protoreflect.FullName]string{
	"devsmith.logs.v1.LogEntry.context_json": "context",
}

// appendRawJSON writes the JSON text s as it is, after checking it is one
// JSON value: a field that is not would break the whole response.
func appendRawJSON(b []byte, fd protoreflect.FieldDescriptor, s string) ([]byte, error) {
	if s == "" {
		return append(b, "{}"...), nil
	}
	if !jsontext.Valid(s) {
		return nil, fmt.Errorf("field %s is not valid JSON", fd.FullName())
	}
	return append(b, s...), nil
}

// AppendMessage appends m in its REST shape (docs/api.md) to b: proto
// field names, every field present (zero values and empty lists included,
// unset messages and unset optional scalars as null), 64-bit integers as
// JSON numbers (protojson writes them as strings), timestamps as RFC 3339
// in UTC, LogEntry's context_json as the JSON object "context" byte for
// byte. It is the one encoding of an entry: the REST API's answers, the
// live tail's events, export's lines and the scheduled archive's lines.
func AppendMessage(b []byte, m protoreflect.Message) ([]byte, error) {
	switch m.Descriptor().FullName() {
	case "google.protobuf.Timestamp":
		ts, ok := m.Interface().(*timestamppb.Timestamp)
		if !ok {
			return nil, fmt.Errorf("unexpected timestamp type %T", m.Interface())
		}
		b = append(b, '"')
		b = ts.AsTime().UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), nil
	case "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue",
		"google.protobuf.Duration", "google.protobuf.FieldMask", "google.protobuf.Any",
		"google.protobuf.Empty":
		out, err := protojson.Marshal(m.Interface())
		if err != nil {
			return nil, err
		}
		return append(b, out...), nil
	}
	b = append(b, '{')
	fields := m.Descriptor().Fields()
	first := true
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() && !m.Has(fd) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		var err error
		if name, raw := rawJSONFields[fd.FullName()]; raw {
			b = jsontext.AppendString(b, name)
			b = append(b, ':')
			if b, err = appendRawJSON(b, fd, m.Get(fd).String()); err != nil {
				return nil, err
			}
			continue
		}
		b = jsontext.AppendString(b, string(fd.Name()))
		b = append(b, ':')
		switch {
		case fd.IsList():
			b, err = appendList(b, fd, m.Get(fd).List())
		case fd.IsMap():
			b, err = appendMap(b, fd, m.Get(fd).Map())
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			if !m.Has(fd) {
				b = append(b, "null"...)
			} else {
				b, err = AppendMessage(b, m.Get(fd).Message())
			}
		case fd.HasOptionalKeyword() && !m.Has(fd):
			b = append(b, "null"...) // an unset proto3 optional scalar
		default:
			b, err = appendScalar(b, fd, m.Get(fd))
		}
		if err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendList(b []byte, fd protoreflect.FieldDescriptor, l protoreflect.List) ([]byte, error) {
	b = append(b, '[')
	for i := 0; i < l.Len(); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if fd.Kind() == protoreflect.MessageKind {
			b, err = AppendMessage(b, l.Get(i).Message())
		} else {
			b, err = appendScalar(b, fd, l.Get(i))
		}
		if err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

func appendMap(b []byte, fd protoreflect.FieldDescriptor, mp protoreflect.Map) ([]byte, error) {
	keys := make([]protoreflect.MapKey, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	b = append(b, '{')
	vd := fd.MapValue()
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, k.String())
		b = append(b, ':')
		var err error
		if vd.Kind() == protoreflect.MessageKind {
			b, err = AppendMessage(b, mp.Get(k).Message())
		} else {
			b, err = appendScalar(b, vd, mp.Get(k))
		}
		if err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendScalar(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool()), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return jsontext.AppendString(b, strconv.FormatFloat(f, 'g', -1, 64)), nil
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64), nil
	case protoreflect.StringKind:
		return jsontext.AppendString(b, v.String()), nil
	case protoreflect.BytesKind:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes())
		return append(b, '"'), nil
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return jsontext.AppendString(b, string(ev.Name())), nil
		}
		return strconv.AppendInt(b, int64(v.Enum()), 10), nil
	}
	return nil, fmt.Errorf("unsupported field kind %v", fd.Kind())
}
