/**
 * A local stand-in for Google's Measurement Protocol endpoints, on a real `node:http` server
 * (127.0.0.1, a free port), following research ga4-mp.md Part D rules 1–5:
 * - `POST /mp/collect` → 204, empty body, always (valid or not), like Google; the request and the
 *   problems Google would have silently dropped it for are recorded, so tests can assert on them;
 * - `POST /debug/mp/collect` → 200 `{"validationMessages":[…]}`;
 * - any host, no Content-Type required, credentials never checked (rules 1–3);
 * - other methods → 405, other paths → 404 (design choice; Google's answer is unconfirmed).
 * Programmable failures (`failNext`, `hangNext`) stand in for outages and slow answers, and for a
 * proxy's error page of megabytes (`failNext`'s `bodyBytes`).
 * `holdAnswers`/`releaseAnswers` keep `/mp/collect` answers back, so a test can stop a sender at a
 * moment where every request GA4 accepted is known and the sender's deliveries are in flight.
 */
import http from 'node:http';
import {
  validateGa4Payload,
  type Ga4Problem,
} from '../../src/adapters/destinations/ga4/validate-ga4-payload';
import { streamBody } from './stream-body';
import { listenOnLoopback } from './listen-on-loopback';

export interface Ga4StandInRequest {
  /** When its body had arrived (ms since the epoch). */
  at: number;
  method: string;
  /** Path without the query: `/mp/collect` or `/debug/mp/collect`. */
  path: string;
  /** The query string; `query.get('api_secret')`. */
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  /** Parsed body; undefined when it was not JSON. */
  json: unknown;
  /** What Google would report (debug) or silently drop the events for (collect). */
  problems: Ga4Problem[];
  /** The status the stand-in answered (or was about to answer when the client gave up). */
  status: number;
  /**
   * False when the answer was a programmed failure, a 404 or a 405; also while a request is held,
   * and for good when its client went away before the held answer was released.
   */
  accepted: boolean;
  /** Whether the client's connection closed before it got a held answer (status stays 0). */
  clientGone: boolean;
  /**
   * For a programmed failure with a body of given size: how many of its bytes the client took
   * before it closed the connection (resolves once it did, or read them all).
   */
  bodyBytesTaken?: Promise<number>;
}

export interface Ga4StandIn {
  /** Base URL, to use as `GA4_ENDPOINT`: `http://127.0.0.1:<port>`. */
  readonly url: string;
  /**
   * Answer `status` (with `headers`) to the next `count` requests to either endpoint; with
   * `bodyBytes`, with a body that long (a proxy's huge error page), streamed.
   */
  failNext(
    count: number,
    status: number,
    headers?: Record<string, string>,
    bodyBytes?: number,
  ): void;
  /** Delay the answer to the next `count` requests by `ms`. */
  hangNext(count: number, ms: number): void;
  /** `POST /mp/collect` requests answered 204: what GA4 would have received. */
  collected(): Ga4StandInRequest[];
  /** Every request, including failed, debug, 404 and 405 ones. */
  attempts(): Ga4StandInRequest[];
  /**
   * From now on, `POST /mp/collect` requests that would be answered 204 wait unanswered, and are
   * not collected, until `releaseAnswers()`. Programmed failures and the debug endpoint still answer.
   * With `counted`, GA4 has taken them in and only the answer is lost: they are collected on
   * arrival, and stay collected whatever happens to their connection.
   */
  holdAnswers(options?: { counted?: boolean }): void;
  /** The requests waiting for their answer now (`clientGone` tells whose client went away). */
  held(): Ga4StandInRequest[];
  /**
   * Answers every held request 204 (they count as collected from now on), except those whose
   * client went away: they stay status 0, not accepted. Stops holding. Returns how many it answered.
   */
  releaseAnswers(): number;
  /** Forget recorded requests and programmed failures (held answers are released first). */
  reset(): void;
  close(): Promise<void>;
}

const COLLECT = '/mp/collect';
const DEBUG = '/debug/mp/collect';

/** Google's parser wording for a body that is not JSON (research [T2]). */
const PARSE_ERROR = 'Unable to parse Measurement Protocol JSON payload.';

