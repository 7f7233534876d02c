/**
 * A copy of a thrown error (and two levels of its cause) with secrets scrubbed from name, message,
 * code and stack. Network errors from fetch may quote the request URL (GA4's `api_secret` is in
 * its query) or headers (amoCRM's Bearer token); the original is dropped, because it may hold the
 * request in places a scrub cannot reach.
 */
export type Scrub = (text: string) => string;

export function scrubbedErrorCopy(error: unknown, scrub: Scrub, depth = 0): Error {
  const source = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    stack?: unknown;
    cause?: unknown;
  };
  const message =
    typeof source.message === 'string'
      ? source.message
      : typeof error === 'string'
        ? error
        : 'unknown error';
  const copy = new Error(scrub(message)) as Error & { code?: string };
  copy.name = typeof source.name === 'string' ? scrub(source.name) : 'Error';
  if (typeof source.code === 'string') copy.code = scrub(source.code);
  copy.stack =
    typeof source.stack === 'string' ? scrub(source.stack) : `${copy.name}: ${copy.message}`;
  if (source.cause !== undefined && depth < 2) {
    copy.cause = scrubbedErrorCopy(source.cause, scrub, depth + 1);
  }
  return copy;
}
