<?php
// DevSmith Logs: a zero-dependency logger for PHP 7.4+ (the curl and json
// extensions). Copy this one file into your app:
//
//   require __DIR__ . '/DevSmithLogger.php';
//   $log = new DevSmithLogger(['service_name' => 'api']);   // or DEVSMITH_* environment variables
//   $log->info('User {user} logged in', ['user' => 'ada', 'user_id' => 123]);
//   $log->error('Payment failed', ['exception' => $e]);
//
// PSR-3 shaped (emergency ... debug, log($level, $message, $context) with
// {placeholder} interpolation) without requiring psr/log: wrap it in a
// class implementing Psr\Log\LoggerInterface if your framework asks for
// one (docs/samples/php.md). Entries are buffered and sent to POST
// {DEVSMITH_URL}/batch every 100 entries or 5 s (checked on each log call),
// and at the end of the script (a shutdown function). A send from a log call
// is one attempt that never sleeps; flush() and close() retry with backoff.
// Every batch keeps its batch_id across retries (the server stores a
// repeated batch once); the buffer is bounded; a log call never throws.

final class DevSmithLogger
{
    const DEFAULT_URL = 'http://localhost:3000/api/logs';
    const PREFIX = 'devsmith-logger: ';
    const DROP_REPORT_INTERVAL = 10.0;

    /** PSR-3 level names to the platform's. */
    const LEVELS = [
        'emergency' => 'FATAL', 'alert' => 'FATAL', 'critical' => 'FATAL', 'error' => 'ERROR',
        'warning' => 'WARN', 'notice' => 'INFO', 'info' => 'INFO', 'debug' => 'DEBUG',
        'trace' => 'TRACE', 'warn' => 'WARN', 'fatal' => 'FATAL',
    ];

    private $apiKey;
    private $endpoint;
    private $serviceName;
    private $envelopeHead;
    private $envelopeBytes;
    private $batchSize;
    private $interval;
    private $gzip;
    private $maxBatchBytes;
    private $maxBuffer;
    private $maxBufferBytes;
    private $maxRetries;
    private $baseDelay;
    private $maxDelay;
    private $requestTimeout;
    private $closeTimeout;
    private $disabled;
    private $curl;

    /** @var array|null the batch accumulating entries: ['id', 'entries', 'bytes', 'opened'] */
    private $open;
    /** @var array sealed batches, oldest first */
    private $queue = [];
    private $count = 0;
    private $bytes = 0;
    private $closed = false;
    private $pausedUntil = 0.0;
    private $unreportedDrops = 0;
    private $lastDropReport = -self::DROP_REPORT_INTERVAL;
    private $lastError = '';
    private $reported = [];
    private $stats = ['logged' => 0, 'sent' => 0, 'dropped' => 0, 'discarded' => 0, 'rejected' => 0, 'batches' => 0, 'failed_attempts' => 0];

