#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is written in TypeScript and built to dist/ by `npm install` (prepare).
// `closeloop deliveries | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e) => {
  if (e && e.code === 'EPIPE') process.exit(0);
  throw e;
});
require('../dist/src/cli/index.js')
  .runCli(process.argv.slice(2), undefined, process.env, process.cwd(), { dotEnv: true })
  .then((code) => {
    if (typeof code === 'number') process.exitCode = code;
    // Done: exit even if something still holds the event loop (a Redis connection retrying, work
    // that did not finish within the shutdown deadline), once the last log lines are written.
    setTimeout(() => process.exit(), 1000).unref();
  })
  .catch((err) => {
    console.error(err && err.stack ? err.stack : String(err));
    process.exitCode = 1;
  });
