/**
 * For stand-ins: answers with a body of `bytes` bytes, written in 64 kB chunks as fast as the
 * client reads them, and says how many bytes the client took before it went away (all of them when
 * it read to the end). A client that reads only the start of an error body closes early.
 */
import type { ServerResponse } from 'node:http';

const CHUNK = Buffer.alloc(64 * 1024, 'x');

export function streamBody(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  bytes: number,
): Promise<number> {
  res.writeHead(status, { ...headers, 'content-length': String(bytes) });
  let written = 0;
  return new Promise((resolve) => {
    const done = (): void => resolve(written);
    res.once('close', done);
    const pump = (): void => {
      while (written < bytes && !res.destroyed) {
        const n = Math.min(CHUNK.length, bytes - written);
        written += n;
        if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      if (written >= bytes) res.end();
    };
    pump();
  });
}
