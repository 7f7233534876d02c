/**
 * Builds the console's static files into dist/console-ui/ (consoleAssetsDir), run by `npm run
 * build` after the server code compiles: the page script (client/*.ts, its own tsconfig, one file,
 * minified with terser into console.js with its source map console.js.map), the stylesheet, and
 * uPlot's browser build and stylesheet copied from node_modules, so the app serves the chart
 * library itself (no CDN). Prints the script's raw and gzipped sizes;
 * test/browser/console-assets-size.test.ts holds it to CONSOLE_JS_BUDGET.
 *
 * Usage: node dist/src/console/ui/build-assets.js   (exits non-zero on any error)
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { minify } from 'terser';
import { consoleAssetsDir } from './assets-dir';

/**
 * Gzipped bytes the minified console.js may weigh: 3,989 when the budget was set (5,277 before
 * minifying), so about 15% to grow into before someone has to look.
 */
export const CONSOLE_JS_BUDGET = 4608;

const root = path.resolve(__dirname, '..', '..', '..', '..');
const source = path.join(root, 'src', 'console', 'ui');
/** tsc's unminified output, beside dist/console-ui/ (same depth, so the map's paths hold). */
const compiledDir = path.join(path.dirname(consoleAssetsDir), 'console-ui-tsc');

async function buildScript(): Promise<void> {
  const compiled = path.join(compiledDir, 'console.js');
  // tsc prints its own diagnostics; a type error makes execFileSync throw.
  execFileSync(
    process.execPath,
    [
      require.resolve('typescript/bin/tsc'),
      '-p',
      path.join(source, 'client', 'tsconfig.json'),
      '--outFile',
      compiled,
      '--sourceMap',
      '--inlineSources',
    ],
    { cwd: root, stdio: 'inherit' },
  );
  const result = await minify(readFileSync(compiled, 'utf8'), {
    ecma: 2020,
    // One classic script: its top-level names are the page's own (nothing else calls them).
    toplevel: true,
    compress: { passes: 2 },
    mangle: true,
    format: { comments: false },
    sourceMap: {
      content: readFileSync(`${compiled}.map`, 'utf8'),
      url: 'console.js.map',
      includeSources: true,
    },
  });
  if (typeof result.code !== 'string' || result.code === '') {
    throw new Error('terser produced no code');
  }
  const out = path.join(consoleAssetsDir, 'console.js');
  writeFileSync(out, result.code);
  writeFileSync(
    `${out}.map`,
    typeof result.map === 'string' ? result.map : JSON.stringify(result.map),
  );
  rmSync(compiledDir, { recursive: true, force: true });
  const raw = Buffer.byteLength(result.code);
  const gzipped = gzipSync(result.code, { level: 9 }).length;
  console.log(
    `${path.relative(root, out)}: ${raw} bytes, ${gzipped} bytes gzipped (budget ${CONSOLE_JS_BUDGET})`,
  );
}

async function main(): Promise<void> {
  mkdirSync(consoleAssetsDir, { recursive: true });
  await buildScript();
  copyFileSync(
    path.join(source, 'assets', 'console.css'),
    path.join(consoleAssetsDir, 'console.css'),
  );
  const uplot = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) {
    copyFileSync(path.join(uplot, file), path.join(consoleAssetsDir, file));
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(`build-assets: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
