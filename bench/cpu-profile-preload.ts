/**
 * Preloaded with `NODE_OPTIONS=--require .../dist/bench/cpu-profile-preload.js` by bench/e2e.ts
 * (BENCH_CPU_PROF=1): Node 20 refuses `--cpu-prof` in NODE_OPTIONS, so this does the same through
 * the inspector: V8's sampling profiler runs from start-up, and the profile is written to
 * BENCH_CPU_PROFILE_FILE (a `.cpuprofile`, as `--cpu-prof` writes) when the process exits.
 */
import fs from 'node:fs';
import inspector from 'node:inspector';

const file = process.env.BENCH_CPU_PROFILE_FILE;
if (file) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  // A session on the same thread answers synchronously, so this works in an 'exit' handler.
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (!err) fs.writeFileSync(file, JSON.stringify(result.profile));
    });
  });
}
