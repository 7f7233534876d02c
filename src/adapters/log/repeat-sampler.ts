/**
 * Repeated warnings and errors, sampled: one line per reason per window (a minute in the service),
 * then one line saying how many more came. 32 MB of "request rejected: not found" in 11 s from a
 * scanner guessing webhook secrets becomes a line a minute:
 *
 *   request rejected: not found
 *   request rejected: not found (and 1,234 more like it in the last minute)
 *
 * The rule: the first line of a reason is written and opens a window. Lines of the same reason
 * inside the window are counted, not written. When the window ends and some were counted, one line
 * is written, the last one counted with "(and N more like it in the last …)" and `suppressed: N`,
 * and a new window opens (so a steady flood writes one line per window); when none were, the reason
 * is forgotten and its next line is written at once.
 *
 * The reason is the line's level with its `code` and `route` when it has a code (a request
 * rejection: the same code on the same route is the same reason, whatever the sender put in the
 * message), else its level and the message's first 200 characters. Info and debug lines are never
 * sampled: they are not errors, and each says something of its own (a conversion sent).
 */

export interface SampledLine {
  level: string;
  message: unknown;
  [key: string]: unknown;
  [key: symbol]: unknown;
}

export interface RepeatSamplerOptions {
  windowMs: number;
  /** Writes a summary line; it must not come back through `admit` (see BYPASS). */
  write: (line: SampledLine) => void;
  setTimer?: (fn: () => void, ms: number) => { unref?: () => unknown };
}

/** Marks a line the sampler itself writes, so it passes without being counted again. */
export const BYPASS_SAMPLING = Symbol('closeloop.bypassSampling');

/** Past this many reasons at once, the rest share one window (a flood of distinct messages). */
const MAX_REASONS = 5000;

interface Window {
  suppressed: number;
  last: SampledLine | null;
}

export class RepeatSampler {
  private readonly windows = new Map<string, Window>();
  private readonly setTimer: NonNullable<RepeatSamplerOptions['setTimer']>;

  constructor(private readonly options: RepeatSamplerOptions) {
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  }

  /** True when the line is to be written now; false when it was counted instead. */
  admit(line: SampledLine): boolean {
    if (line[BYPASS_SAMPLING] === true) return true;
    if (line.level !== 'warn' && line.level !== 'error') return true;
    const reason = this.windows.size >= MAX_REASONS ? '\u0000overflow' : reasonOf(line);
    const open = this.windows.get(reason);
    if (open !== undefined) {
      open.suppressed += 1;
      open.last = line;
      return false;
    }
    this.open(reason);
    return true;
  }

  private open(reason: string): void {
    const window: Window = { suppressed: 0, last: null };
    this.windows.set(reason, window);
    // Unref'd: a pending summary must not keep a stopping process alive.
    this.setTimer(() => this.close(reason, window), this.options.windowMs).unref?.();
  }

  private close(reason: string, window: Window): void {
    this.windows.delete(reason);
    if (window.suppressed === 0 || window.last === null) return;
    const { last, suppressed } = window;
    this.open(reason);
    const summary: SampledLine = {
      ...last,
      message: `${String(last.message)} (and ${suppressed.toLocaleString('en-US')} more like it in ${describeWindow(this.options.windowMs)})`,
      suppressed,
    };
    summary[BYPASS_SAMPLING] = true;
    this.options.write(summary);
  }
}

function reasonOf(line: SampledLine): string {
  const code = typeof line.code === 'string' ? line.code : null;
  if (code !== null) {
    const route = typeof line.route === 'string' ? line.route : '';
    return `${line.level}\u0000${code}\u0000${route}`;
  }
  return `${line.level}\u0000\u0000${String(line.message).slice(0, 200)}`;
}

function describeWindow(ms: number): string {
  if (ms === 60_000) return 'the last minute';
  return ms % 60_000 === 0 ? `the last ${ms / 60_000} minutes` : `the last ${ms / 1000} s`;
}
