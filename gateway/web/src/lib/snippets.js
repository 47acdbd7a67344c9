// Ready-to-paste setup snippets for a project's key. Each one is a
// terminal session that sends a first log line, using the real key and the
// dashboard's own origin. The sample loggers are served by the dashboard at
// /samples/... (copied there at build time); `files` lists them per
// language (see build.mjs), so the snippets name only files that exist.

/** Quote for a POSIX shell: 'it'\''s'. */
export function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

export const DEFAULT_FILES = {
  javascript: ['logger.js'],
  python: ['logger.py'],
  go: ['logger.go'],
  java: ['devsmith/DevSmithLogger.java', 'devsmith/DevSmithHandler.java'],
  ruby: ['devsmith_logger.rb'],
  php: ['DevSmithLogger.php'],
  shell: ['devsmith-log.sh'],
};

/**
 * Snippets for the key: [{id, label, code, note}].
 * `origin` is the page's origin ("http://localhost:3000"), `service` the
 * service name the examples use.
 */
export function buildSnippets({ origin, apiKey, slug, service = 'hello', files = DEFAULT_FILES }) {
  const base = `${origin.replace(/\/+$/, '')}/api/logs`;
  const env = [
    `export DEVSMITH_API_KEY=${shellQuote(apiKey)}`,
    `export DEVSMITH_URL=${shellQuote(base)}`,
    `export DEVSMITH_SERVICE=${shellQuote(service)}`,
  ].join('\n');
  const fetchFiles = (lang, dir = '.') =>
    (files[lang] || [])
      .map((f) => `curl -fsS -o ${dir === '.' ? f : `${dir}/${f}`} ${shellQuote(`${origin}/samples/${lang}/${f}`)}`)
      .join('\n');

  const body = JSON.stringify({
    service_name: service,
    logs: [{ level: 'INFO', message: 'Hello from curl', context: { source: 'setup snippet' } }],
  });
  const curl = [
    `curl -sS -w '\\n' -X POST ${shellQuote(`${base}/batch`)} \\`,
    `  -H ${shellQuote(`Authorization: Bearer ${apiKey}`)} \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(body)}`,
  ].join('\n');

  const node = [
    env,
    fetchFiles('javascript'),
    `node -e "`,
    `const DevSmithLogger = require('./logger.js');`,
    `const log = new DevSmithLogger();`,
    `log.info('Hello from Node.js', { userId: 123 });`,
    `log.close();`,
    `"`,
  ].join('\n');

  const python = [
    env,
    fetchFiles('python'),
    `python3 -c "`,
    `from logger import DevSmithLogger`,
    `log = DevSmithLogger()`,
    `log.info('Hello from Python', user_id=123)`,
    `log.close()`,
    `"`,
  ].join('\n');

  const goMain = [
    'package main',
    '',
    'import (',
    '\t"context"',
    '',
    '\t"hello/logger"',
    ')',
    '',
    'func main() {',
    '\tlog, err := logger.FromEnv() // DEVSMITH_API_KEY, DEVSMITH_URL, DEVSMITH_SERVICE',
    '\tif err != nil {',
    '\t\tpanic(err)',
    '\t}',
    '\tdefer log.Close(context.Background())',
    '\tlog.Info("Hello from Go", map[string]any{"user_id": 123})',
    '}',
  ].join('\n');
  const go = [
    env,
    'mkdir -p devsmith-hello/logger && cd devsmith-hello',
    fetchFiles('go', 'logger'),
    '[ -f go.mod ] || go mod init hello 2>/dev/null',
    `cat > main.go <<'EOF'`,
    goMain,
    'EOF',
    'go run .',
  ].join('\n');

  const javaMain = [
    'import devsmith.DevSmithLogger;',
    'import java.util.Map;',
    '',
    'public class Hello {',
    '    public static void main(String[] args) {',
    '        DevSmithLogger log = DevSmithLogger.fromEnv(); // DEVSMITH_API_KEY, DEVSMITH_URL, DEVSMITH_SERVICE',
    '        log.info("Hello from Java", Map.of("user_id", 123));',
    '        log.close();',
    '    }',
    '}',
  ].join('\n');
  const java = [
    env,
    'mkdir -p devsmith-hello/devsmith && cd devsmith-hello',
    fetchFiles('java'),
    `cat > Hello.java <<'EOF'`,
    javaMain,
    'EOF',
    'javac -d build devsmith/*.java Hello.java && java -cp build Hello',
  ].join('\n');

  const ruby = [
    env,
    fetchFiles('ruby'),
    `ruby -e '`,
    `require "./devsmith_logger"`,
    `log = DevSmithLogger.new`,
    `log.info("Hello from Ruby", user_id: 123)`,
    `log.close`,
    `'`,
  ].join('\n');

  const php = [
    env,
    fetchFiles('php'),
    `php -r '`,
    `require "DevSmithLogger.php";`,
    `$log = new DevSmithLogger();`,
    `$log->info("Hello from {lang}", ["lang" => "PHP", "user_id" => 123]);`,
    `$log->close();`,
    `'`,
  ].join('\n');

  const shell = [
    env,
    fetchFiles('shell'),
    '. ./devsmith-log.sh',
    `devsmith-log info 'Hello from the shell'`,
    `echo 'one entry per line' | devsmith-log warn`,
  ].join('\n');

  return [
    { id: 'curl', label: 'curl', code: curl, note: 'Sends one log line from any shell.' },
    { id: 'node', label: 'Node.js', code: node, note: 'Node.js 18 or newer. Downloads the zero-dependency logger (logger.js) into the current folder; in your app, require it and log as shown.' },
    { id: 'python', label: 'Python', code: python, note: 'Python 3.8 or newer. Downloads the standard-library logger (logger.py) into the current folder.' },
    { id: 'go', label: 'Go', code: go, note: 'Go 1.22 or newer. Creates a small module in ./devsmith-hello with the logger package copied into it.' },
    { id: 'java', label: 'Java', code: java, note: 'Java 11 or newer, no build tool. Creates ./devsmith-hello with the logger (a java.util.logging handler too, so SLF4J through slf4j-jdk14).' },
    { id: 'ruby', label: 'Ruby', code: ruby, note: 'Ruby 3.0 or newer. Downloads the standard-library logger (devsmith_logger.rb, a drop-in Logger) into the current folder.' },
    { id: 'php', label: 'PHP', code: php, note: 'PHP 7.4 or newer with the curl extension. Downloads the PSR-3-shaped logger (DevSmithLogger.php) into the current folder.' },
    { id: 'shell', label: 'Shell', code: shell, note: 'bash and curl, for cron jobs and CI. Downloads devsmith-log.sh into the current folder.' },
  ].map((s) => ({ ...s, slug }));
}
