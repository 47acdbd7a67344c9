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

  return [
    { id: 'curl', label: 'curl', code: curl, note: 'Sends one log line from any shell.' },
    { id: 'node', label: 'Node.js', code: node, note: 'Node.js 18 or newer. Downloads the zero-dependency logger (logger.js) into the current folder; in your app, require it and log as shown.' },
    { id: 'python', label: 'Python', code: python, note: 'Python 3.8 or newer. Downloads the standard-library logger (logger.py) into the current folder.' },
    { id: 'go', label: 'Go', code: go, note: 'Go 1.22 or newer. Creates a small module in ./devsmith-hello with the logger package copied into it.' },
  ].map((s) => ({ ...s, slug }));
}
