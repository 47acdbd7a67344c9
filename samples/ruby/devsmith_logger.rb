# frozen_string_literal: true

# DevSmith Logs: a zero-dependency logger for Ruby 3.0+ (net/http, json and
# the standard library only). Copy this one file into your app:
#
#   require_relative "devsmith_logger"
#   log = DevSmithLogger.new(service_name: "api")   # or DEVSMITH_* environment variables
#   log.info("User logged in", user_id: 123)
#   log.error { "computed only when logged" }
#   Rails.logger = log                               # it quacks like the stdlib ::Logger
#
# Entries are buffered and sent to POST {DEVSMITH_URL}/batch every 100
# entries or 5 s, whichever comes first, from one background thread. Failed
# batches are retried (same batch_id, so the server stores them once) and
# kept in a bounded buffer; a log call never raises and never blocks on the
# network. Pending entries are flushed at exit (at_exit) and by flush/close.

require "json"
require "logger"
require "net/http"
require "securerandom"
require "stringio"
require "time"
require "uri"
require "zlib"

class DevSmithLogger
  include ::Logger::Severity

  DEFAULT_URL = "http://localhost:3000/api/logs"
  PREFIX = "devsmith-logger: "
  DROP_REPORT_INTERVAL = 10.0
  LEVEL_NAMES = { DEBUG => "DEBUG", INFO => "INFO", WARN => "WARN", ERROR => "ERROR", FATAL => "FATAL", UNKNOWN => "FATAL" }.freeze

  Batch = Struct.new(:id, :entries, :bytes, :opened_at)

  # "5s", "500ms", "2m", "1h" or a bare number of seconds -> seconds (Float).
  def self.parse_duration(value)
    return value.to_f if value.is_a?(Numeric) && value >= 0
    m = /\A\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*\z/.match(value.to_s)
    raise ArgumentError, "invalid duration #{value.inspect}: use e.g. \"5s\", \"500ms\" or a number of seconds" unless m
    m[1].to_f * { "ms" => 0.001, "s" => 1.0, "m" => 60.0, "h" => 3600.0 }.fetch(m[2] || "s")
  end

  # Seconds from a Retry-After header (seconds or an HTTP date), at most 300; 0 when absent or bad.
  def self.parse_retry_after(value, now = Time.now)
    return 0.0 if value.nil? || value.strip.empty?
    secs = Float(value.strip, exception: false)
    secs ||= begin
      Time.httpdate(value.strip) - now
    rescue ArgumentError
      nil
    end
    return 0.0 if secs.nil? || secs.nan? || secs.negative?
    [secs, 300.0].min
  end

  # The wait before retry attempt+1: Retry-After when given, else exponential backoff with jitter in [b/2, b).
  def self.retry_delay(attempt, retry_after, base, max, random = rand)
    return retry_after if retry_after.positive?
    backoff = [max, base * (2**attempt)].min
    backoff / 2 + random * backoff / 2
  end

  attr_reader :service_name, :project_slug
  attr_reader :level
  attr_accessor :progname, :formatter, :datetime_format # formatter and datetime_format are accepted and unused: entries are JSON

  # Every option falls back to an environment variable: api_key
  # (DEVSMITH_API_KEY), api_url (DEVSMITH_URL), project_slug
  # (DEVSMITH_PROJECT), service_name (DEVSMITH_SERVICE, default the script's
  # name), batch_size (DEVSMITH_BATCH_SIZE, 100), flush_interval
  # (DEVSMITH_FLUSH_INTERVAL, 5 s), gzip (DEVSMITH_GZIP).
  def initialize(api_key: nil, api_url: nil, project_slug: nil, service_name: nil, batch_size: nil,
                 flush_interval: nil, gzip: nil, level: DEBUG, progname: nil, max_batch_bytes: 1024 * 1024,
                 max_buffer_size: 100_000, max_buffer_bytes: 64 * 1024 * 1024, max_retries: 3,
                 retry_base_delay: 0.5, retry_max_delay: 30.0, request_timeout: 10.0, close_timeout: 10.0,
                 flush_at_exit: true)
    @api_key = pick(api_key, "DEVSMITH_API_KEY", "").to_s
    url = pick(api_url, "DEVSMITH_URL", DEFAULT_URL).to_s.sub(%r{/+\z}, "")
    raise ArgumentError, "api_url (DEVSMITH_URL) must start with http:// or https://, got #{url.inspect}" unless url.match?(%r{\Ahttps?://})
    project = pick(project_slug, "DEVSMITH_PROJECT", "").to_s
    @project_slug = project.empty? ? nil : project
    script = File.basename($PROGRAM_NAME.to_s, ".rb")
    @service_name = pick(service_name, "DEVSMITH_SERVICE", script.empty? || script.start_with?("-") ? "app" : script).to_s
    @batch_size = positive_int(pick(batch_size, "DEVSMITH_BATCH_SIZE", 100), "batch_size (DEVSMITH_BATCH_SIZE)")
    @interval = [duration(pick(flush_interval, "DEVSMITH_FLUSH_INTERVAL", 5.0), "flush_interval (DEVSMITH_FLUSH_INTERVAL)"), 0.001].max
    @gzip = gzip.nil? ? %w[1 true yes].include?(ENV.fetch("DEVSMITH_GZIP", "").downcase) : gzip
    @max_batch_bytes = positive_int(max_batch_bytes, "max_batch_bytes")
    @max_buffer = positive_int(max_buffer_size, "max_buffer_size")
    @max_buffer_bytes = positive_int(max_buffer_bytes, "max_buffer_bytes")
    @max_retries = [max_retries.to_i, 0].max
    @base_delay = duration(retry_base_delay, "retry_base_delay")
    @max_delay = duration(retry_max_delay, "retry_max_delay")
    @request_timeout = duration(request_timeout, "request_timeout")
    @close_timeout = duration(close_timeout, "close_timeout")
    @level = level
    @progname = progname
    @uri = URI.parse(url + "/batch")
    head = { "service_name" => @service_name }
    head["project_slug"] = @project_slug if @project_slug
    @envelope_head = JSON.generate(head)[0..-2]
    @envelope_bytes = @envelope_head.bytesize + 64
    @headers = { "Content-Type" => "application/json", "Authorization" => "Bearer #{@api_key}",
                 "User-Agent" => "devsmith-logger-ruby/1" }
    @headers["Content-Encoding"] = "gzip" if @gzip

    @lock = Mutex.new
    @cond = ConditionVariable.new
    @open = nil
    @queue = []
    @count = 0
    @bytes = 0
    @sending = false
    @closed = false
    @stopped = false
    @abandoned = false
    @paused_until = 0.0
    @urgent_deadline = 0.0
    @failures = 0
    @unreported_drops = 0
    @last_drop_report = -DROP_REPORT_INTERVAL
    @last_error = ""
    @reported = {}
    @stats = { logged: 0, sent: 0, dropped: 0, discarded: 0, rejected: 0, batches: 0, failed_attempts: 0 }
    @disabled = @api_key.empty?
    if @disabled
      stderr("no API key (set DEVSMITH_API_KEY or pass api_key:): logs will not be sent")
      return
    end
    @worker = Thread.new { run }
    @worker.name = "devsmith-logger" if @worker.respond_to?(:name=)
    @worker.report_on_exception = false
    at_exit { close } if flush_at_exit
  end

  # --- the stdlib Logger interface --------------------------------------------

  %i[debug info warn error fatal unknown].each do |name|
    severity = const_get(name.to_s.upcase)
    # As in ::Logger: info("message"), info { "message" }, info("progname") { "message" }; keywords: the context.
    define_method(name) { |progname = nil, **context, &block| add(severity, nil, progname, **context, &block) }
    define_method("#{name}?") { @level <= severity }
    define_method("#{name}!") { @level = severity }
  end

  # Logger#add: add(severity, message = nil, progname = nil) { message }. As in
  # ::Logger, with a block the argument is the progname and the block gives
  # the message. Keywords go in the context. Never raises.
  def add(severity, message = nil, progname = nil, **context)
    severity ||= UNKNOWN
    return true if @disabled || @closed || severity < @level
    if message.nil?
      if block_given?
        message = yield
      else
        message = progname
        progname = @progname
      end
    end
    progname ||= @progname
    context = context.merge("progname" => progname) if progname
    write(LEVEL_NAMES.fetch(severity, "INFO"), message, context)
    true
  rescue StandardError => e
    stderr("could not log an entry: #{e.message}", once: "log-failed")
    true
  end

  # Logger#<<: the raw text as an INFO entry, whatever the level.
  def <<(msg)
    write("INFO", msg.to_s.chomp, {})
    self
  end

  # log(Logger::WARN, "message") as ::Logger#log, or log("TRACE", "message",
  # **context) with a level name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL).
  def log(level, message = nil, progname = nil, **context, &block)
    return add(level, message, progname, **context, &block) if level.is_a?(Integer) || level.nil?
    write(level.to_s.upcase, message, context)
    true
  end

  private

  # One entry. An exception as the message: its message, with "exception"
  # and "stack" in the context.
  def write(level, message, context)
    return if @disabled || @closed
    if message.is_a?(Exception)
      context = { "exception" => "#{message.class}: #{message.message}",
                  "stack" => ([message.full_message(highlight: false)] rescue [message.message]).first }.merge(context)
      message = message.message.to_s.empty? ? message.class.name : message.message
    end
    message = message.is_a?(String) ? message : (message.nil? ? "" : safe_json(message))
    message = "(empty message)" if message.empty?
    entry = { "timestamp" => Time.now.utc.iso8601(3), "level" => level, "message" => message }
    entry["context"] = sanitize(context) unless context.empty?
    line = safe_json(entry)
    @lock.synchronize do
      @stats[:logged] += 1
      enqueue(line)
    end
  rescue StandardError => e
    stderr("could not log an entry: #{e.message}", once: "log-failed")
  end

  public

  def level=(severity)
    @level = severity.is_a?(Integer) ? severity : ::Logger::Severity.const_get(severity.to_s.upcase)
  end

  def reopen(_ = nil) = self

  # Sends everything buffered now. True when all of it was delivered. Never raises.
  def flush(timeout = nil)
    deliver(now + (timeout || @close_timeout), false)
  end

  # Stops accepting entries, then keeps trying to deliver the buffer until it
  # is delivered or the timeout (default close_timeout, 10 s) passes. True
  # when everything was delivered. Never raises.
  def close(timeout = nil)
    return true if @disabled
    @lock.synchronize do
      return !@abandoned if @closed && @count.zero? && !@sending
      @closed = true
    end
    ok = deliver(now + (timeout || @close_timeout), true)
    @lock.synchronize do
      if @unreported_drops.positive?
        stderr("dropped #{@unreported_drops} log entries while the platform was unreachable (buffer full)")
        @unreported_drops = 0
      end
      @abandoned = !ok # the worker stops retrying; a batch in flight comes back to the buffer
      @stopped = true
      @cond.broadcast
    end
    begin
      @worker.wakeup if !ok && @worker && Thread.current != @worker # out of a backoff sleep
    rescue ThreadError
      nil # it has ended
    end
    @worker&.join(1) unless Thread.current == @worker
    @lock.synchronize do
      if !ok && @count.positive?
        stderr("#{@count} log entries were not delivered before close (last error: #{@last_error.empty? ? 'none' : @last_error})")
        @stats[:discarded] += @count
        @queue.clear
        @open = nil
        @count = 0
        @bytes = 0
      end
    end
    ok
  rescue StandardError => e
    stderr("close failed: #{e.message}")
    false
  end

  # Counters: logged, sent, dropped (buffer full), discarded, rejected, batches, failed_attempts, buffered.
  def stats
    @lock.synchronize { @stats.merge(buffered: @count) }
  end

  def inspect
    "#<DevSmithLogger endpoint=#{@uri} service=#{@service_name}>"
  end
  alias to_s inspect

  private

  def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  def pick(option, env, default)
    return option unless option.nil? || option == ""
    v = ENV.fetch(env, "")
    v.empty? ? default : v
  end

  def positive_int(value, name)
    n = value.is_a?(Integer) ? value : (value.to_s.strip.match?(/\A\d+\z/) ? value.to_s.to_i : nil)
    raise ArgumentError, "#{name}: expected a positive integer, got #{value.inspect}" if n.nil? || n <= 0
    n
  end

  def duration(value, name)
    self.class.parse_duration(value)
  rescue ArgumentError => e
    raise ArgumentError, "#{name}: #{e.message}"
  end

  # A JSON-safe copy: cycles, NaN and odd objects made harmless.
  def sanitize(value, seen = {}, depth = 0)
    case value
    when String, Integer, true, false, nil then value
    when Float then value.nan? || value.infinite? ? value.to_s : value
    when Symbol then value.to_s
    when Hash, Array
      return "[Circular]" if seen[value.object_id]
      return "[Too deep]" if depth > 20
      seen = seen.merge(value.object_id => true)
      if value.is_a?(Hash)
        value.each_with_object({}) { |(k, v), h| h[k.to_s] = sanitize(v, seen, depth + 1) }
      else
        value.map { |v| sanitize(v, seen, depth + 1) }
      end
    when Exception then { "type" => value.class.name, "message" => value.message }
    else
      value.respond_to?(:to_h) && !value.is_a?(Struct) ? sanitize(value.to_h, seen, depth + 1) : value.to_s
    end
  rescue StandardError
    "<unprintable #{value.class}>"
  end

  def safe_json(value)
    JSON.generate(value)
  rescue StandardError
    begin
      JSON.generate(sanitize(value))
    rescue StandardError => e
      JSON.generate({ "_unserializable" => e.message })
    end
  end

  # --- buffering (holding @lock) ---------------------------------------------

  def enqueue(line)
    size = line.bytesize + 1
    seal if @open && @open.bytes + size > @max_batch_bytes
    @open ||= Batch.new(SecureRandom.uuid, [], @envelope_bytes, now)
    @open.entries << line
    @open.bytes += size
    @count += 1
    @bytes += size
    enforce_bound
    seal if @open && (@open.entries.size >= @batch_size || @open.bytes >= @max_batch_bytes)
    @cond.broadcast
  end

  def seal
    @queue << @open if @open && !@open.entries.empty?
    @open = nil
  end

  def enforce_bound
    while @count > @max_buffer || (@bytes > @max_buffer_bytes && @count.positive?)
      oldest = @queue.first || @open
      break unless oldest
      dropped = oldest.entries.shift
      oldest.bytes -= dropped.bytesize + 1
      @bytes -= dropped.bytesize + 1
      @count -= 1
      @stats[:dropped] += 1
      @unreported_drops += 1
      stderr("buffer full (platform unreachable?): dropping the oldest log entries") if @unreported_drops == 1
      next unless oldest.entries.empty?
      oldest.equal?(@open) ? @open = nil : @queue.shift
    end
  end

  def requeue_front(batch)
    @queue.unshift(batch)
    @count += batch.entries.size
    @bytes += batch.bytes - @envelope_bytes
    enforce_bound
  end

  # --- sending ---------------------------------------------------------------

  def deliver(deadline, persistent)
    @lock.synchronize do
      seal
      failures_before = @failures
      discarded_before = @stats[:discarded]
      @urgent_deadline = [@urgent_deadline, deadline].max
      @cond.broadcast
      while @count.positive? || @sending
        t = now
        return false if t >= deadline || @stopped
        return false if !persistent && @failures != failures_before
        @cond.wait(@lock, [deadline - t, 0.1].min)
        seal
      end
      @stats[:discarded] == discarded_before # refusals (400, 401, ...) count as failures
    end
  rescue StandardError => e
    stderr("flush failed: #{e.message}")
    false
  end

  def run
    loop do
      batch = nil
      deadline = nil
      @lock.synchronize do
        loop do
          return if @stopped && (@abandoned || (@count.zero? && !@sending))
          t = now
          urgent = t < @urgent_deadline
          seal if @open && (t - @open.opened_at >= @interval || urgent || @closed)
          break if !@queue.empty? && t >= @paused_until
          waits = []
          waits << @open.opened_at + @interval - t if @open
          waits << @paused_until - t unless @queue.empty?
          waits << @urgent_deadline - t if urgent && !@queue.empty?
          @cond.wait(@lock, waits.empty? ? nil : [waits.min, 0.001].max)
        end
        batch = @queue.shift
        @count -= batch.entries.size
        @bytes -= batch.bytes - @envelope_bytes
        @sending = true
        deadline = now < @urgent_deadline ? @urgent_deadline : Float::INFINITY
      end
      result, retry_after = begin
        send_batch(batch, deadline)
      rescue StandardError => e
        stderr("internal error while sending: #{e.message}", once: "internal")
        [:fail, 0.0]
      end
      @lock.synchronize do
        @sending = false
        case result
        when :ok
          @paused_until = 0.0
          report_drops
        when :split
          mid = (batch.entries.size + 1) / 2
          [batch.entries[mid..], batch.entries[0...mid]].each do |half|
            requeue_front(Batch.new(SecureRandom.uuid, half, @envelope_bytes + half.sum { |e| e.bytesize + 1 }, now))
          end
        when :fail
          # Still failing after the retries: back to the buffer whole, same batch_id.
          requeue_front(batch)
          pause = [@interval, retry_after].max
          pause = [pause, [@base_delay, retry_after].max].min if now < @urgent_deadline
          @paused_until = now + pause
          @failures += 1
        end
        @cond.broadcast
      end
    end
  end

  def report_drops # holding @lock
    n = @unreported_drops
    return if n.zero? || now - @last_drop_report < DROP_REPORT_INTERVAL
    @last_drop_report = now
    @unreported_drops = 0
    stderr("dropped #{n} log entries while the platform was unreachable (buffer full)")
    enqueue(safe_json({ "timestamp" => Time.now.utc.iso8601(3), "level" => "WARN",
                        "message" => "devsmith logger dropped #{n} log entries: buffer full while the platform was unreachable",
                        "context" => { "_devsmith_dropped" => n } }))
    seal
  end

  def send_batch(batch, deadline)
    body = %(#{@envelope_head},"batch_id":"#{batch.id}","logs":[#{batch.entries.join(',')}]})
    body = gzip(body) if @gzip
    retry_after = 0.0
    attempt = 0
    loop do
      remaining = deadline - now
      return [:fail, retry_after] if remaining <= 0 || @abandoned
      status, text, header, net_error = post(body, [@request_timeout, remaining].min)
      if status.between?(200, 299)
        @lock.synchronize do
          @stats[:sent] += batch.entries.size
          @stats[:batches] += 1
        end
        accepted(text)
        return [:ok, 0.0]
      end
      @lock.synchronize { @stats[:failed_attempts] += 1 }
      error = server_error(text, status)
      @last_error = net_error || "HTTP #{status}: #{error}"
      if status == 413
        return [:split, 0.0] if batch.entries.size > 1
        @lock.synchronize { @stats[:discarded] += 1 }
        stderr("an entry is too large for the platform and was dropped: #{error}", once: "too-large")
        return [:discard, 0.0]
      end
      unless net_error || status == 408 || status == 429 || status >= 500
        @lock.synchronize { @stats[:discarded] += batch.entries.size }
        stderr("the platform refused a batch of #{batch.entries.size} entries (HTTP #{status}): #{error}; not retrying",
               once: "http-#{status}-#{error}")
        return [:discard, 0.0]
      end
      retry_after = [429, 503].include?(status) ? self.class.parse_retry_after(header) : 0.0
      if attempt >= @max_retries
        stderr("could not send #{batch.entries.size} entries (#{@last_error}); keeping them buffered and retrying later",
               once: "send-failed")
        return [:fail, retry_after]
      end
      wait = self.class.retry_delay(attempt, retry_after, @base_delay, @max_delay)
      return [:fail, retry_after] if now + wait >= deadline
      sleep(wait)
      attempt += 1
    end
  end

  # Returns [status, body, retry_after_header, network_error].
  def post(body, timeout)
    http = Net::HTTP.new(@uri.host, @uri.port)
    http.use_ssl = @uri.scheme == "https"
    http.open_timeout = http.read_timeout = http.write_timeout = [timeout, 0.001].max
    res = http.start { |h| h.post(@uri.request_uri, body, @headers) }
    [res.code.to_i, res.body.to_s, res["Retry-After"], nil]
  rescue StandardError, Timeout::Error => e
    [0, "", nil, "#{e.class}: #{e.message}"]
  end

  def accepted(text)
    stderr("the platform is reachable again; sending buffered entries") if @reported.delete("send-failed")
    res = JSON.parse(text) rescue nil
    rejected = res.is_a?(Hash) ? res["rejected"] : nil
    return unless rejected.is_a?(Array) && !rejected.empty?
    @lock.synchronize { @stats[:rejected] += rejected.size }
    first = rejected.first.is_a?(Hash) ? rejected.first : {}
    stderr("the platform rejected #{rejected.size} entries, e.g. ##{first['index']}: #{first['reason']}", once: "rejected-#{first['reason']}")
  end

  def server_error(text, status)
    body = JSON.parse(text) rescue nil
    return body["error"].to_s[0, 500] if body.is_a?(Hash) && body["error"]
    (text.to_s.empty? ? "status #{status}" : text.to_s[0, 200]).split.join(" ")
  end

  def gzip(text)
    io = StringIO.new
    z = Zlib::GzipWriter.new(io)
    z.write(text)
    z.close
    io.string
  end

  def stderr(text, once: nil)
    if once
      return if @reported.key?(once)
      @reported.clear if @reported.size > 100
      @reported[once] = true
    end
    text = text.gsub(@api_key, "[api key]") unless @api_key.to_s.empty?
    $stderr.write(PREFIX + text + "\n")
  rescue StandardError
    nil
  end
end
