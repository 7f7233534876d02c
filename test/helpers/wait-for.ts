/**
 * Waits for a condition by polling it until a deadline: a test waits for what it expects to happen,
 * never for a fixed time (a fixed sleep is either too short on a slow CI machine or wasted time).
 */
export interface WaitForOptions {
  /** Give up after this long (default 2000 ms). */
  timeoutMs?: number;
  /** Time between two checks (default 10 ms). */
  intervalMs?: number;
  /** What was awaited, for the error; a function is called at the deadline to describe the state. */
  message?: string | (() => string | Promise<string>);
}

export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  options: WaitForOptions = {},
): Promise<void> {
  const { timeoutMs = 2000, intervalMs = 10, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() >= deadline) {
      const what = typeof message === 'function' ? await message() : message;
      throw new Error(`waitFor: timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
