# frozen_string_literal: true

# Logs DRIVER_COUNT entries through the Ruby sample logger and exits 0 once
# all of them were delivered (1 otherwise). For integration tests
# (samples/README.md, "Drivers"):
#
#   DEVSMITH_URL=... DEVSMITH_API_KEY=dsk_... DEVSMITH_SERVICE=driver-ruby \
#   DRIVER_COUNT=10 DRIVER_RUN_ID=r1 ruby examples/driver.rb
#
# Entry i (0-based) has level debug/info/warn/error (cycling), message
# "driver ruby <run_id> <i>" and context {run_id, i, lang: "ruby"}.
# DRIVER_EXIT_FLUSH=1: do not close the logger; at_exit flushes.
require_relative "../devsmith_logger"

begin
  count = Integer(ENV.fetch("DRIVER_COUNT", "").then { |v| v.empty? ? "10" : v })
  run_id = ENV.fetch("DRIVER_RUN_ID", "").then { |v| v.empty? ? format("%x", (Time.now.to_f * 1000).to_i) : v }
  interval = DevSmithLogger.parse_duration(ENV.fetch("DRIVER_INTERVAL", "").then { |v| v.empty? ? 0 : v })
  close_timeout = DevSmithLogger.parse_duration(ENV.fetch("DRIVER_CLOSE_TIMEOUT", "").then { |v| v.empty? ? "60s" : v })
  log = DevSmithLogger.new(close_timeout: close_timeout)
rescue ArgumentError => e
  warn "driver ruby: #{e.message}"
  exit 1
end

methods = %i[debug info warn error]
count.times do |i|
  log.public_send(methods[i % 4], "driver ruby #{run_id} #{i}", run_id: run_id, i: i, lang: "ruby")
  sleep(interval) if interval.positive?
end
if ENV["DRIVER_EXIT_FLUSH"] == "1"
  puts "driver ruby: run #{run_id}: logged #{count}, flushing at exit"
  exit 0
end
delivered = log.close
s = log.stats
puts "driver ruby: run #{run_id}: logged #{s[:logged]}, sent #{s[:sent]}, dropped #{s[:dropped]}"
exit(delivered ? 0 : 1)
