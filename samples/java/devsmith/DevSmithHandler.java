// DevSmith Logs: a java.util.logging.Handler that ships every record through
// a DevSmithLogger. Install it in code:
//
//   Logger.getLogger("").addHandler(new DevSmithHandler());
//
// or in logging.properties (java -Djava.util.logging.config.file=...):
//
//   handlers = devsmith.DevSmithHandler, java.util.logging.ConsoleHandler
//   devsmith.DevSmithHandler.level = INFO
//   devsmith.DevSmithHandler.service = billing      (else DEVSMITH_SERVICE)
//
// SLF4J reaches it through SLF4J's JUL binding (slf4j-jdk14 on the
// classpath; docs/samples/java.md).
package devsmith;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.ErrorManager;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.SimpleFormatter;

public class DevSmithHandler extends Handler {
    private final DevSmithLogger logger;
    private final SimpleFormatter formatter = new SimpleFormatter();

    /** For logging.properties: a logger from DEVSMITH_* and the handler's own properties. */
    public DevSmithHandler() {
        this(fromProperties());
    }

    public DevSmithHandler(DevSmithLogger logger) {
        this.logger = logger;
        String level = LogManager.getLogManager().getProperty(DevSmithHandler.class.getName() + ".level");
        if (level != null) {
            try {
                setLevel(Level.parse(level.trim()));
            } catch (IllegalArgumentException e) {
                reportError("devsmith.DevSmithHandler.level: " + e.getMessage(), e, ErrorManager.OPEN_FAILURE);
            }
        }
    }

    private static DevSmithLogger fromProperties() {
        DevSmithLogger.Config c = new DevSmithLogger.Config();
        LogManager m = LogManager.getLogManager();
        String p = DevSmithHandler.class.getName();
        c.serviceName = m.getProperty(p + ".service");
        c.apiUrl = m.getProperty(p + ".url");
        c.projectSlug = m.getProperty(p + ".project");
        return new DevSmithLogger(c);
    }

    public DevSmithLogger logger() { return logger; }

    /** JUL level to ours: SEVERE ERROR, WARNING WARN, INFO and CONFIG INFO, FINE DEBUG, below TRACE. */
    static String levelName(Level level) {
        int v = level.intValue();
        if (v >= Level.SEVERE.intValue()) return "ERROR";
        if (v >= Level.WARNING.intValue()) return "WARN";
        if (v >= Level.CONFIG.intValue()) return "INFO";
        if (v >= Level.FINE.intValue()) return "DEBUG";
        return "TRACE";
    }

    /**
     * The message is the record's formatted message ({0} parameters filled);
     * a Map among the parameters is merged into the context, with the logger
     * name, thread, source class and method, and "exception"/"stack" when the
     * record carries a Throwable.
     */
    @Override
    public void publish(LogRecord record) {
        if (record == null || !isLoggable(record)) return;
        try {
            Map<String, Object> ctx = new LinkedHashMap<>();
            if (record.getLoggerName() != null && !record.getLoggerName().isEmpty()) ctx.put("logger", record.getLoggerName());
            ctx.put("thread", Thread.currentThread().getName());
            if (record.getSourceClassName() != null) ctx.put("class", record.getSourceClassName());
            if (record.getSourceMethodName() != null) ctx.put("method", record.getSourceMethodName());
            Object[] params = record.getParameters();
            if (params != null) {
                for (Object p : params) {
                    if (p instanceof Map) {
                        for (Map.Entry<?, ?> e : ((Map<?, ?>) p).entrySet()) ctx.put(String.valueOf(e.getKey()), e.getValue());
                    }
                }
            }
            Throwable t = record.getThrown();
            if (t != null) {
                ctx.put("exception", t.getClass().getName() + ": " + t.getMessage());
                ctx.put("stack", DevSmithLogger.stackTrace(t));
            }
            logger.log(levelName(record.getLevel()), formatter.formatMessage(record), ctx, record.getInstant());
        } catch (RuntimeException e) {
            reportError("devsmith: could not publish a record", e, ErrorManager.WRITE_FAILURE);
        }
    }

    @Override
    public void flush() {
        logger.flush();
    }

    /** Flushes and stops the logger (LogManager calls it at exit). */
    @Override
    public void close() {
        logger.close();
    }
}
