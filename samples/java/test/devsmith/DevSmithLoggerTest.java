// Unit tests of the Java sample logger, with no test framework (the JDK
// only): javac -d build devsmith/*.java test/devsmith/*.java &&
// java -cp build devsmith.DevSmithLoggerTest. Prints "N passed, N failed"
// and exits 1 on a failure. Delivery to the real platform is tested in
// e2e/samples_test.go.
package devsmith;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;

public class DevSmithLoggerTest {
    private static int passed, failed;

    interface Check { void run() throws Exception; }

    static void test(String name, Check c) {
        try {
            c.run();
            passed++;
            System.out.println("ok   " + name);
        } catch (Throwable t) {
            failed++;
            System.out.println("FAIL " + name + ": " + t);
        }
    }

    static void eq(Object want, Object got) {
        if (want == null ? got != null : !want.equals(got)) throw new AssertionError("want <" + want + ">, got <" + got + ">");
    }

    static void yes(boolean cond, String what) {
        if (!cond) throw new AssertionError(what);
    }

    /** A loopback port where nothing listens: every send fails with a network error. */
    static String deadURL() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return "http://127.0.0.1:" + s.getLocalPort() + "/api/logs";
        }
    }

    static DevSmithLogger.Config unreachable() throws Exception {
        DevSmithLogger.Config c = new DevSmithLogger.Config();
        c.apiKey = "dsk_secret_key_never_printed";
        c.apiUrl = deadURL();
        c.serviceName = "unit";
        c.flushAtExit = false;
        c.retryBaseDelay = Duration.ofMillis(10);
        c.maxRetries = 1;
        return c;
    }

    public static void main(String[] args) throws Exception {
        test("parseDuration", () -> {
            eq(Duration.ofSeconds(5), DevSmithLogger.parseDuration("5s"));
            eq(Duration.ofMillis(500), DevSmithLogger.parseDuration("500ms"));
            eq(Duration.ofMinutes(2), DevSmithLogger.parseDuration("2m"));
            eq(Duration.ofHours(1), DevSmithLogger.parseDuration("1h"));
            eq(Duration.ofMillis(1500), DevSmithLogger.parseDuration("1.5"));
            for (String bad : new String[] {"", "5x", "-1s", "soon"}) {
                try {
                    DevSmithLogger.parseDuration(bad);
                    throw new AssertionError("accepted " + bad);
                } catch (IllegalArgumentException e) {
                    yes(e.getMessage().contains("invalid duration"), e.getMessage());
                }
            }
        });
        test("a bad option is refused naming it", () -> {
            DevSmithLogger.Config c = unreachable();
            c.apiUrl = "localhost:3000";
            try {
                new DevSmithLogger(c);
                throw new AssertionError("accepted a URL without a scheme");
            } catch (IllegalArgumentException e) {
                yes(e.getMessage().startsWith("apiUrl (DEVSMITH_URL)"), e.getMessage());
            }
            DevSmithLogger.Config d = unreachable();
            d.batchSize = 0;
            try {
                new DevSmithLogger(d);
                throw new AssertionError("accepted batchSize 0");
            } catch (IllegalArgumentException e) {
                yes(e.getMessage().startsWith("batchSize"), e.getMessage());
            }
        });
        test("parseRetryAfter: seconds, an HTTP date, bounded", () -> {
            Instant now = Instant.parse("2025-01-01T00:00:00Z");
            eq(3000L, DevSmithLogger.parseRetryAfter("3", now));
            eq(1500L, DevSmithLogger.parseRetryAfter(" 1.5 ", now));
            eq(20_000L, DevSmithLogger.parseRetryAfter("Wed, 01 Jan 2025 00:00:20 GMT", now));
            eq(300_000L, DevSmithLogger.parseRetryAfter("86400", now));
            eq(0L, DevSmithLogger.parseRetryAfter(null, now));
            eq(0L, DevSmithLogger.parseRetryAfter("later", now));
            eq(0L, DevSmithLogger.parseRetryAfter("Tue, 31 Dec 2024 00:00:00 GMT", now));
        });
        test("retryDelay: Retry-After wins, else doubling backoff with jitter, capped", () -> {
            eq(4000L, DevSmithLogger.retryDelay(0, 4000, 500, 30_000, 0.9));
            eq(250L, DevSmithLogger.retryDelay(0, 0, 500, 30_000, 0.0));
            eq(499L, DevSmithLogger.retryDelay(0, 0, 500, 30_000, 0.999));
            eq(1000L, DevSmithLogger.retryDelay(2, 0, 500, 30_000, 0.0));
            eq(15_000L, DevSmithLogger.retryDelay(20, 0, 500, 30_000, 0.0));
        });
        test("toJson: escapes, nesting, numbers, cycles", () -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("s", "a\"b\\c\nd\u0001é");
            m.put("n", 9007199254740993L);
            m.put("d", 1.5);
            m.put("nan", Double.NaN);
            m.put("b", true);
            m.put("null", null);
            m.put("list", List.of(1, "x"));
            m.put("arr", new int[] {1, 2});
            eq("{\"s\":\"a\\\"b\\\\c\\nd\\u0001é\",\"n\":9007199254740993,\"d\":1.5,\"nan\":\"NaN\",\"b\":true,\"null\":null,"
                    + "\"list\":[1,\"x\"],\"arr\":[1,2]}", DevSmithLogger.toJson(m));
            List<Object> cycle = new ArrayList<>();
            cycle.add(cycle);
            eq("[\"[Circular]\"]", DevSmithLogger.toJson(cycle));
            eq("{\"type\":\"java.lang.IllegalStateException\",\"message\":\"boom\"}", DevSmithLogger.toJson(new IllegalStateException("boom")));
        });
        test("utf8Length counts bytes", () -> {
            eq(3L, DevSmithLogger.utf8Length("abc"));
            eq(2L, DevSmithLogger.utf8Length("é"));
            eq(3L, DevSmithLogger.utf8Length("€"));
            eq(4L, DevSmithLogger.utf8Length("😀"));
        });
        test("JUL levels map to the platform's", () -> {
            eq("ERROR", DevSmithHandler.levelName(Level.SEVERE));
            eq("WARN", DevSmithHandler.levelName(Level.WARNING));
            eq("INFO", DevSmithHandler.levelName(Level.INFO));
            eq("INFO", DevSmithHandler.levelName(Level.CONFIG));
            eq("DEBUG", DevSmithHandler.levelName(Level.FINE));
            eq("TRACE", DevSmithHandler.levelName(Level.FINEST));
        });
        test("the buffer is bounded: the oldest entries are dropped and counted", () -> {
            DevSmithLogger.Config c = unreachable();
            c.maxBufferSize = 10;
            c.batchSize = 1000;
            c.flushInterval = Duration.ofHours(1);
            DevSmithLogger log = new DevSmithLogger(c);
            PrintStream old = System.err;
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            try {
                for (int i = 0; i < 25; i++) log.info("entry " + i, Map.of("i", i));
                Map<String, Long> s = log.stats();
                eq(25L, s.get("logged"));
                eq(15L, s.get("dropped"));
                eq(10L, s.get("buffered"));
                yes(!log.close(Duration.ofMillis(300)), "close reports the undelivered entries");
                eq(10L, log.stats().get("discarded"));
                eq(0L, log.stats().get("buffered"));
            } finally {
                System.setErr(old);
            }
            String out = err.toString(StandardCharsets.UTF_8);
            yes(out.contains("devsmith-logger: buffer full"), out);
            yes(out.contains("10 log entries were not delivered before close"), out);
            yes(!out.contains("dsk_secret_key_never_printed"), "the key is never printed: " + out);
        });
        test("flush gives up after one failed round, close keeps trying until its timeout", () -> {
            DevSmithLogger log = new DevSmithLogger(unreachable());
            log.error(new IllegalStateException("boom"), Map.of("k", "v"));
            long t0 = System.nanoTime();
            yes(!log.flush(Duration.ofSeconds(5)), "flush to a dead port fails");
            long flushMs = (System.nanoTime() - t0) / 1_000_000;
            yes(flushMs < 4000, "flush returned after its round, " + flushMs + " ms");
            eq(1L, log.stats().get("buffered"));
            t0 = System.nanoTime();
            yes(!log.close(Duration.ofMillis(700)), "close to a dead port fails");
            long closeMs = (System.nanoTime() - t0) / 1_000_000;
            yes(closeMs >= 600 && closeMs < 3000, "close kept trying for its timeout, " + closeMs + " ms");
            yes(log.stats().get("failed_attempts") >= 2, "retried: " + log.stats());
            log.info("after close");
            eq(1L, log.stats().get("logged"));
        });
        test("without an API key nothing is buffered", () -> {
            DevSmithLogger.Config c = unreachable();
            c.apiKey = null;
            if (System.getenv("DEVSMITH_API_KEY") != null) return; // the environment supplies one
            DevSmithLogger log = new DevSmithLogger(c);
            log.info("dropped");
            eq(0L, log.stats().get("logged"));
            yes(log.close(Duration.ofSeconds(1)), "close of a disabled logger is fine");
        });
        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
