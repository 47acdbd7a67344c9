// DevSmith Logs: a zero-dependency logger for Java 11+ (java.net.http only).
// Copy the devsmith/ folder (DevSmithLogger.java, DevSmithHandler.java) into
// your sources:
//
//   DevSmithLogger log = DevSmithLogger.fromEnv();   // DEVSMITH_API_KEY, DEVSMITH_URL, ...
//   log.info("User logged in", Map.of("user_id", 123));
//   log.close();   // optional: pending logs are also flushed by a shutdown hook
//
// or ship java.util.logging (and SLF4J through slf4j-jdk14) records with
// DevSmithHandler. Entries are buffered and sent to POST {DEVSMITH_URL}/batch
// every 100 entries or 5 s, whichever comes first, from one daemon thread.
// Failed batches are retried with the same batch_id (the server stores a
// repeated batch once) and kept in a bounded buffer; a log call never throws
// and never blocks on the network.
package devsmith;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Array;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPOutputStream;

public final class DevSmithLogger implements AutoCloseable {
    public static final String DEFAULT_URL = "http://localhost:3000/api/logs";
    private static final String PREFIX = "devsmith-logger: ";
    private static final long DROP_REPORT_INTERVAL_MS = 10_000;

    /** Options; every one left null falls back to its DEVSMITH_* variable, then the default. */
    public static final class Config {
        public String apiKey;           // DEVSMITH_API_KEY (required)
        public String apiUrl;           // DEVSMITH_URL, default http://localhost:3000/api/logs
        public String projectSlug;      // DEVSMITH_PROJECT (optional)
        public String serviceName;      // DEVSMITH_SERVICE, default "app"
        public Integer batchSize;       // DEVSMITH_BATCH_SIZE, default 100
        public Duration flushInterval;  // DEVSMITH_FLUSH_INTERVAL, default 5 s
        public Boolean gzip;            // DEVSMITH_GZIP, default false
        public int maxBatchBytes = 1024 * 1024;
        public int maxBufferSize = 100_000;
        public long maxBufferBytes = 64L * 1024 * 1024;
        public int maxRetries = 3;
        public Duration retryBaseDelay = Duration.ofMillis(500);
        public Duration retryMaxDelay = Duration.ofSeconds(30);
        public Duration requestTimeout = Duration.ofSeconds(10);
        public Duration closeTimeout = Duration.ofSeconds(10);  // how long close() and the exit flush keep trying
        public boolean flushAtExit = true;                      // a shutdown hook
    }

    private static final class Batch {
        final String id = UUID.randomUUID().toString();
        final List<String> entries = new ArrayList<>();
        long bytes;
        long openedAt;
    }

    private enum Result { OK, SPLIT, DISCARD, FAIL }

    private final String apiKey;
    private final URI endpoint;
    private final String envelopeHead;
    private final long envelopeBytes;
    private final int batchSize, maxBatchBytes, maxBufferSize, maxRetries;
    private final long maxBufferBytes, intervalMs, baseDelayMs, maxDelayMs, requestTimeoutMs, closeTimeoutMs;
    private final boolean gzip, disabled;
    private final String serviceName;
    private final HttpClient http;

    private final Object lock = new Object();
    private Batch open;
    private final Deque<Batch> queue = new ArrayDeque<>();
    private long count, bytes;
    private boolean sending, closed, stopped, abandoned;
    private long pausedUntil;           // after a failed send, the worker waits until then
    private long urgentDeadline;        // a flush or close wants everything sent before then
    private long failures;              // failed drains, so a flush knows one happened
    private long unreportedDrops, lastDropReport = -DROP_REPORT_INTERVAL_MS;
    private String lastError = "";
    private final Set<String> reported = Collections.synchronizedSet(new java.util.HashSet<>());
    private final long[] stats = new long[7];  // logged, sent, dropped, discarded, rejected, batches, failedAttempts
    private static final String[] STAT_NAMES = {"logged", "sent", "dropped", "discarded", "rejected", "batches", "failed_attempts"};
    private final Thread worker;
    private final Thread exitHook;

