package gateway

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// wireSample is a request using every kind of value OTLP logs carry.
func wireSample() []byte {
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	kv := func(k string, v *commonpb.AnyValue) *commonpb.KeyValue { return &commonpb.KeyValue{Key: k, Value: v} }
	req := &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", str("checkout"))}, DroppedAttributesCount: 2},
		ScopeLogs: []*logspb.ScopeLogs{{
			Scope: &commonpb.InstrumentationScope{Name: "lib", Version: "1.0", Attributes: []*commonpb.KeyValue{kv("a", str("b"))}},
			LogRecords: []*logspb.LogRecord{{
				TimeUnixNano: 1796205600123456789, ObservedTimeUnixNano: 1796205600123456789, SeverityNumber: 17, SeverityText: "ERROR",
				Body: str("payment failed"), TraceId: make([]byte, 16), SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Flags: 1, EventName: "pay",
				Attributes: []*commonpb.KeyValue{
					kv("i", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: math.MinInt64}}),
					kv("d", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 1.5}}),
					kv("b", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}),
					kv("raw", &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0xff, 0}}}),
					kv("arr", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{str("x"), {}}}}}),
					kv("map", &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{kv("k", str("v"))}}}}),
				},
			}, {Body: str("second")}},
		}},
		SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
	}}}
	b, err := proto.Marshal(req)
	if err != nil {
		panic(err)
	}
	return b
}

// sameAsUnmarshal checks that checkWire accepts b exactly when
// proto.Unmarshal does.
func sameAsUnmarshal(t testing.TB, b []byte) {
	t.Helper()
	want := proto.Unmarshal(b, &collogspb.ExportLogsServiceRequest{})
	got := checkWire(b, otlpRequestDesc)
	require.Equal(t, want == nil, got == nil, "body %x: Unmarshal says %v, checkWire %v", b, want, got)
}

func TestCheckWireAgreesWithUnmarshal(t *testing.T) {
	good := wireSample()
	sameAsUnmarshal(t, good)
	require.NoError(t, checkWire(good, otlpRequestDesc))
	sameAsUnmarshal(t, nil)

	// Strings that are not UTF-8, where proto3 refuses them: a key, a
	// string value, the severity text.
	for _, s := range []string{"checkout", "payment failed", "ERROR"} {
		bad := append([]byte(nil), good...)
		i := indexOf(bad, s)
		require.GreaterOrEqual(t, i, 0, s)
		bad[i] = 0xff
		sameAsUnmarshal(t, bad)
		require.ErrorContains(t, checkWire(bad, otlpRequestDesc), "invalid UTF-8")
	}
	// Invalid bytes fields are fine (trace ids, bytes values): no UTF-8 rule.
	// Truncations, flips and insertions everywhere.
	r := rand.New(rand.NewPCG(1, 2))
	for n := range len(good) {
		sameAsUnmarshal(t, good[:n])
	}
	for range 5000 {
		b := append([]byte(nil), good...)
		switch r.IntN(3) {
		case 0:
			b[r.IntN(len(b))] = byte(r.IntN(256))
		case 1:
			i := r.IntN(len(b))
			b = append(b[:i], append([]byte{byte(r.IntN(256))}, b[i:]...)...)
		default:
			i := r.IntN(len(b))
			b = append(b[:i], b[i+1:]...)
		}
		sameAsUnmarshal(t, b)
	}
	// Unknown fields of every wire type, and a known field with the wrong
	// wire type (an unknown field for Unmarshal too).
	var extra []byte
	extra = protowire.AppendTag(extra, 99, protowire.VarintType)
	extra = protowire.AppendVarint(extra, 5)
	extra = protowire.AppendTag(extra, 98, protowire.Fixed32Type)
	extra = protowire.AppendFixed32(extra, 5)
	extra = protowire.AppendTag(extra, 97, protowire.StartGroupType)
	extra = protowire.AppendTag(extra, 97, protowire.EndGroupType)
	extra = protowire.AppendTag(extra, 1, protowire.VarintType) // resource_logs as a varint
	extra = protowire.AppendVarint(extra, 7)
	sameAsUnmarshal(t, append(append([]byte(nil), good...), extra...))
	require.NoError(t, checkWire(append(append([]byte(nil), good...), extra...), otlpRequestDesc))
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

// FuzzCheckWire: go test -fuzz FuzzCheckWire ./gateway/ (the seeds run in
// every go test).
func FuzzCheckWire(f *testing.F) {
	f.Add(wireSample())
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) { sameAsUnmarshal(t, b) })
}
