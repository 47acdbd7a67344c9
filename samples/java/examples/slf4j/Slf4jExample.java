// An app that logs through the SLF4J API only; SLF4J's JUL binding
// (slf4j-jdk14) hands the records to java.util.logging, where
// logging.properties installs DevSmithHandler. Nothing here names DevSmith.
//
//   javac -d build devsmith/*.java
//   javac -d build -cp build:slf4j-api.jar examples/slf4j/Slf4jExample.java
//   DEVSMITH_API_KEY=dsk_... java -cp build:slf4j-api.jar:slf4j-jdk14.jar \
//     -Djava.util.logging.config.file=examples/slf4j/logging.properties Slf4jExample [count] [run_id]
//
// Entry i: "slf4j <run_id> <i>" at INFO, except every third at WARN and
// the last at ERROR with an exception. At exit, LogManager closes the
// handler, which flushes.
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public class Slf4jExample {
    private static final Logger log = LoggerFactory.getLogger(Slf4jExample.class);

    public static void main(String[] args) {
        int count = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        String runId = args.length > 1 ? args[1] : Long.toHexString(System.currentTimeMillis());
        for (int i = 0; i < count - 1; i++) {
            if (i % 3 == 2) log.warn("slf4j {} {}", runId, i);
            else log.info("slf4j {} {}", runId, i);
        }
        log.error("slf4j " + runId + " " + (count - 1), new IllegalStateException("boom"));
    }
}
