// Sends logs to DevSmith with the OpenTelemetry JS SDK's own OTLP/HTTP
// exporters, as an instrumented Node.js app would: JSON
// (@opentelemetry/exporter-logs-otlp-http) and protobuf, gzip-compressed
// (@opentelemetry/exporter-logs-otlp-proto). e2e/otlp_test.go runs it with
// OTLP_URL (…/v1/logs), DEVSMITH_API_KEY and RUN_ID and reads the entries
// back through the query API. Exits non-zero when an export fails.
'use strict';

const api = require('@opentelemetry/api');
const { SeverityNumber } = require('@opentelemetry/api-logs');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { resourceFromAttributes, defaultResource } = require('@opentelemetry/resources');
const { OTLPLogExporter: JSONExporter } = require('@opentelemetry/exporter-logs-otlp-http');
const { OTLPLogExporter: ProtoExporter } = require('@opentelemetry/exporter-logs-otlp-proto');

const url = process.env.OTLP_URL;
const key = process.env.DEVSMITH_API_KEY;
const run = process.env.RUN_ID;
if (!url || !key || !run) {
  console.error('OTLP_URL, DEVSMITH_API_KEY and RUN_ID are required');
  process.exit(2);
}

// Export failures reach the diagnostic logger only: count them.
let failures = 0;
api.diag.setLogger({
  error: (...args) => { failures++; console.error('otel error:', ...args.map(String)); },
  warn: (...args) => console.error('otel warn:', ...args.map(String)),
  info: () => {}, debug: () => {}, verbose: () => {},
}, api.DiagLogLevel.WARN);

const spanContext = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: api.TraceFlags.SAMPLED,
};

async function send(service, exporter) {
  const provider = new LoggerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': service })),
    processors: [new BatchLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('e2e-js', '0.1.0');
  logger.emit({
    severityNumber: SeverityNumber.WARN,
    severityText: 'WARN',
    body: `order placed ${run}`,
    attributes: {
      run, order_id: 42, amount: 19.99, paid: true, tags: ['a', 'b'],
      address: { country: 'NL', zip: '1011' },
    },
    context: api.trace.setSpanContext(api.context.active(), spanContext),
  });
  logger.emit({
    severityNumber: SeverityNumber.FATAL,
    body: `charge failed ${run}`,
    attributes: {
      run, 'exception.type': 'PaymentError', 'exception.message': 'card declined',
      'exception.stacktrace': 'PaymentError: card declined\n    at charge (/srv/app/pay.js:10:5)',
    },
  });
  await provider.shutdown(); // flushes
}

(async () => {
  const headers = { Authorization: `Bearer ${key}` };
  await send('js-http-json', new JSONExporter({ url, headers }));
  await send('js-http-proto', new ProtoExporter({ url, headers: { 'X-API-Key': key }, compression: 'gzip' }));
  if (failures > 0) {
    console.error(`${failures} export errors`);
    process.exit(1);
  }
  console.log('sent');
})().catch((err) => { console.error(err); process.exit(1); });
