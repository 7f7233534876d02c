/**
 * Bounds of the HTTP server, against slow-loris and descriptor exhaustion: a connection that has
 * not sent a whole request (headers and body) within `requestTimeoutMs` gets a 408 and is closed,
 * and at most `maxConnections` connections are open at once; one more is closed as soon as it is
 * accepted, so the process never runs out of file descriptors, whoever connects.
 *
 * Node checks its request timeouts every `connectionsCheckingInterval` (30 s by default, which
 * would let a slow client hold a connection for up to 40 s); a quarter of the timeout, at most a
 * second, closes one within about 10 s. Keep-alive is untouched: an idle keep-alive connection is
 * not a request in progress, and lasts the keep-alive timeout (65 s, see listen()).
 */
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ServerBounds {
  /** A whole request must arrive within this (default 10 s); else 408 and the connection closed. */
  requestTimeoutMs: number;
  /** Connections open at once (default 1024, CLOSELOOP_MAX_CONNECTIONS); more are closed at once. */
  maxConnections: number;
}

export const DEFAULT_SERVER_BOUNDS: ServerBounds = {
  requestTimeoutMs: 10_000,
  maxConnections: 1024,
};

/** What the bounds did, for the log and /metrics. */
export interface ServerWatch {
  requestTimedOut(ip: string | undefined): void;
  connectionRefused(ip: string | undefined): void;
  /** +1 when a connection opens, -1 when it closes. */
  connectionsChanged(delta: 1 | -1): void;
}

/** The options of http.createServer that carry the timeouts. */
export function serverOptions(
  bounds: ServerBounds,
): ServerOptions<typeof IncomingMessage, typeof ServerResponse> {
  return {
    requestTimeout: bounds.requestTimeoutMs,
    headersTimeout: bounds.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, bounds.requestTimeoutMs / 4)),
  };
}

/** The connection cap, and the watch on timeouts and connections. */
export function boundServer(server: Server, bounds: ServerBounds, watch?: ServerWatch): void {
  server.maxConnections = bounds.maxConnections;
  if (watch === undefined) return;
  server.on('drop', (data?: { remoteAddress?: string }) =>
    watch.connectionRefused(data?.remoteAddress),
  );
  server.on('connection', (socket: Socket) => {
    watch.connectionsChanged(1);
    socket.once('close', () => watch.connectionsChanged(-1));
  });
  // With a listener here Node leaves the answer to it: this one answers as Node would.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') watch.requestTimedOut(socket.remoteAddress);
    answerClientError(error, socket);
  });
}

const ANSWERS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/**
 * Node's own answer to a request it could not read (node's _http_server.js socketOnError): a bare
 * status line when nothing of an answer was sent on the socket yet, then the socket closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (error.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
    const status = ANSWERS[error.code ?? ''] ?? '400 Bad Request';
    socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
  }
  socket.destroy(error);
}
