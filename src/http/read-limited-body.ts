/**
 * Reads a request body of at most `maxBytes`, for the routes that run on bare node:http. Over the
 * limit (declared by Content-Length, or found while reading) `tooLarge` is called once, the rest
 * of the body is drained and ignored, and the connection is closed after the answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface BodyHandlers {
  tooLarge: () => void;
  error: (e: Error) => void;
  /** The body as UTF-8 text, and the bytes as they came (a signature is over the bytes). */
  body: (text: string, raw: Buffer) => void;
}

export function readLimitedBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
  handlers: BodyHandlers,
): void {
  if (Number(req.headers['content-length']) > maxBytes) {
    res.setHeader('connection', 'close');
    req.resume();
    handlers.tooLarge();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  req.on('data', (chunk: Buffer) => {
    if (done) return;
    size += chunk.length;
    if (size > maxBytes) {
      done = true;
      res.setHeader('connection', 'close');
      handlers.tooLarge();
      return;
    }
    chunks.push(chunk);
  });
  req.on('error', (e) => {
    if (done) return;
    done = true;
    handlers.error(e);
  });
  req.on('end', () => {
    if (done) return;
    done = true;
    const raw = Buffer.concat(chunks, size);
    handlers.body(raw.toString('utf8'), raw);
  });
}