    /**
     * Options (each falls back to its environment variable, then the default):
     * api_key (DEVSMITH_API_KEY), api_url (DEVSMITH_URL), project_slug
     * (DEVSMITH_PROJECT), service_name (DEVSMITH_SERVICE, default the script's
     * name), batch_size (DEVSMITH_BATCH_SIZE, 100), flush_interval
     * (DEVSMITH_FLUSH_INTERVAL, 5 s), gzip (DEVSMITH_GZIP); and
     * max_batch_bytes (1 MiB), max_buffer_size (100000), max_buffer_bytes
     * (64 MiB), max_retries (3), retry_base_delay (0.5 s), retry_max_delay
     * (30 s), request_timeout (10 s), close_timeout (10 s), flush_at_exit (true).
     * A bad value throws InvalidArgumentException naming the option.
     */
    public function __construct(array $options = [])
    {
        $o = $options;
        $this->apiKey = (string) self::pick($o, 'api_key', 'DEVSMITH_API_KEY', '');
        $url = rtrim((string) self::pick($o, 'api_url', 'DEVSMITH_URL', self::DEFAULT_URL), '/');
        if (!preg_match('#^https?://#', $url)) {
            throw new InvalidArgumentException(sprintf('api_url (DEVSMITH_URL) must start with http:// or https://, got "%s"', $url));
        }
        $project = (string) self::pick($o, 'project_slug', 'DEVSMITH_PROJECT', '');
        $script = isset($_SERVER['argv'][0]) ? pathinfo($_SERVER['argv'][0], PATHINFO_FILENAME) : '';
        $this->serviceName = (string) self::pick($o, 'service_name', 'DEVSMITH_SERVICE', $script !== '' ? $script : 'app');
        $this->batchSize = self::positiveInt(self::pick($o, 'batch_size', 'DEVSMITH_BATCH_SIZE', 100), 'batch_size (DEVSMITH_BATCH_SIZE)');
        $this->interval = max(0.001, self::durationOption(self::pick($o, 'flush_interval', 'DEVSMITH_FLUSH_INTERVAL', 5.0), 'flush_interval (DEVSMITH_FLUSH_INTERVAL)'));
        $this->gzip = array_key_exists('gzip', $o) ? (bool) $o['gzip'] : in_array(strtolower((string) getenv('DEVSMITH_GZIP')), ['1', 'true', 'yes'], true);
        $this->maxBatchBytes = self::positiveInt($o['max_batch_bytes'] ?? 1024 * 1024, 'max_batch_bytes');
        $this->maxBuffer = self::positiveInt($o['max_buffer_size'] ?? 100000, 'max_buffer_size');
        $this->maxBufferBytes = self::positiveInt($o['max_buffer_bytes'] ?? 64 * 1024 * 1024, 'max_buffer_bytes');
        $this->maxRetries = max(0, (int) ($o['max_retries'] ?? 3));
        $this->baseDelay = self::durationOption($o['retry_base_delay'] ?? 0.5, 'retry_base_delay');
        $this->maxDelay = self::durationOption($o['retry_max_delay'] ?? 30.0, 'retry_max_delay');
        $this->requestTimeout = self::durationOption($o['request_timeout'] ?? 10.0, 'request_timeout');
        $this->closeTimeout = self::durationOption($o['close_timeout'] ?? 10.0, 'close_timeout');
        if (!function_exists('curl_init')) {
            throw new RuntimeException('DevSmithLogger needs the curl extension (Debian: apt-get install php-curl)');
        }
        $this->endpoint = $url . '/batch';
        $head = ['service_name' => $this->serviceName];
        if ($project !== '') {
            $head['project_slug'] = $project;
        }
        $this->envelopeHead = substr(self::json($head), 0, -1);
        $this->envelopeBytes = strlen($this->envelopeHead) + 64;
        $this->disabled = $this->apiKey === '';
        if ($this->disabled) {
            $this->stderr('no API key (set DEVSMITH_API_KEY or pass api_key): logs will not be sent');
        } elseif ($o['flush_at_exit'] ?? true) {
            register_shutdown_function([$this, 'close']);
        }
    }

    public function __destruct()
    {
        $this->close();
    }

    public function emergency($message, array $context = []): void { $this->log('emergency', $message, $context); }
    public function alert($message, array $context = []): void { $this->log('alert', $message, $context); }
    public function critical($message, array $context = []): void { $this->log('critical', $message, $context); }
    public function error($message, array $context = []): void { $this->log('error', $message, $context); }
    public function warning($message, array $context = []): void { $this->log('warning', $message, $context); }
    public function notice($message, array $context = []): void { $this->log('notice', $message, $context); }
    public function info($message, array $context = []): void { $this->log('info', $message, $context); }
    public function debug($message, array $context = []): void { $this->log('debug', $message, $context); }

