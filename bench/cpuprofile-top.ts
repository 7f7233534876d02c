/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): the functions with the most self time and
 * the same time grouped by where the code lives (a closeloop source file, an npm package, Node's
 * internals; also with native code and Node internals charged to the closeloop, npm package or
 * undici code that called them) and the inclusive time of closeloop's own functions, as percentages
 * of the non-idle samples. Sampled time is wall time on the main thread: a synchronous fsync inside
 * SQLite counts as busy although it uses no CPU. Used by bench/e2e.ts with BENCH_CPU_PROF=1; also
 * on its own:
 *
 *     node dist/bench/cpuprofile-top.js <file.cpuprofile> [top N, default 15]
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Profiled wall time, ms. */
  wallMs: number;
  /** Non-idle sampled time, ms. */
  busyMs: number;
  functions: Array<{ name: string; where: string; ms: number; pct: number }>;
  places: Array<{ place: string; ms: number; pct: number }>;
  /**
   * As `places`, with native frames and Node internals (socket writes, streams, timers) charged to
   * the closeloop, npm package or undici code that called them.
   */
  callerPlaces: Array<{ place: string; ms: number; pct: number }>;
  /** Inclusive (self + callees) time of closeloop's own functions (dist/src). */
  inclusive: Array<{ name: string; where: string; ms: number; pct: number }>;
}

/** Where a script is, short: `src/worker/process-delivery.ts`, `bullmq`, `node:internal/...`. */
export function placeOf(url: string): string {
  if (url === '') return '(native / VM)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length).replace(/\.js$/, '.ts');
  if (url.startsWith('node:')) {
    const parts = url.split('/');
    return parts.slice(0, Math.min(parts.length, 3)).join('/');
  }
  return url.replace(/^file:\/\//, '');
}

/** Code that owns the work below it: not a native frame, not Node's internals (undici counts). */
function isOwner(url: string): boolean {
  return url !== '' && (!url.startsWith('node:') || url.includes('/deps/undici'));
}

export function summariseProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  // timeDeltas[i] is the time before samples[i]; attribute it to that sample's node.
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const fnTime = new Map<string, { name: string; where: string; us: number }>();
  const placeTime = new Map<string, number>();
  const callerPlaceTime = new Map<string, number>();
  const inclusiveTime = new Map<string, { name: string; where: string; us: number }>();
  let busy = 0;
  for (const [id, us] of self) {
    const { callFrame: f } = byId.get(id)!;
    if (f.functionName === '(idle)') continue;
    busy += us;
    const name = f.functionName || '(anonymous)';
    const place = f.url === '' && name.startsWith('(') ? name : placeOf(f.url);
    const where = f.url === '' ? place : `${place}:${f.lineNumber + 1}`;
    const key = `${name}\u0000${where}`;
    const entry = fnTime.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    fnTime.set(key, entry);
    placeTime.set(place, (placeTime.get(place) ?? 0) + us);
    // The nearest ancestor (or itself) that is closeloop's, an npm package's or undici's code.
    let js: number | undefined = id;
    while (js !== undefined && !isOwner(byId.get(js)!.callFrame.url)) js = parent.get(js);
    const callerPlace =
      js === undefined || f.functionName === '(garbage collector)'
        ? place
        : placeOf(byId.get(js)!.callFrame.url);
    callerPlaceTime.set(callerPlace, (callerPlaceTime.get(callerPlace) ?? 0) + us);
    const counted = new Set<string>();
    for (let a: number | undefined = id; a !== undefined; a = parent.get(a)) {
      const cf = byId.get(a)!.callFrame;
      if (!cf.url.includes('/dist/src/')) continue;
      const fname = cf.functionName || '(anonymous)';
      const fwhere = `${placeOf(cf.url)}:${cf.lineNumber + 1}`;
      const k = `${fname}\u0000${fwhere}`;
      if (counted.has(k)) continue; // recursion
      counted.add(k);
      const e = inclusiveTime.get(k) ?? { name: fname, where: fwhere, us: 0 };
      e.us += us;
      inclusiveTime.set(k, e);
    }
  }
  const pct = (us: number) => (busy === 0 ? 0 : (100 * us) / busy);
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busy / 1000,
    functions: [...fnTime.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, pct: pct(f.us) })),
    places: [...placeTime.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([place, us]) => ({ place, ms: us / 1000, pct: pct(us) })),
    callerPlaces: [...callerPlaceTime.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([place, us]) => ({ place, ms: us / 1000, pct: pct(us) })),
    inclusive: [...inclusiveTime.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, pct: pct(f.us) })),
  };
}

export function formatSummary(title: string, s: ProfileSummary): string {
  const lines = [
    `${title}: ${s.busyMs.toFixed(0)} ms busy of ${s.wallMs.toFixed(0)} ms profiled`,
    '  top self time by function:',
    ...s.functions.map(
      (f) =>
        `    ${f.pct.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}  (${f.where})`,
    ),
    '  self time by file / package:',
    ...s.places.map(
      (p) => `    ${p.pct.toFixed(1).padStart(5)}%  ${p.ms.toFixed(0).padStart(6)} ms  ${p.place}`,
    ),
    '  the same, with native code and Node internals charged to the closeloop / package / undici caller:',
    ...s.callerPlaces.map(
      (p) => `    ${p.pct.toFixed(1).padStart(5)}%  ${p.ms.toFixed(0).padStart(6)} ms  ${p.place}`,
    ),
    '  inclusive time (self + callees) of closeloop functions:',
    ...s.inclusive.map(
      (f) =>
        `    ${f.pct.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}  (${f.where})`,
    ),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node dist/bench/cpuprofile-top.js <file.cpuprofile> [top N]');
    process.exit(2);
  }
  console.log(formatSummary(file, summariseProfile(file, Number(process.argv[3] ?? 15))));
}
