#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is written in TypeScript and built to dist/ by `npm install` (prepare).
require('../dist/src/cli/index.js')
  .runCli(process.argv.slice(2))
  .then((code) => {
    if (typeof code === 'number') process.exitCode = code;
  })
  .catch((err) => {
    console.error(err && err.stack ? err.stack : String(err));
    process.exitCode = 1;
  });