    /**
     * Logs at a PSR-3 level (or trace, warn, fatal; any other name is sent
     * as is and stored as INFO with the original in context._level). The
     * message's {placeholders} are filled from the context; the context is
     * sent whole, a Throwable under "exception" as "exception" and "stack".
     * Never throws.
     */
    public function log($level, $message, array $context = []): void
    {
        try {
            if ($this->closed || $this->disabled) {
                return;
            }
            $name = strtolower((string) $level);
            $lvl = self::LEVELS[$name] ?? strtoupper($name);
            if ($message instanceof Throwable && !isset($context['exception'])) {
                $context['exception'] = $message;
                $message = $message->getMessage() !== '' ? $message->getMessage() : get_class($message);
            }
            $message = self::interpolate(is_string($message) ? $message : self::stringify($message), $context);
            if (isset($context['exception']) && $context['exception'] instanceof Throwable) {
                $e = $context['exception'];
                $context['exception'] = get_class($e) . ': ' . $e->getMessage();
                $context['stack'] = (string) $e;
            }
            $entry = ['timestamp' => self::timestamp(microtime(true)), 'level' => $lvl, 'message' => $message === '' ? '(empty message)' : $message];
            if ($context) {
                $entry['context'] = (object) self::sanitize($context, 0); // an object even when the keys are 0, 1, ...
            }
            $this->stats['logged']++;
            $this->enqueue(self::json($entry));
            $this->maybeSend();
        } catch (Throwable $e) {
            $this->stderr('could not log an entry: ' . $e->getMessage(), 'log-failed');
        }
    }

    /** Sends everything buffered now, with retries. True when all of it was delivered. Never throws. */
    public function flush(?float $timeout = null): bool
    {
        try {
            return $this->deliver(microtime(true) + ($timeout ?? $this->closeTimeout), false);
        } catch (Throwable $e) {
            $this->stderr('flush failed: ' . $e->getMessage());
            return false;
        }
    }

    /**
     * Stops accepting entries, then keeps trying to deliver the buffer until
     * it is delivered or the timeout (default close_timeout) passes. True when
     * everything was delivered. Never throws.
     */
    public function close(?float $timeout = null): bool
    {
        try {
            if ($this->disabled || ($this->closed && $this->count === 0)) {
                return true;
            }
            $this->closed = true;
            $ok = $this->deliver(microtime(true) + ($timeout ?? $this->closeTimeout), true);
            if ($this->unreportedDrops > 0) {
                $this->stderr(sprintf('dropped %d log entries while the platform was unreachable (buffer full)', $this->unreportedDrops));
                $this->unreportedDrops = 0;
            }
            if (!$ok && $this->count > 0) {
                $this->stderr(sprintf('%d log entries were not delivered before close (last error: %s)', $this->count, $this->lastError !== '' ? $this->lastError : 'none'));
                $this->stats['discarded'] += $this->count;
                $this->queue = [];
                $this->open = null;
                $this->count = 0;
                $this->bytes = 0;
            }
            if ($this->curl) {
                curl_close($this->curl);
                $this->curl = null;
            }
            return $ok;
        } catch (Throwable $e) {
            $this->stderr('close failed: ' . $e->getMessage());
            return false;
        }
    }

    /** Counters: logged, sent, dropped (buffer full), discarded, rejected, batches, failed_attempts, buffered. */
    public function stats(): array
    {
        return $this->stats + ['buffered' => $this->count];
    }

    public function __debugInfo()
    {
        return ['endpoint' => $this->endpoint, 'service_name' => $this->serviceName, 'buffered' => $this->count];
    }

    // --- helpers (public for the tests) ------------------------------------

    /** Seconds from "5s", "500ms", "2m", "1h" or a bare number of seconds. */
    public static function parseDuration($value): float
    {
        if (is_int($value) || is_float($value)) {
            if ($value < 0 || is_nan((float) $value)) {
                throw new InvalidArgumentException(sprintf('invalid duration %s', var_export($value, true)));
            }
            return (float) $value;
        }
        if (!is_string($value) || !preg_match('/^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/', $value, $m)) {
            throw new InvalidArgumentException(sprintf('invalid duration %s: use e.g. "5s", "500ms" or a number of seconds', json_encode($value)));
        }
        return (float) $m[1] * ['ms' => 0.001, 's' => 1.0, 'm' => 60.0, 'h' => 3600.0][$m[2] ?? 's' ?: 's'];
    }

