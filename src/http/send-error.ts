/** The one way errors leave over HTTP: `{"error":{"code","message"}}`, and a log line. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, isAppError, PayloadError } from '../core/errors';
import { asClause, errorMessage } from '../core/error-message';

/**
 * The longest message an answer carries. A message may quote the request (a key of a refused
 * webhook), and a sender must not be able to make closeloop echo a megabyte back.
 */
const MAX_ANSWER_MESSAGE_CHARS = 2000;

export interface RequestLogger {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const e = err as { type?: string; status?: number } | null;
  if (e?.type === 'entity.too.large' || e?.status === 413) {
    return new AppError('WEBHOOK_TOO_LARGE', 'the body is over the size limit', {
      httpStatus: 413,
    });
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new PayloadError(
      'WEBHOOK_NOT_AMOCRM',
      `unreadable request: ${asClause(errorMessage(err))}`,
    );
  }
  return new AppError('INTERNAL', errorMessage(err), { cause: err });
}

export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  logger: RequestLogger,
  route: string,
): void {
  const e = toAppError(err);
  const meta = {
    code: e.code,
    status: e.httpStatus,
    method: req.method,
    route,
    ip: req.socket.remoteAddress,
    message: e.message,
  };
  // The reason is in the line itself, so a person reading only messages sees why; the fields
  // stay for queries.
  if (e.httpStatus >= 500) {
    logger.error(`request failed: ${e.message}`, {
      ...meta,
      stack: err instanceof Error ? err.stack : undefined,
    });
  } else if (e.httpStatus !== 404 || route.startsWith('/webhooks')) {
    logger.warn(`request rejected: ${e.message}`, meta);
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  const problems = (e.details as { problems?: unknown } | undefined)?.problems;
  const body = JSON.stringify({
    error: {
      code: e.code,
      // An unexpected error's message may say more than a caller should read; the log has it.
      message: e.code === 'INTERNAL' ? 'internal error' : cut(e.message),
      // A refused body's problems, each located (`[3].amount`), for the sender to fix them all.
      ...(e.httpStatus < 500 && Array.isArray(problems)
        ? { problems: problems.map((p: unknown) => (typeof p === 'string' ? cut(p) : p)) }
        : {}),
    },
  });
  res.writeHead(e.httpStatus, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function cut(message: string): string {
  return message.length <= MAX_ANSWER_MESSAGE_CHARS
    ? message
    : `${message.slice(0, MAX_ANSWER_MESSAGE_CHARS)}… [${message.length - MAX_ANSWER_MESSAGE_CHARS} more characters cut]`;
}

/** A failed durable write, as a 503: the sender (amoCRM, a browser) should try again later. */
export function storeUnavailable(e: unknown, what: string): AppError {
  return new AppError(
    'STORE_UNAVAILABLE',
    isAppError(e) && e.code === 'STORE_UNAVAILABLE'
      ? e.message
      : `could not store the ${what}: ${asClause(errorMessage(e))}`,
    { httpStatus: 503, cause: e },
  );
}
