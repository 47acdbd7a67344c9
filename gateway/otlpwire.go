package gateway

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// checkWire tells whether b is a message of type md that proto.Unmarshal
// accepts, without building it: a walk of the wire format led by the
// message's descriptor (the official types', not a copy), checking what
// Unmarshal checks: tags, lengths and field numbers, UTF-8 of proto3
// strings, and the same nesting bound. A field whose wire type does not
// match its kind is, as for Unmarshal, an unknown field. So the gateway
// answers 400 for a protobuf body that does not parse without decoding it
// (the ingestion service decodes the body it forwards); a differential
// test holds it to proto.Unmarshal.
func checkWire(b []byte, md protoreflect.MessageDescriptor) error {
	return checkWireDepth(b, md, 0)
}

// maxWireDepth is proto.Unmarshal's default recursion limit.
const maxWireDepth = 10_000

var errWireTooDeep = errors.New("exceeded maximum recursion depth")

func checkWireDepth(b []byte, md protoreflect.MessageDescriptor, depth int) error {
	if depth > maxWireDepth {
		return errWireTooDeep
	}
	fields := md.Fields()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		if num > protowire.MaxValidNumber {
			return fmt.Errorf("field number %d is out of range", num)
		}
		b = b[n:]
		fd := fields.ByNumber(num)
		if typ != protowire.BytesType || fd == nil {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		switch fd.Kind() {
		case protoreflect.MessageKind:
			if fd.IsMap() {
				return fmt.Errorf("field %s: map fields are not checked", fd.FullName())
			}
			if err := checkWireDepth(v, fd.Message(), depth+1); err != nil {
				return err
			}
		case protoreflect.StringKind:
			if fd.Syntax() == protoreflect.Proto3 && !utf8.Valid(v) {
				return fmt.Errorf("field %s contains invalid UTF-8", fd.FullName())
			}
		case protoreflect.BytesKind:
		default:
			if fd.IsList() {
				if err := checkPacked(v, fd.Kind()); err != nil {
					return fmt.Errorf("field %s: %w", fd.FullName(), err)
				}
			}
		}
	}
	return nil
}

// checkPacked checks the elements of a packed repeated scalar field.
func checkPacked(v []byte, k protoreflect.Kind) error {
	for len(v) > 0 {
		var n int
		switch k {
		case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
			_, n = protowire.ConsumeFixed32(v)
		case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
			_, n = protowire.ConsumeFixed64(v)
		default: // varints: ints, bools, enums
			_, n = protowire.ConsumeVarint(v)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		v = v[n:]
	}
	return nil
}