    /** Seconds from a Retry-After header (seconds or an HTTP date), at most 300; 0 when absent or bad. */
    public static function parseRetryAfter(?string $value, ?float $now = null): float
    {
        $value = trim((string) $value);
        if ($value === '') {
            return 0.0;
        }
        if (is_numeric($value)) {
            $secs = (float) $value;
        } else {
            $t = strtotime($value);
            if ($t === false) {
                return 0.0;
            }
            $secs = $t - ($now ?? microtime(true));
        }
        return $secs < 0 ? 0.0 : min($secs, 300.0);
    }

    /** The wait before retry attempt+1: Retry-After when given, else exponential backoff with jitter in [b/2, b). */
    public static function retryDelay(int $attempt, float $retryAfter, float $base, float $max, float $random): float
    {
        if ($retryAfter > 0) {
            return $retryAfter;
        }
        $backoff = min($max, $base * (2 ** $attempt));
        return $backoff / 2 + $random * $backoff / 2;
    }

    /** PSR-3 interpolation: {key} replaced by a scalar, null, Stringable or date context value; others left as they are. */
    public static function interpolate(string $message, array $context): string
    {
        if (strpos($message, '{') === false) {
            return $message;
        }
        return preg_replace_callback('/\{([A-Za-z0-9_.]+)\}/', function ($m) use ($context) {
            if (!array_key_exists($m[1], $context)) {
                return $m[0];
            }
            $v = $context[$m[1]];
            if ($v === null || is_scalar($v)) {
                return is_bool($v) ? ($v ? 'true' : 'false') : ($v === null ? 'null' : (string) $v);
            }
            if ($v instanceof DateTimeInterface) {
                return $v->format(DateTimeInterface::RFC3339);
            }
            if (is_object($v) && method_exists($v, '__toString')) {
                return (string) $v;
            }
            return $m[0];
        }, $message);
    }

    // --- buffering ---------------------------------------------------------

    private function enqueue(string $json): void
    {
        $size = strlen($json) + 1;
        if ($this->open !== null && $this->open['bytes'] + $size > $this->maxBatchBytes) {
            $this->seal();
        }
        if ($this->open === null) {
            $this->open = ['id' => self::uuid(), 'entries' => [], 'bytes' => $this->envelopeBytes, 'opened' => microtime(true)];
        }
        $this->open['entries'][] = $json;
        $this->open['bytes'] += $size;
        $this->count++;
        $this->bytes += $size;
        $this->enforceBound();
        if ($this->open !== null && (count($this->open['entries']) >= $this->batchSize || $this->open['bytes'] >= $this->maxBatchBytes)) {
            $this->seal();
        }
    }

    private function seal(): void
    {
        if ($this->open !== null && $this->open['entries']) {
            $this->queue[] = $this->open;
        }
        $this->open = null;
    }

    private function enforceBound(): void
    {
        while ($this->count > $this->maxBuffer || ($this->bytes > $this->maxBufferBytes && $this->count > 0)) {
            if ($this->queue) {
                $dropped = array_shift($this->queue[0]['entries']);
                $this->queue[0]['bytes'] -= strlen($dropped) + 1;
                $empty = !$this->queue[0]['entries'];
                if ($empty) {
                    array_shift($this->queue);
                }
            } elseif ($this->open !== null) {
                $dropped = array_shift($this->open['entries']);
                $this->open['bytes'] -= strlen($dropped) + 1;
                if (!$this->open['entries']) {
                    $this->open = null;
                }
            } else {
                break;
            }
            $this->bytes -= strlen($dropped) + 1;
            $this->count--;
            $this->stats['dropped']++;
            if ($this->unreportedDrops++ === 0) {
                $this->stderr('buffer full (platform unreachable?): dropping the oldest log entries');
            }
        }
    }