export async function startGa4StandIn(): Promise<Ga4StandIn> {
  let recorded: Ga4StandInRequest[] = [];
  let failures: Array<{ status: number; headers: Record<string, string>; bodyBytes?: number }> = [];
  let hangs: number[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let holding = false;
  let holds: Array<{ entry: Ga4StandInRequest; release: () => boolean }> = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const parsedUrl = new URL(req.url ?? '/', 'http://stand-in');
      const entry: Ga4StandInRequest = {
        at: Date.now(),
        method: req.method ?? '',
        path: parsedUrl.pathname,
        query: parsedUrl.searchParams,
        headers: req.headers,
        rawBody,
        json: undefined,
        problems: [],
        status: 0,
        accepted: false,
        clientGone: false,
      };
      recorded.push(entry);

      const isEndpoint = entry.path === COLLECT || entry.path === DEBUG;
      let status: number;
      let headers: Record<string, string> = {};
      let body = '';
      let bodyBytes: number | undefined;
      if (!isEndpoint) {
        status = 404;
      } else if (entry.method !== 'POST') {
        status = 405;
        headers = { Allow: 'POST' };
      } else {
        entry.problems = inspect(entry, rawBody);
        const failure = failures.shift();
        if (failure) {
          status = failure.status;
          headers = failure.headers;
          body = `stand-in: programmed failure ${failure.status}`;
          bodyBytes = failure.bodyBytes;
        } else if (entry.path === COLLECT) {
          status = 204;
          entry.accepted = true;
        } else {
          status = 200;
          entry.accepted = true;
          headers = { 'Content-Type': 'application/json' };
          body = JSON.stringify({ validationMessages: entry.problems });
        }
      }
      entry.status = status;

      if (holding && entry.path === COLLECT && status === 204) {
        hold(entry, res);
        return;
      }

      const answer = () => {
        if (res.destroyed) return; // the client gave up (timeout)
        if (bodyBytes !== undefined) {
          entry.bodyBytesTaken = streamBody(res, status, headers, bodyBytes);
          return;
        }
        res.writeHead(status, headers);
        res.end(body);
      };
      const delay = isEndpoint && entry.method === 'POST' ? hangs.shift() : undefined;
      if (delay === undefined) {
        answer();
      } else {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, delay);
        timers.add(timer);
      }
    });
  });

  /** Keeps the answer back; release() answers it unless the client went away meanwhile. */
  let countHeld = false;
  const hold = (entry: Ga4StandInRequest, res: http.ServerResponse): void => {
    entry.status = countHeld ? 204 : 0;
    entry.accepted = countHeld;
    const socket = res.socket;
    const gone = (): void => {
      entry.clientGone = true;
    };
    // The connection's end (the client closed its side) is the first sign; 'close' covers resets.
    socket?.once('end', gone);
    socket?.once('close', gone);
    res.once('close', gone);
    holds.push({
      entry,
      release: () => {
        socket?.off('end', gone);
        socket?.off('close', gone);
        res.off('close', gone);
        if (entry.clientGone || res.destroyed || !socket || socket.destroyed) {
          entry.clientGone = true;
          return false; // and collected only if GA4 took it in before the answer was lost
        }
        entry.status = 204;
        entry.accepted = true;
        res.writeHead(204);
        res.end();
        return true;
      },
    });
  };
  const releaseAll = (): number => {
    holding = false;
    const pending = holds;
    holds = [];
    return pending.filter((h) => h.release()).length;
  };

  const { url } = await listenOnLoopback(server);

  return {
    url,
    failNext(count, status, headers = {}, bodyBytes) {
      for (let i = 0; i < count; i += 1) failures.push({ status, headers, bodyBytes });
    },
    hangNext(count, ms) {
      for (let i = 0; i < count; i += 1) hangs.push(ms);
    },
    collected: () => recorded.filter((r) => r.path === COLLECT && r.accepted),
    attempts: () => [...recorded],
    holdAnswers(options = {}) {
      holding = true;
      countHeld = options.counted === true;
    },
    held: () => holds.map((h) => h.entry),
    releaseAnswers: releaseAll,
    reset() {
      releaseAll();
      recorded = [];
      failures = [];
      hangs = [];
    },
    async close() {
      holding = false;
      holds = [];
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      // Keep-alive sockets from fetch's pool would otherwise hold close() open.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((e) => (e ? reject(e) : resolve())),
      );
    },
  };
}

/** Parses the body and validates it as Google would (rules 6–29; rule 7 for a body not JSON). */
function inspect(entry: Ga4StandInRequest, rawBody: string): Ga4Problem[] {
  const bodyBytes = Buffer.byteLength(rawBody, 'utf8');
  try {
    entry.json = JSON.parse(rawBody) as unknown;
  } catch {
    return [
      {
        validationCode: 'VALUE_INVALID',
        fieldPath: '',
        description: `${PARSE_ERROR} The body is not valid JSON (${bodyBytes} bytes).`,
      },
    ];
  }
  return validateGa4Payload(entry.json, { bodyBytes, nowMs: Date.now() });
}
