<?php
// Unit tests of the PHP sample logger, with no test framework:
//   php tests/DevSmithLoggerTest.php
// Prints "N passed, N failed" and exits 1 on a failure. Delivery to the
// real platform is tested in e2e/samples_test.go.
require __DIR__ . '/../DevSmithLogger.php';

const KEY = 'dsk_secret_key_never_printed';
$passed = 0;
$failed = 0;

function test(string $name, callable $f): void
{
    global $passed, $failed;
    try {
        $f();
        $passed++;
        echo "ok   $name\n";
    } catch (Throwable $e) {
        $failed++;
        echo "FAIL $name: " . $e->getMessage() . ' (line ' . $e->getLine() . ")\n";
    }
}

function eq($want, $got): void
{
    if ($want !== $got) {
        throw new Exception('want ' . var_export($want, true) . ', got ' . var_export($got, true));
    }
}

function yes(bool $cond, string $what): void
{
    if (!$cond) {
        throw new Exception($what);
    }
}

/** A loopback port where nothing listens: every send fails with a network error. */
function deadUrl(): string
{
    $s = stream_socket_server('tcp://127.0.0.1:0');
    $port = (int) substr(strrchr(stream_socket_get_name($s, false), ':'), 1);
    fclose($s);
    return "http://127.0.0.1:$port/api/logs";
}

function unreachable(array $opts = []): DevSmithLogger
{
    return new DevSmithLogger($opts + ['api_key' => KEY, 'api_url' => deadUrl(), 'service_name' => 'unit',
        'flush_at_exit' => false, 'retry_base_delay' => 0.01, 'max_retries' => 1]);
}

test('parseDuration', function () {
    eq(5.0, DevSmithLogger::parseDuration('5s'));
    eq(0.5, DevSmithLogger::parseDuration('500ms'));
    eq(120.0, DevSmithLogger::parseDuration('2m'));
    eq(3600.0, DevSmithLogger::parseDuration('1h'));
    eq(1.5, DevSmithLogger::parseDuration('1.5'));
    eq(2.0, DevSmithLogger::parseDuration(2));
    foreach (['', '5x', '-1s', 'soon'] as $bad) {
        try {
            DevSmithLogger::parseDuration($bad);
            throw new Exception("accepted $bad");
        } catch (InvalidArgumentException $e) {
            yes(strpos($e->getMessage(), 'invalid duration') === 0, $e->getMessage());
        }
    }
});

test('bad options are refused naming them', function () {
    foreach ([['api_url' => 'localhost:3000'], ['batch_size' => 0], ['flush_interval' => 'soon']] as $bad) {
        try {
            new DevSmithLogger($bad + ['api_key' => KEY, 'flush_at_exit' => false]);
            throw new Exception('accepted ' . json_encode($bad));
        } catch (InvalidArgumentException $e) {
            yes(strpos($e->getMessage(), key($bad)) === 0, $e->getMessage());
        }
    }
});

