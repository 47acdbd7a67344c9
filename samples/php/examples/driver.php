<?php
// Logs DRIVER_COUNT entries through the PHP sample logger and exits 0 once
// all of them were delivered (1 otherwise). For integration tests
// (samples/README.md, "Drivers"):
//
//   DEVSMITH_URL=... DEVSMITH_API_KEY=dsk_... DEVSMITH_SERVICE=driver-php \
//   DRIVER_COUNT=10 DRIVER_RUN_ID=r1 php examples/driver.php
//
// Entry i (0-based) has level debug/info/warning/error (cycling), message
// "driver php <run_id> <i>" (through a {placeholder}) and context
// {run_id, i, lang: "php"}. DRIVER_EXIT_FLUSH=1: do not close the logger;
// the shutdown function flushes.
require __DIR__ . '/../DevSmithLogger.php';

function env(string $name, string $default): string
{
    $v = getenv($name);
    return $v === false || $v === '' ? $default : $v;
}

try {
    $count = (int) env('DRIVER_COUNT', '10');
    $runId = env('DRIVER_RUN_ID', dechex((int) (microtime(true) * 1000)));
    $interval = DevSmithLogger::parseDuration(env('DRIVER_INTERVAL', '0'));
    $closeTimeout = DevSmithLogger::parseDuration(env('DRIVER_CLOSE_TIMEOUT', '60s'));
    $log = new DevSmithLogger(['close_timeout' => $closeTimeout]);
} catch (InvalidArgumentException $e) {
    fwrite(STDERR, 'driver php: ' . $e->getMessage() . "\n");
    exit(1);
}

$methods = ['debug', 'info', 'warning', 'error'];
for ($i = 0; $i < $count; $i++) {
    $log->{$methods[$i % 4]}('driver php {run_id} ' . $i, ['run_id' => $runId, 'i' => $i, 'lang' => 'php']);
    if ($interval > 0) {
        usleep((int) ($interval * 1e6));
    }
}
if (env('DRIVER_EXIT_FLUSH', '') === '1') {
    echo "driver php: run $runId: logged $count, flushing at exit\n";
    exit(0);
}
$delivered = $log->close();
$s = $log->stats();
printf("driver php: run %s: logged %d, sent %d, dropped %d\n", $runId, $s['logged'], $s['sent'], $s['dropped']);
exit($delivered ? 0 : 1);