    private function requeueFront(array $batch): void
    {
        array_unshift($this->queue, $batch);
        $this->count += count($batch['entries']);
        $this->bytes += $batch['bytes'] - $this->envelopeBytes;
        $this->enforceBound();
    }

    // --- sending -----------------------------------------------------------

    // From a log call: seal an old open batch, then one attempt per sealed
    // batch, unless a failure paused sending.
    private function maybeSend(): void
    {
        $now = microtime(true);
        if ($this->open !== null && $now - $this->open['opened'] >= $this->interval) {
            $this->seal();
        }
        if ($this->queue && $now >= $this->pausedUntil) {
            $this->drain(INF, 0);
        }
    }

    private function deliver(float $deadline, bool $persistent): bool
    {
        $this->seal();
        $discardedBefore = $this->stats['discarded'];
        $ok = $this->drain($deadline, $this->maxRetries);
        while (!$ok && $persistent && microtime(true) < $deadline) {
            $pause = min(max($this->pausedUntil - microtime(true), $this->baseDelay), $deadline - microtime(true));
            if ($pause > 0) {
                usleep((int) ($pause * 1e6));
            }
            $this->seal();
            $ok = $this->drain($deadline, $this->maxRetries);
        }
        return $ok && $this->count === 0 && $this->stats['discarded'] === $discardedBefore;
    }

    private function drain(float $deadline, int $retries): bool
    {
        while ($this->queue) {
            $batch = array_shift($this->queue);
            $this->count -= count($batch['entries']);
            $this->bytes -= $batch['bytes'] - $this->envelopeBytes;
            [$result, $retryAfter] = $this->sendBatch($batch, $deadline, $retries);
            if ($result === 'ok') {
                $this->pausedUntil = 0.0;
                $this->reportDrops();
            } elseif ($result === 'split') {
                $mid = intdiv(count($batch['entries']) + 1, 2);
                foreach ([array_slice($batch['entries'], $mid), array_slice($batch['entries'], 0, $mid)] as $half) {
                    $bytes = $this->envelopeBytes;
                    foreach ($half as $e) {
                        $bytes += strlen($e) + 1;
                    }
                    $this->requeueFront(['id' => self::uuid(), 'entries' => $half, 'bytes' => $bytes, 'opened' => microtime(true)]);
                }
            } elseif ($result === 'fail') {
                // Still failing: back to the buffer whole, same batch_id.
                $this->requeueFront($batch);
                $this->pausedUntil = microtime(true) + max($this->interval, $retryAfter);
                return false;
            }
        }
        return true;
    }

    private function reportDrops(): void
    {
        $n = $this->unreportedDrops;
        if ($n === 0 || microtime(true) - $this->lastDropReport < self::DROP_REPORT_INTERVAL) {
            return;
        }
        $this->lastDropReport = microtime(true);
        $this->unreportedDrops = 0;
        $this->stderr(sprintf('dropped %d log entries while the platform was unreachable (buffer full)', $n));
        $this->enqueue(self::json(['timestamp' => self::timestamp(microtime(true)), 'level' => 'WARN',
            'message' => sprintf('devsmith logger dropped %d log entries: buffer full while the platform was unreachable', $n),
            'context' => ['_devsmith_dropped' => $n]]));
        $this->seal();
    }

