// Builds the dashboard into dist/: hashed bundles under dist/assets/, an
// index.html that loads them, gzip twins for the gateway to serve, and the
// sample loggers under dist/_samples/ (served at /samples/) for the setup
// snippets. Deterministic:
// the same sources and lock file give the same bytes.
//
//   node build.mjs           build once
//   node build.mjs --watch   rebuild when src/ changes
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
const samplesRoot = join(root, '..', '..', 'samples');

// Which sample logger files to serve, per language; only those present.
function sampleFiles() {
  const pick = (lang, filter) => {
    const dir = join(samplesRoot, lang);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile() && filter(f)).sort();
  };
  return {
    javascript: pick('javascript', (f) => f === 'logger.js'),
    python: pick('python', (f) => f === 'logger.py'),
    go: pick('go', (f) => f.endsWith('.go') && !f.endsWith('_test.go')),
    java: pick('java/devsmith', (f) => f.endsWith('.java')).map((f) => `devsmith/${f}`),
    ruby: pick('ruby', (f) => f === 'devsmith_logger.rb'),
    php: pick('php', (f) => f === 'DevSmithLogger.php'),
    shell: pick('shell', (f) => f === 'devsmith-log.sh'),
  };
}

function gzipTwin(file) {
  const data = readFileSync(file);
  // mtime 0 and a fixed level keep the output byte-identical.
  writeFileSync(file + '.gz', gzipSync(data, { level: constants.Z_BEST_COMPRESSION }));
}

async function build() {
  const started = Date.now();
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(join(dist, 'assets'), { recursive: true });
  const samples = sampleFiles();

  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['src/main.jsx'],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    outdir: 'dist/assets',
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    define: { __SAMPLE_FILES__: JSON.stringify(samples) },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });

  let js = '';
  let css = '';
  for (const out of Object.keys(result.metafile.outputs)) {
    const url = '/' + relative(join(root, 'dist'), join(root, out)).split('\\').join('/');
    if (out.endsWith('.js')) js = url;
    if (out.endsWith('.css')) css = url;
  }
  if (!js || !css) throw new Error('build produced no JavaScript or CSS bundle');
  const html = readFileSync(join(root, 'src', 'index.html'), 'utf8').replace('%JS%', js).replace('%CSS%', css);
  writeFileSync(join(dist, 'index.html'), html);
  copyFileSync(join(root, 'src', 'favicon.svg'), join(dist, 'favicon.svg'));

  for (const [lang, files] of Object.entries(samples)) {
    if (!files.length) continue;
    // Under _samples/ so the go tool ignores the copied Go files; the
    // gateway serves them at /samples/.
    for (const f of files) {
      mkdirSync(dirname(join(dist, '_samples', lang, f)), { recursive: true });
      copyFileSync(join(samplesRoot, lang, f), join(dist, '_samples', lang, f));
    }
  }

  const sizes = [];
  for (const file of [join(root, js.slice(1).replace(/^/, 'dist/')), join(root, css.slice(1).replace(/^/, 'dist/')), join(dist, 'index.html')]) {
    gzipTwin(file);
    sizes.push([relative(root, file), statSync(file).size, statSync(file + '.gz').size]);
  }
  gzipTwin(join(dist, 'favicon.svg'));
  let raw = 0;
  let gz = 0;
  for (const [name, r, g] of sizes) {
    raw += r;
    gz += g;
    console.log(`  ${name.padEnd(40)} ${String(r).padStart(7)} B  ${String(g).padStart(6)} B gzip`);
  }
  console.log(`dashboard built in ${Date.now() - started} ms: ${raw} B, ${gz} B gzipped`);
}

await build();

if (process.argv.includes('--watch')) {
  let timer = null;
  console.log('watching src/ for changes (Ctrl-C to stop)');
  watch(join(root, 'src'), { recursive: true }, () => {
    clearTimeout(timer);
    timer = setTimeout(() => build().catch((err) => console.error(err.message)), 100);
  });
}
