// Logs DRIVER_COUNT entries through java.util.logging and DevSmithHandler and
// exits 0 once all of them were delivered (1 otherwise). For integration
// tests (samples/README.md, "Drivers"):
//
//   javac -d build devsmith/*.java examples/Driver.java
//   DEVSMITH_URL=... DEVSMITH_API_KEY=dsk_... DEVSMITH_SERVICE=driver-java \
//   DRIVER_COUNT=10 DRIVER_RUN_ID=r1 java -cp build Driver
//
// Entry i (0-based) has level DEBUG/INFO/WARN/ERROR (FINE, INFO, WARNING,
// SEVERE), message "driver java <run_id> <i>" and context {run_id, i, lang}.
// DRIVER_EXIT_FLUSH=1: do not close the logger; the shutdown hook flushes.
import devsmith.DevSmithHandler;
import devsmith.DevSmithLogger;

import java.time.Duration;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

public class Driver {
    public static void main(String[] args) throws Exception {
        int count;
        Duration interval, closeTimeout;
        DevSmithLogger devsmith;
        try {
            count = Integer.parseInt(env("DRIVER_COUNT", "10"));
            interval = DevSmithLogger.parseDuration(env("DRIVER_INTERVAL", "0"));
            closeTimeout = DevSmithLogger.parseDuration(env("DRIVER_CLOSE_TIMEOUT", "60s"));
            DevSmithLogger.Config c = new DevSmithLogger.Config();
            c.closeTimeout = closeTimeout;
            devsmith = new DevSmithLogger(c);
        } catch (IllegalArgumentException e) {
            System.err.println("driver java: " + e.getMessage());
            System.exit(1);
            return;
        }
        String runId = env("DRIVER_RUN_ID", Long.toHexString(System.currentTimeMillis()));
        Logger log = Logger.getLogger("driver");
        log.setUseParentHandlers(false);
        log.setLevel(Level.ALL);
        DevSmithHandler handler = new DevSmithHandler(devsmith);
        log.addHandler(handler);
        Level[] levels = {Level.FINE, Level.INFO, Level.WARNING, Level.SEVERE};
        for (int i = 0; i < count; i++) {
            log.log(levels[i % 4], "driver java " + runId + " " + i, new Object[] {Map.of("run_id", runId, "i", i, "lang", "java")});
            if (!interval.isZero()) Thread.sleep(interval.toMillis());
        }
        if (env("DRIVER_EXIT_FLUSH", "").equals("1")) {
            System.out.println("driver java: run " + runId + ": logged " + count + ", flushing at exit");
            return; // the shutdown hook delivers them
        }
        boolean delivered = devsmith.close(closeTimeout);
        Map<String, Long> s = devsmith.stats();
        System.out.println("driver java: run " + runId + ": logged " + s.get("logged") + ", sent " + s.get("sent") + ", dropped " + s.get("dropped"));
        System.exit(delivered ? 0 : 1);
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? fallback : v;
    }
}