    /** @return array{0: string, 1: float} ok | split | discard | fail, and the last Retry-After */
    private function sendBatch(array $batch, float $deadline, int $retries): array
    {
        $body = sprintf('%s,"batch_id":"%s","logs":[%s]}', $this->envelopeHead, $batch['id'], implode(',', $batch['entries']));
        if ($this->gzip) {
            $body = gzencode($body, 6);
        }
        $retryAfter = 0.0;
        for ($attempt = 0; ; $attempt++) {
            $remaining = $deadline - microtime(true);
            if ($remaining <= 0) {
                return ['fail', $retryAfter];
            }
            [$status, $text, $header, $netError] = $this->post($body, min($this->requestTimeout, $remaining));
            if ($status >= 200 && $status < 300) {
                $this->stats['sent'] += count($batch['entries']);
                $this->stats['batches']++;
                $this->accepted($text);
                return ['ok', 0.0];
            }
            $this->stats['failed_attempts']++;
            $error = self::serverError($text, $status);
            $this->lastError = $netError !== null ? $netError : sprintf('HTTP %d: %s', $status, $error);
            if ($status === 413) {
                if (count($batch['entries']) > 1) {
                    return ['split', 0.0];
                }
                $this->stats['discarded']++;
                $this->stderr('an entry is too large for the platform and was dropped: ' . $error, 'too-large');
                return ['discard', 0.0];
            }
            if ($netError === null && $status !== 408 && $status !== 429 && $status < 500) {
                $this->stats['discarded'] += count($batch['entries']);
                $this->stderr(sprintf('the platform refused a batch of %d entries (HTTP %d): %s; not retrying', count($batch['entries']), $status, $error), "http-$status-$error");
                return ['discard', 0.0];
            }
            $retryAfter = ($status === 429 || $status === 503) ? self::parseRetryAfter($header) : 0.0;
            if ($attempt >= $retries) {
                $this->stderr(sprintf('could not send %d entries (%s); keeping them buffered and retrying later', count($batch['entries']), $this->lastError), 'send-failed');
                return ['fail', $retryAfter];
            }
            $wait = self::retryDelay($attempt, $retryAfter, $this->baseDelay, $this->maxDelay, mt_rand() / mt_getrandmax());
            if (microtime(true) + $wait >= $deadline) {
                return ['fail', $retryAfter];
            }
            usleep((int) ($wait * 1e6));
        }
    }

    /** @return array{0: int, 1: string, 2: ?string, 3: ?string} status, body, Retry-After, network error */
    private function post(string $body, float $timeout): array
    {
        if ($this->curl === null) {
            $this->curl = curl_init();
        }
        $retryAfter = null;
        $headers = ['Content-Type: application/json', 'Authorization: Bearer ' . $this->apiKey, 'User-Agent: devsmith-logger-php/1', 'Expect:'];
        if ($this->gzip) {
            $headers[] = 'Content-Encoding: gzip';
        }
        $ms = max(1, (int) ($timeout * 1000));
        curl_setopt_array($this->curl, [
            CURLOPT_URL => $this->endpoint,
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $body,
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT_MS => $ms,
            CURLOPT_CONNECTTIMEOUT_MS => $ms,
            CURLOPT_NOSIGNAL => true,
            CURLOPT_HEADERFUNCTION => function ($ch, $line) use (&$retryAfter) {
                if (stripos($line, 'retry-after:') === 0) {
                    $retryAfter = trim(substr($line, 12));
                }
                return strlen($line);
            },
        ]);
        $text = curl_exec($this->curl);
        if ($text === false) {
            $error = curl_error($this->curl);
            curl_close($this->curl); // a fresh connection next time
            $this->curl = null;
            return [0, '', null, 'curl: ' . $error];
        }
        return [(int) curl_getinfo($this->curl, CURLINFO_RESPONSE_CODE), (string) $text, $retryAfter, null];
    }

    private function accepted(string $text): void
    {
        if (isset($this->reported['send-failed'])) {
            unset($this->reported['send-failed']);
            $this->stderr('the platform is reachable again; sending buffered entries');
        }
        $res = json_decode($text, true);
        if (is_array($res) && !empty($res['rejected']) && is_array($res['rejected'])) {
            $this->stats['rejected'] += count($res['rejected']);
            $first = is_array($res['rejected'][0] ?? null) ? $res['rejected'][0] : [];
            $this->stderr(sprintf('the platform rejected %d entries, e.g. #%s: %s', count($res['rejected']), $first['index'] ?? '?', $first['reason'] ?? '?'), 'rejected-' . ($first['reason'] ?? ''));
        }
    }

