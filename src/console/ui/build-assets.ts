/**
 * Builds the console's static files into dist/console-ui/ (consoleAssetsDir), run by `npm run
 * build` after the server code compiles: the page script (client/*.ts, its own tsconfig, one file
 * console.js), the stylesheet, and uPlot's browser build and stylesheet copied from node_modules,
 * so the app serves the chart library itself (no CDN).
 *
 * Usage: node dist/src/console/ui/build-assets.js   (exits non-zero on any error)
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { consoleAssetsDir } from './assets-dir';

const root = path.resolve(__dirname, '..', '..', '..', '..');
const source = path.join(root, 'src', 'console', 'ui');

function main(): void {
  mkdirSync(consoleAssetsDir, { recursive: true });
  // tsc prints its own diagnostics; a type error makes execFileSync throw.
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', path.join(source, 'client', 'tsconfig.json')],
    { cwd: root, stdio: 'inherit' },
  );
  copyFileSync(
    path.join(source, 'assets', 'console.css'),
    path.join(consoleAssetsDir, 'console.css'),
  );
  const uplot = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) {
    copyFileSync(path.join(uplot, file), path.join(consoleAssetsDir, file));
  }
}

try {
  main();
} catch (e) {
  console.error(`build-assets: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
