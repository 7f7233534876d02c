/**
 * Runs a task now-ish and then every interval, one run at a time (the next waits for the previous
 * to end); a failed run is reported and the next one comes as usual. `stop` waits for a run in
 * progress.
 */
export interface Periodic {
  stop(): Promise<void>;
}

export function every(
  task: { firstInMs: number; intervalMs: number },
  run: () => Promise<unknown>,
  onError: (e: unknown) => void,
): Periodic {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = false;
  const loop = (delay: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run()
        .catch(onError)
        .finally(() => {
          running = null;
          loop(task.intervalMs);
        });
    }, delay);
  };
  loop(task.firstInMs);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