test('parseRetryAfter: seconds, an HTTP date, bounded', function () {
    $now = (float) gmmktime(0, 0, 0, 1, 1, 2025);
    eq(3.0, DevSmithLogger::parseRetryAfter('3', $now));
    eq(20.0, DevSmithLogger::parseRetryAfter('Wed, 01 Jan 2025 00:00:20 GMT', $now));
    eq(300.0, DevSmithLogger::parseRetryAfter('86400', $now));
    eq(0.0, DevSmithLogger::parseRetryAfter(null, $now));
    eq(0.0, DevSmithLogger::parseRetryAfter('later', $now));
    eq(0.0, DevSmithLogger::parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', $now));
});

test('retryDelay: Retry-After wins, else doubling backoff with jitter, capped', function () {
    eq(4.0, DevSmithLogger::retryDelay(0, 4.0, 0.5, 30.0, 0.9));
    eq(0.25, DevSmithLogger::retryDelay(0, 0.0, 0.5, 30.0, 0.0));
    eq(1.0, DevSmithLogger::retryDelay(2, 0.0, 0.5, 30.0, 0.0));
    eq(15.0, DevSmithLogger::retryDelay(20, 0.0, 0.5, 30.0, 0.0));
});

test('PSR-3 interpolation', function () {
    $date = new DateTimeImmutable('2025-01-02T03:04:05Z');
    $obj = new class {
        public function __toString(): string { return 'stringable'; }
    };
    eq('user ada (42) at 2025-01-02T03:04:05+00:00: stringable, true, null, {missing}, {arr}',
        DevSmithLogger::interpolate('user {name} ({id}) at {when}: {obj}, {flag}, {nothing}, {missing}, {arr}',
            ['name' => 'ada', 'id' => 42, 'when' => $date, 'obj' => $obj, 'flag' => true, 'nothing' => null, 'arr' => [1]]));
    eq('no placeholders', DevSmithLogger::interpolate('no placeholders', ['a' => 1]));
});

test('the eight PSR-3 methods and log() never throw', function () {
    $log = unreachable(['batch_size' => 1000, 'flush_interval' => 3600]);
    foreach (['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug'] as $m) {
        $log->$m("via $m", ['m' => $m]);
    }
    $log->log('custom-level', 'sent as is', []);
    $log->error('with an exception', ['exception' => new RuntimeException('boom')]);
    $log->info('odd context', ['nan' => NAN, 'res' => fopen('php://memory', 'r'), 'deep' => [[[[1]]]], 0 => 'list key']);
    eq(11, $log->stats()['logged']);
    $log->close(0.05);
});

test('the buffer is bounded: the oldest entries are dropped and counted', function () {
    $log = unreachable(['max_buffer_size' => 10, 'batch_size' => 1000, 'flush_interval' => 3600]);
    for ($i = 0; $i < 25; $i++) {
        $log->info("entry $i", ['i' => $i]);
    }
    $s = $log->stats();
    eq(25, $s['logged']);
    eq(15, $s['dropped']);
    eq(10, $s['buffered']);
    yes(!$log->close(0.3), 'close reports the undelivered entries');
    eq(10, $log->stats()['discarded']);
    eq(0, $log->stats()['buffered']);
});

test('a failed send from a log call pauses sending; close keeps trying until its timeout', function () {
    $log = unreachable(['batch_size' => 2, 'flush_interval' => 3600]);
    $log->info('one');
    $log->info('two'); // a full batch: one attempt, fails, sending pauses
    eq(1, $log->stats()['failed_attempts']);
    $log->info('three');
    $log->info('four'); // paused: no attempt
    eq(1, $log->stats()['failed_attempts']);
    eq(4, $log->stats()['buffered']);
    yes(!$log->flush(5.0), 'flush to a dead port fails');
    $t0 = microtime(true);
    yes(!$log->close(0.7), 'close to a dead port fails');
    $took = microtime(true) - $t0;
    yes($took >= 0.6 && $took < 3, "close kept trying for its timeout: $took s");
    $log->info('after close');
    eq(4, $log->stats()['logged']);
});

// The key must never reach stderr: log in a child process and read its stderr.
test('the key is never printed', function () {
    $cmd = escapeshellarg(PHP_BINARY) . ' -r ' . escapeshellarg(
        'require ' . var_export(__DIR__ . '/../DevSmithLogger.php', true) . ';'
        . '$l = new DevSmithLogger(["api_key" => "' . KEY . '", "api_url" => ' . var_export(deadUrl(), true) . ', "max_retries" => 0, "batch_size" => 1]);'
        . '$l->info("x " . "' . KEY . '"); $l->close(0.2);') . ' 2>&1';
    $out = shell_exec($cmd);
    yes(strpos($out, 'devsmith-logger: could not send 1 entries') !== false, "stderr: $out");
    yes(strpos($out, KEY) === false, "the key was printed: $out");
});

echo "$passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);