    public DevSmithLogger(Config c) {
        this.apiKey = pick(c.apiKey, "DEVSMITH_API_KEY", "");
        String url = pick(c.apiUrl, "DEVSMITH_URL", DEFAULT_URL).replaceAll("/+$", "");
        if (!url.matches("^https?://.+")) {
            throw new IllegalArgumentException("apiUrl (DEVSMITH_URL) must start with http:// or https://, got \"" + url + "\"");
        }
        String project = pick(c.projectSlug, "DEVSMITH_PROJECT", "");
        this.serviceName = pick(c.serviceName, "DEVSMITH_SERVICE", "app");
        this.batchSize = c.batchSize != null ? positive(c.batchSize, "batchSize")
                : positive(parseInt(pick(null, "DEVSMITH_BATCH_SIZE", "100"), "batchSize (DEVSMITH_BATCH_SIZE)"), "batchSize (DEVSMITH_BATCH_SIZE)");
        Duration interval = c.flushInterval != null ? c.flushInterval
                : durationOption(pick(null, "DEVSMITH_FLUSH_INTERVAL", "5s"), "flushInterval (DEVSMITH_FLUSH_INTERVAL)");
        this.intervalMs = Math.max(1, interval.toMillis());
        this.gzip = c.gzip != null ? c.gzip : pick(null, "DEVSMITH_GZIP", "").matches("(?i)1|true|yes");
        this.maxBatchBytes = positive(c.maxBatchBytes, "maxBatchBytes");
        this.maxBufferSize = positive(c.maxBufferSize, "maxBufferSize");
        if (c.maxBufferBytes <= 0) throw new IllegalArgumentException("maxBufferBytes: expected a positive number, got " + c.maxBufferBytes);
        this.maxBufferBytes = c.maxBufferBytes;
        this.maxRetries = Math.max(0, c.maxRetries);
        this.baseDelayMs = c.retryBaseDelay.toMillis();
        this.maxDelayMs = c.retryMaxDelay.toMillis();
        this.requestTimeoutMs = Math.max(1, c.requestTimeout.toMillis());
        this.closeTimeoutMs = c.closeTimeout.toMillis();
        this.endpoint = URI.create(url + "/batch");
        Map<String, Object> head = new LinkedHashMap<>();
        head.put("service_name", serviceName);
        if (!project.isEmpty()) head.put("project_slug", project);
        String h = toJson(head);
        this.envelopeHead = h.substring(0, h.length() - 1);
        this.envelopeBytes = utf8Length(envelopeHead) + 64;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(requestTimeoutMs)).build();
        this.disabled = apiKey.isEmpty();
        if (disabled) stderr("no API key (set DEVSMITH_API_KEY or Config.apiKey): logs will not be sent", null);
        this.worker = new Thread(this::run, "devsmith-logger");
        this.worker.setDaemon(true);
        if (!disabled) this.worker.start();
        if (c.flushAtExit && !disabled) {
            this.exitHook = new Thread(() -> close(), "devsmith-logger-exit");
            Runtime.getRuntime().addShutdownHook(exitHook);
        } else {
            this.exitHook = null;
        }
    }

    /** A logger configured from the DEVSMITH_* environment variables alone. */
    public static DevSmithLogger fromEnv() {
        return new DevSmithLogger(new Config());
    }

    public String serviceName() { return serviceName; }

    public void trace(String message, Map<String, ?> context) { log("TRACE", message, context, null); }
    public void debug(String message, Map<String, ?> context) { log("DEBUG", message, context, null); }
    public void info(String message, Map<String, ?> context) { log("INFO", message, context, null); }
    public void warn(String message, Map<String, ?> context) { log("WARN", message, context, null); }
    public void error(String message, Map<String, ?> context) { log("ERROR", message, context, null); }
    public void fatal(String message, Map<String, ?> context) { log("FATAL", message, context, null); }
    public void info(String message) { log("INFO", message, null, null); }

    /** Logs an exception at ERROR: its message, with "exception" and "stack" in the context. */
    public void error(Throwable t, Map<String, ?> context) {
        Map<String, Object> ctx = new LinkedHashMap<>();
        if (context != null) ctx.putAll(context);
        ctx.putIfAbsent("exception", t.getClass().getName() + ": " + t.getMessage());
        ctx.putIfAbsent("stack", stackTrace(t));
        log("ERROR", t.getMessage() != null ? t.getMessage() : t.getClass().getName(), ctx, null);
    }

    /** Logs one entry at any level; timestamp null means now. Never throws. */
    public void log(String level, String message, Map<String, ?> context, Instant timestamp) {
        try {
            if (disabled) return;
            synchronized (lock) {
                if (closed) return;
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("timestamp", (timestamp != null ? timestamp : Instant.now()).truncatedTo(ChronoUnit.MILLIS).toString());
            entry.put("level", level == null || level.isEmpty() ? "INFO" : level.toUpperCase(Locale.ROOT));
            entry.put("message", message == null || message.isEmpty() ? "(empty message)" : message);
            if (context != null && !context.isEmpty()) entry.put("context", context);
            String json = toJson(entry);
            synchronized (lock) {
                stats[0]++;
                enqueue(json);
            }
        } catch (RuntimeException | StackOverflowError e) {
            stderr("could not log an entry: " + e, "log-failed");
        }
    }

    /** Sends everything buffered now. True when all of it was delivered. Never throws. */
    public boolean flush(Duration timeout) {
        return deliver(System.currentTimeMillis() + timeout.toMillis(), false);
    }

    public boolean flush() { return flush(Duration.ofMillis(closeTimeoutMs)); }

    /**
     * Stops accepting entries, then keeps trying to deliver the buffer until it
     * is delivered or the timeout passes. True when everything was delivered.
     */
    public boolean close(Duration timeout) {
        if (disabled) return true;
        synchronized (lock) {
            if (closed && count == 0 && !sending) return !abandoned;
            closed = true;
        }
        if (exitHook != null && Thread.currentThread() != exitHook) {
            try { Runtime.getRuntime().removeShutdownHook(exitHook); } catch (IllegalStateException ignored) { /* exiting */ }
        }
        boolean ok = deliver(System.currentTimeMillis() + timeout.toMillis(), true);
        synchronized (lock) {
            if (unreportedDrops > 0) {
                stderr("dropped " + unreportedDrops + " log entries while the platform was unreachable (buffer full)", null);
                unreportedDrops = 0;
            }
            abandoned = !ok;  // the worker stops retrying; a batch in flight comes back to the buffer
            stopped = true;
            lock.notifyAll();
        }
        if (!ok) worker.interrupt();  // out of a backoff sleep or a request
        if (Thread.currentThread() != worker) {
            try {
                worker.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (lock) {
            if (!ok && count > 0) {
                stderr(count + " log entries were not delivered before close (last error: " + (lastError.isEmpty() ? "none" : lastError) + ")", null);
                stats[3] += count;
                queue.clear();
                open = null;
                count = 0;
                bytes = 0;
            }
        }
        return ok;
    }

    @Override
    public void close() { close(Duration.ofMillis(closeTimeoutMs)); }

    /** Counters: logged, sent, dropped (buffer full), discarded, rejected, batches, failed_attempts, buffered. */
    public Map<String, Long> stats() {
        synchronized (lock) {
            Map<String, Long> out = new LinkedHashMap<>();
            for (int i = 0; i < stats.length; i++) out.put(STAT_NAMES[i], stats[i]);
            out.put("buffered", count);
            return out;
        }
    }

    @Override
    public String toString() {
        return "DevSmithLogger{endpoint=" + endpoint + ", service=" + serviceName + "}";
    }

    // --- buffering (holding lock) --------------------------------------------

    private void enqueue(String json) {
        long size = utf8Length(json) + 1;
        if (open != null && open.bytes + size > maxBatchBytes) seal();
        if (open == null) {
            open = new Batch();
            open.bytes = envelopeBytes;
            open.openedAt = System.currentTimeMillis();
        }
        open.entries.add(json);
        open.bytes += size;
        count++;
        bytes += size;
        enforceBound();
        if (open != null && (open.entries.size() >= batchSize || open.bytes >= maxBatchBytes)) seal();
        lock.notifyAll();
    }

    private void seal() {
        if (open != null && !open.entries.isEmpty()) queue.addLast(open);
        open = null;
    }

    private void enforceBound() {
        while (count > maxBufferSize || (bytes > maxBufferBytes && count > 0)) {
            Batch oldest = !queue.isEmpty() ? queue.peekFirst() : open;
            if (oldest == null) break;
            String dropped = oldest.entries.remove(0);
            long size = utf8Length(dropped) + 1;
            oldest.bytes -= size;
            bytes -= size;
            count--;
            stats[2]++;
            if (unreportedDrops++ == 0) stderr("buffer full (platform unreachable?): dropping the oldest log entries", null);
            if (oldest.entries.isEmpty()) {
                if (oldest == open) open = null; else queue.pollFirst();
            }
        }
    }

    private void requeueFront(Batch b) {
        queue.addFirst(b);
        count += b.entries.size();
        bytes += b.bytes - envelopeBytes;
        enforceBound();
    }

    // --- sending ---------------------------------------------------------------

    private boolean deliver(long deadline, boolean persistent) {
        synchronized (lock) {
            seal();
            long failuresBefore = failures;
            long discardedBefore = stats[3];
            urgentDeadline = Math.max(urgentDeadline, deadline);
            lock.notifyAll();
            try {
                while (count > 0 || sending) {
                    long now = System.currentTimeMillis();
                    if (now >= deadline || stopped) return false;
                    if (!persistent && failures != failuresBefore) return false;
                    lock.wait(Math.max(1, Math.min(deadline - now, 100)));
                    seal();
                }
                return stats[3] == discardedBefore;  // refusals (400, 401, ...) count as failures
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    private void run() {
        for (;;) {
            Batch batch;
            long deadline;
            synchronized (lock) {
                for (;;) {
                    if (stopped && (abandoned || (count == 0 && !sending))) return;
                    long now = System.currentTimeMillis();
                    boolean urgent = now < urgentDeadline;
                    if (open != null && (now - open.openedAt >= intervalMs || urgent || closed)) seal();
                    if (!queue.isEmpty() && now >= pausedUntil) break;
                    long wait = Long.MAX_VALUE;
                    if (open != null) wait = open.openedAt + intervalMs - now;
                    if (!queue.isEmpty()) wait = Math.min(wait, pausedUntil - now);
                    if (urgent && !queue.isEmpty()) wait = Math.min(wait, urgentDeadline - now);
                    try {
                        lock.wait(wait == Long.MAX_VALUE ? 0 : Math.max(1, wait));
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                batch = queue.pollFirst();
                count -= batch.entries.size();
                bytes -= batch.bytes - envelopeBytes;
                sending = true;
                deadline = System.currentTimeMillis() < urgentDeadline ? urgentDeadline : Long.MAX_VALUE;
            }
            long[] retryAfter = {0};
            Result r;
            try {
                r = send(batch, deadline, retryAfter);
            } catch (RuntimeException e) {
                stderr("internal error while sending: " + e, "internal");
                r = Result.FAIL;
            }
            boolean reportDrops = false;
            synchronized (lock) {
                sending = false;
                switch (r) {
                    case OK:
                        pausedUntil = 0;
                        reportDrops = unreportedDrops > 0;
                        break;
                    case SPLIT:
                        int mid = (batch.entries.size() + 1) / 2;
                        for (List<String> half : List.of(batch.entries.subList(mid, batch.entries.size()), batch.entries.subList(0, mid))) {
                            Batch b = new Batch();
                            b.entries.addAll(half);
                            b.bytes = envelopeBytes;
                            for (String e : half) b.bytes += utf8Length(e) + 1;
                            requeueFront(b);
                        }
                        break;
                    case DISCARD:
                        break;
                    default:
                        // Still failing after the retries: back to the buffer whole, same batch_id.
                        requeueFront(batch);
                        pausedUntil = System.currentTimeMillis() + Math.max(intervalMs, retryAfter[0]);
                        if (urgentDeadline > System.currentTimeMillis()) {
                            pausedUntil = Math.min(pausedUntil, System.currentTimeMillis() + Math.max(baseDelayMs, retryAfter[0]));
                        }
                        failures++;
                }
                if (reportDrops) reportDrops();
                lock.notifyAll();
            }
        }
    }

    private void reportDrops() { // holding lock
        long now = System.currentTimeMillis();
        if (unreportedDrops == 0 || now - lastDropReport < DROP_REPORT_INTERVAL_MS) return;
        lastDropReport = now;
        long n = unreportedDrops;
        unreportedDrops = 0;
        stderr("dropped " + n + " log entries while the platform was unreachable (buffer full)", null);
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("timestamp", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString());
        entry.put("level", "WARN");
        entry.put("message", "devsmith logger dropped " + n + " log entries: buffer full while the platform was unreachable");
        entry.put("context", Map.of("_devsmith_dropped", n));
        enqueue(toJson(entry));
        seal();
    }

    private Result send(Batch batch, long deadline, long[] retryAfterOut) {
        String json = envelopeHead + ",\"batch_id\":\"" + batch.id + "\",\"logs\":[" + String.join(",", batch.entries) + "]}";
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        if (gzip) body = gzip(body);
        for (int attempt = 0; ; attempt++) {
            long remaining = deadline - System.currentTimeMillis();
            synchronized (lock) {
                if (remaining <= 0 || abandoned) return Result.FAIL;
            }
            int status = 0;
            String text = "", retryAfterHeader = null, netError = null;
            try {
                HttpRequest.Builder rb = HttpRequest.newBuilder(endpoint)
                        .timeout(Duration.ofMillis(Math.max(1, Math.min(requestTimeoutMs, remaining))))
                        .header("Content-Type", "application/json")
                        .header("Authorization", "Bearer " + apiKey)
                        .header("User-Agent", "devsmith-logger-java/1")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
                if (gzip) rb.header("Content-Encoding", "gzip");
                HttpResponse<String> res = http.send(rb.build(), HttpResponse.BodyHandlers.ofString());
                status = res.statusCode();
                text = res.body();
                retryAfterHeader = res.headers().firstValue("Retry-After").orElse(null);
            } catch (java.io.IOException e) {
                netError = e.getClass().getSimpleName() + (e.getMessage() != null ? ": " + e.getMessage() : "");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Result.FAIL;
            }
            if (status >= 200 && status < 300) {
                synchronized (lock) {
                    stats[1] += batch.entries.size();
                    stats[5]++;
                }
                accepted(text);
                return Result.OK;
            }
            synchronized (lock) { stats[6]++; }
            String error = serverError(text, status);
            lastError = netError != null ? netError : "HTTP " + status + ": " + error;
            if (status == 413) {
                if (batch.entries.size() > 1) return Result.SPLIT;
                synchronized (lock) { stats[3]++; }
                stderr("an entry is too large for the platform and was dropped: " + error, "too-large");
                return Result.DISCARD;
            }
            boolean retryable = netError != null || status == 408 || status == 429 || status >= 500;
            if (!retryable) {
                synchronized (lock) { stats[3] += batch.entries.size(); }
                stderr("the platform refused a batch of " + batch.entries.size() + " entries (HTTP " + status + "): " + error + "; not retrying",
                        "http-" + status + "-" + error);
                return Result.DISCARD;
            }
            long retryAfter = status == 429 || status == 503 ? parseRetryAfter(retryAfterHeader, Instant.now()) : 0;
            retryAfterOut[0] = retryAfter;
            if (attempt >= maxRetries) {
                stderr("could not send " + batch.entries.size() + " entries (" + lastError + "); keeping them buffered and retrying later", "send-failed");
                return Result.FAIL;
            }
            long wait = retryDelay(attempt, retryAfter, baseDelayMs, maxDelayMs, ThreadLocalRandom.current().nextDouble());
            if (System.currentTimeMillis() + wait >= deadline) return Result.FAIL;
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Result.FAIL;
            }
        }
    }

    private void accepted(String text) {
        if (reported.remove("send-failed")) stderr("the platform is reachable again; sending buffered entries", null);
        Matcher m = Pattern.compile("\"rejected\"\\s*:\\s*\\[\\s*\\{\\s*\"index\"\\s*:\\s*(\\d+)\\s*,\\s*\"reason\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(text);
        if (m.find()) {
            int n = text.split("\"index\"", -1).length - 1;
            synchronized (lock) { stats[4] += n; }
            stderr("the platform rejected " + n + " entries, e.g. #" + m.group(1) + ": " + m.group(2), "rejected-" + m.group(2));
        }
    }

    private void stderr(String text, String onceKey) {
        if (onceKey != null) {
            if (reported.size() > 100) reported.clear();
            if (!reported.add(onceKey)) return;
        }
        try {
            if (apiKey != null && !apiKey.isEmpty()) text = text.replace(apiKey, "[api key]");
            System.err.println(PREFIX + text);
        } catch (RuntimeException ignored) {
            // never throw
        }
    }

    // --- helpers (package-visible for the tests) -------------------------------

    /** The wait before retry number attempt+1: Retry-After when given, else exponential backoff with jitter in [b/2, b). */
    static long retryDelay(int attempt, long retryAfterMs, long baseMs, long maxMs, double random) {
        if (retryAfterMs > 0) return retryAfterMs;
        long backoff = Math.min(maxMs, baseMs * (1L << Math.min(attempt, 30)));
        return (long) (backoff / 2.0 + random * backoff / 2.0);
    }

    /** Milliseconds from a Retry-After header (seconds or an HTTP date), at most 5 minutes; 0 when absent or bad. */
    static long parseRetryAfter(String value, Instant now) {
        if (value == null || value.isBlank()) return 0;
        long ms;
        try {
            ms = (long) (Double.parseDouble(value.trim()) * 1000);
        } catch (NumberFormatException e) {
            try {
                ms = ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli() - now.toEpochMilli();
            } catch (RuntimeException e2) {
                return 0;
            }
        }
        if (ms < 0) return 0;
        return Math.min(ms, 300_000);
    }

    private static final Pattern DURATION = Pattern.compile("^\\s*(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)?\\s*$");

    /** parseDuration("5s"): "500ms", "2m", "1h", or a bare number of seconds. */
    public static Duration parseDuration(String text) {
        Matcher m = DURATION.matcher(text == null ? "" : text);
        if (!m.matches()) {
            throw new IllegalArgumentException("invalid duration \"" + text + "\": use e.g. \"5s\", \"500ms\" or a number of seconds");
        }
        double n = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        double ms = n * (unit.equals("ms") ? 1 : unit.equals("s") ? 1000 : unit.equals("m") ? 60_000 : 3_600_000);
        return Duration.ofMillis(Math.round(ms));
    }

    private static Duration durationOption(String text, String name) {
        try {
            return parseDuration(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage());
        }
    }

    private static int parseInt(String text, String name) {
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": expected a positive integer, got \"" + text + "\"");
        }
    }

    private static int positive(int n, String name) {
        if (n <= 0) throw new IllegalArgumentException(name + ": expected a positive integer, got " + n);
        return n;
    }

    private static String pick(String option, String env, String fallback) {
        if (option != null && !option.isEmpty()) return option;
        String v = System.getenv(env);
        return v != null && !v.isEmpty() ? v : fallback;
    }

    static String stackTrace(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return w.toString();
    }

    private static String serverError(String text, int status) {
        Matcher m = Pattern.compile("\"error\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(text == null ? "" : text);
        if (m.find()) return m.group(1).length() > 500 ? m.group(1).substring(0, 500) : m.group(1);
        String t = text == null || text.isEmpty() ? "status " + status : text;
        return (t.length() > 200 ? t.substring(0, 200) : t).replaceAll("\\s+", " ");
    }

    private static byte[] gzip(byte[] data) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (GZIPOutputStream z = new GZIPOutputStream(out)) {
                z.write(data);
            }
            return out.toByteArray();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("gzip: " + e.getMessage(), e);
        }
    }

    static long utf8Length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) n++;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c)) { n += 4; i++; }
            else n += 3;
        }
        return n;
    }

    // --- JSON ------------------------------------------------------------------

    /** JSON of maps, lists, arrays, strings, numbers, booleans and null; anything else as its toString(). Never throws on cycles. */
    public static String toJson(Object value) {
        StringBuilder sb = new StringBuilder();
        writeJson(sb, value, new IdentityHashMap<>(), 0);
        return sb.toString();
    }

    private static void writeJson(StringBuilder sb, Object v, IdentityHashMap<Object, Boolean> seen, int depth) {
        if (v == null) { sb.append("null"); return; }
        if (v instanceof Boolean) { sb.append(v); return; }
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) quote(sb, String.valueOf(d)); else sb.append(v);
            return;
        }
        if (v instanceof Number) { sb.append(v); return; }
        if (v instanceof CharSequence || v instanceof Character || v instanceof Enum) { quote(sb, v.toString()); return; }
        if (depth > 20) { quote(sb, "[Too deep]"); return; }
        if (v instanceof Map || v instanceof Iterable || v.getClass().isArray()) {
            if (seen.put(v, Boolean.TRUE) != null) { quote(sb, "[Circular]"); return; }
            try {
                if (v instanceof Map) {
                    sb.append('{');
                    boolean first = true;
                    for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                        if (!first) sb.append(',');
                        first = false;
                        quote(sb, String.valueOf(e.getKey()));
                        sb.append(':');
                        writeJson(sb, e.getValue(), seen, depth + 1);
                    }
                    sb.append('}');
                } else {
                    sb.append('[');
                    boolean first = true;
                    if (v instanceof Iterable) {
                        for (Object o : (Iterable<?>) v) {
                            if (!first) sb.append(',');
                            first = false;
                            writeJson(sb, o, seen, depth + 1);
                        }
                    } else {
                        for (int i = 0; i < Array.getLength(v); i++) {
                            if (i > 0) sb.append(',');
                            writeJson(sb, Array.get(v, i), seen, depth + 1);
                        }
                    }
                    sb.append(']');
                }
            } finally {
                seen.remove(v);
            }
            return;
        }
        if (v instanceof Throwable) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("type", v.getClass().getName());
            m.put("message", ((Throwable) v).getMessage());
            writeJson(sb, m, seen, depth + 1);
            return;
        }
        String s;
        try {
            s = v.toString();
        } catch (RuntimeException e) {
            s = "<unprintable " + v.getClass().getName() + ">";
        }
        quote(sb, s);
    }

    private static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20 || c == 0x2028 || c == 0x2029 || (Character.isSurrogate(c) && !validSurrogate(s, i))) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }

    private static boolean validSurrogate(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }
}
