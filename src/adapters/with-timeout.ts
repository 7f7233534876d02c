/**
 * `work`'s result, or the error `onTimeout()` makes once `ms` have passed, whichever comes first.
 * The timer is cleared either way and never holds the process open. `work` goes on regardless;
 * a late rejection of it is dropped (the caller has its answer already).
 */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => undefined);
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
