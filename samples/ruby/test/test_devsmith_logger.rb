# frozen_string_literal: true

# Unit tests of the Ruby sample logger (minitest, bundled with Ruby):
#   ruby test/test_devsmith_logger.rb
# Delivery to the real platform is tested in e2e/samples_test.go.
require "minitest/autorun"
require "socket"
require "stringio"
require_relative "../devsmith_logger"

class DevSmithLoggerTest < Minitest::Test
  KEY = "dsk_secret_key_never_printed"

  # A loopback port where nothing listens: every send fails with a network error.
  def dead_url
    s = TCPServer.new("127.0.0.1", 0)
    port = s.addr[1]
    s.close
    "http://127.0.0.1:#{port}/api/logs"
  end

  def unreachable(**opts)
    DevSmithLogger.new(api_key: KEY, api_url: dead_url, service_name: "unit", flush_at_exit: false,
                       retry_base_delay: 0.01, max_retries: 1, **opts)
  end

  def capture_stderr
    old = $stderr
    $stderr = StringIO.new
    yield
    $stderr.string
  ensure
    $stderr = old
  end

  def test_parse_duration
    assert_equal 5.0, DevSmithLogger.parse_duration("5s")
    assert_in_delta 0.5, DevSmithLogger.parse_duration("500ms")
    assert_equal 120.0, DevSmithLogger.parse_duration("2m")
    assert_equal 3600.0, DevSmithLogger.parse_duration("1h")
    assert_equal 1.5, DevSmithLogger.parse_duration("1.5")
    assert_equal 2.0, DevSmithLogger.parse_duration(2)
    ["", "5x", "-1s", "soon"].each do |bad|
      err = assert_raises(ArgumentError) { DevSmithLogger.parse_duration(bad) }
      assert_match(/invalid duration/, err.message)
    end
  end

  def test_bad_options_are_refused_naming_them
    err = assert_raises(ArgumentError) { DevSmithLogger.new(api_key: KEY, api_url: "localhost:3000", flush_at_exit: false) }
    assert_match(/\Aapi_url \(DEVSMITH_URL\)/, err.message)
    err = assert_raises(ArgumentError) { DevSmithLogger.new(api_key: KEY, batch_size: 0, flush_at_exit: false) }
    assert_match(/\Abatch_size/, err.message)
    err = assert_raises(ArgumentError) { DevSmithLogger.new(api_key: KEY, flush_interval: "soon", flush_at_exit: false) }
    assert_match(/\Aflush_interval/, err.message)
  end

  def test_parse_retry_after
    now = Time.utc(2025, 1, 1)
    assert_equal 3.0, DevSmithLogger.parse_retry_after("3", now)
    assert_equal 20.0, DevSmithLogger.parse_retry_after("Wed, 01 Jan 2025 00:00:20 GMT", now)
    assert_equal 300.0, DevSmithLogger.parse_retry_after("86400", now)
    assert_equal 0.0, DevSmithLogger.parse_retry_after(nil, now)
    assert_equal 0.0, DevSmithLogger.parse_retry_after("later", now)
    assert_equal 0.0, DevSmithLogger.parse_retry_after("Tue, 31 Dec 2024 00:00:00 GMT", now)
  end

  def test_retry_delay
    assert_equal 4.0, DevSmithLogger.retry_delay(0, 4.0, 0.5, 30.0, 0.9)
    assert_equal 0.25, DevSmithLogger.retry_delay(0, 0.0, 0.5, 30.0, 0.0)
    assert_equal 1.0, DevSmithLogger.retry_delay(2, 0.0, 0.5, 30.0, 0.0)
    assert_equal 15.0, DevSmithLogger.retry_delay(20, 0.0, 0.5, 30.0, 0.0)
  end

  def test_logger_interface
    log = unreachable(batch_size: 1000, flush_interval: 3600)
    log.level = :warn
    refute log.info?
    assert log.warn?
    log.info("below the level")
    log.warn("kept", user_id: 1)
    log.error { "from a block" }
    log.fatal("billing") { "with a progname" }
    log.add(::Logger::ERROR, "via add")
    log.log(::Logger::WARN, "via log")
    log.log("TRACE", "a level name")
    log << "raw text\n"
    assert_equal 7, log.stats[:logged]
    log.close(0.05)
  end

  def test_buffer_is_bounded_drops_counted_key_never_printed
    log = unreachable(max_buffer_size: 10, batch_size: 1000, flush_interval: 3600)
    out = capture_stderr do
      25.times { |i| log.info("entry #{i}", i: i) }
      s = log.stats
      assert_equal 25, s[:logged]
      assert_equal 15, s[:dropped]
      assert_equal 10, s[:buffered]
      refute log.close(0.3), "close reports the undelivered entries"
      assert_equal 10, log.stats[:discarded]
    end
    assert_includes out, "devsmith-logger: buffer full"
    assert_includes out, "10 log entries were not delivered before close"
    refute_includes out, KEY
  end

  def test_flush_gives_up_after_a_round_close_keeps_trying
    log = unreachable
    capture_stderr do
      begin
        raise KeyError, "boom"
      rescue KeyError => e
        log.error(e)
      end
      t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      refute log.flush(5)
      assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0, :<, 4
      assert_equal 1, log.stats[:buffered]
      t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      refute log.close(0.7)
      took = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
      assert_operator took, :>=, 0.6
      assert_operator log.stats[:failed_attempts], :>=, 2
      log.info("after close")
      assert_equal 1, log.stats[:logged]
    end
  end

  def test_context_is_made_json_safe
    log = unreachable(batch_size: 1000, flush_interval: 3600)
    cyclic = {}
    cyclic[:self] = cyclic
    log.info("odd context", cyclic: cyclic, nan: Float::NAN, sym: :x, obj: Object.new)
    assert_equal 1, log.stats[:logged]
    log.close(0.05)
  end
end