    private function stderr(string $text, ?string $once = null): void
    {
        if ($once !== null) {
            if (isset($this->reported[$once])) {
                return;
            }
            if (count($this->reported) > 100) {
                $this->reported = [];
            }
            $this->reported[$once] = true;
        }
        if ($this->apiKey !== '') {
            $text = str_replace($this->apiKey, '[api key]', $text);
        }
        @file_put_contents('php://stderr', self::PREFIX . $text . "\n");
    }

    // --- small helpers -----------------------------------------------------

    private static function pick(array $o, string $key, string $env, $default)
    {
        if (isset($o[$key]) && $o[$key] !== '') {
            return $o[$key];
        }
        $v = getenv($env);
        return $v !== false && $v !== '' ? $v : $default;
    }

    private static function positiveInt($value, string $name): int
    {
        if (is_int($value) && $value > 0) {
            return $value;
        }
        if (is_string($value) && ctype_digit(trim($value)) && (int) $value > 0) {
            return (int) $value;
        }
        throw new InvalidArgumentException(sprintf('%s: expected a positive integer, got %s', $name, json_encode($value)));
    }

    private static function durationOption($value, string $name): float
    {
        try {
            return self::parseDuration($value);
        } catch (InvalidArgumentException $e) {
            throw new InvalidArgumentException($name . ': ' . $e->getMessage());
        }
    }

    private static function timestamp(float $t): string
    {
        return gmdate('Y-m-d\TH:i:s', (int) $t) . sprintf('.%03dZ', (int) (($t - floor($t)) * 1000));
    }

    private static function uuid(): string
    {
        $b = random_bytes(16);
        $b[6] = chr(ord($b[6]) & 0x0f | 0x40);
        $b[8] = chr(ord($b[8]) & 0x3f | 0x80);
        return vsprintf('%s%s-%s-%s-%s-%s%s%s', str_split(bin2hex($b), 4));
    }

    private static function json($value): string
    {
        $flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PRESERVE_ZERO_FRACTION;
        $out = json_encode($value, $flags);
        if ($out === false) {
            $out = json_encode(self::sanitize($value, 0), $flags | JSON_PARTIAL_OUTPUT_ON_ERROR);
        }
        return $out === false ? '{}' : $out;
    }

    private static function stringify($value): string
    {
        if ($value === null) {
            return '';
        }
        if (is_scalar($value) || (is_object($value) && method_exists($value, '__toString'))) {
            return (string) $value;
        }
        return self::json($value);
    }

    /** A JSON-safe copy: NaN/INF, resources, objects and deep nesting made harmless. */
    private static function sanitize($value, int $depth)
    {
        if (is_float($value) && (is_nan($value) || is_infinite($value))) {
            return (string) $value;
        }
        if ($value === null || is_scalar($value)) {
            return $value;
        }
        if ($depth > 20) {
            return '[Too deep]';
        }
        if ($value instanceof Throwable) {
            return ['type' => get_class($value), 'message' => $value->getMessage()];
        }
        if ($value instanceof DateTimeInterface) {
            return $value->format(DateTimeInterface::RFC3339_EXTENDED);
        }
        if ($value instanceof JsonSerializable) {
            try {
                return self::sanitize($value->jsonSerialize(), $depth + 1);
            } catch (Throwable $e) {
                return '<unserializable ' . get_class($value) . '>';
            }
        }
        if (is_object($value)) {
            return method_exists($value, '__toString') ? (string) $value : self::sanitize(get_object_vars($value), $depth + 1);
        }
        if (is_array($value)) {
            $out = [];
            foreach ($value as $k => $v) {
                $out[$k] = self::sanitize($v, $depth + 1);
            }
            return $out;
        }
        return '<' . gettype($value) . '>';
    }

    private static function serverError(string $text, int $status): string
    {
        $body = json_decode($text, true);
        if (is_array($body) && isset($body['error'])) {
            return substr((string) $body['error'], 0, 500);
        }
        return preg_replace('/\s+/', ' ', substr($text !== '' ? $text : "status $status", 0, 200));
    }
}
