#!/usr/bin/env node
/**
 * Builds the form snippet: browser/snippet.ts → dist/browser/snippet.js (tsc, browser/tsconfig.json)
 * → dist/browser/snippet.min.js (terser), then prints the raw and gzipped sizes. The server serves
 * the minified file at GET /snippet.js; test/browser/snippet.test.ts checks its size budget.
 *
 * Usage: node browser/build.js   (exits non-zero on any error)
 */
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'dist', 'browser');
const compiled = path.join(outDir, 'snippet.js');
const minified = path.join(outDir, 'snippet.min.js');

async function main() {
  // tsc prints its own diagnostics; a type error makes execFileSync throw.
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', path.join(__dirname, 'tsconfig.json')],
    { cwd: root, stdio: 'inherit' },
  );

  const { minify } = require('terser');
  const result = await minify(fs.readFileSync(compiled, 'utf8'), {
    ecma: 2017,
    compress: { passes: 3, unsafe_arrows: true },
    mangle: true,
    format: { comments: false },
  });
  if (typeof result.code !== 'string' || result.code === '') {
    throw new Error('terser produced no code');
  }
  fs.writeFileSync(minified, result.code);

  const raw = Buffer.byteLength(result.code);
  const gzipped = zlib.gzipSync(result.code, { level: 9 }).length;
  console.log(
    `${path.relative(root, minified)}: ${raw} bytes, ${gzipped} bytes gzipped (budget 2048)`,
  );
}

main().catch((err) => {
  console.error(`browser/build.js: ${err && err.message ? err.message : String(err)}`);
  process.exit(1);
});
