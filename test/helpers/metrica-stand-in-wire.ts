/**
 * The Metrica stand-in's types and its wire-level helpers: which endpoint a path is, the body read
 * with busboy, the uploading object as Metrica sends it, and the status an uploading has at a
 * moment of the fake clock (rules in metrica-stand-in.ts's header).
 */
import type http from 'node:http';
import busboy from 'busboy';
import type { MetricaCsvRow } from './metrica-stand-in-csv';
import type { OrdersUpload } from './metrica-stand-in-orders';
import {
  isJsEventGoalFor,
  metricaError,
  type MetricaGoal,
  type StandInAnswer,
} from './metrica-stand-in-goals';

export type MetricaEndpoint =
  | 'upload'
  | 'uploadings'
  | 'uploading'
  | 'visit_join_threshold'
  | 'goals'
  | 'simple_orders'
  | 'unknown';

export interface MetricaRequest {
  /** Real time it arrived, ms. */
  at: number;
  method: string;
  path: string;
  query: URLSearchParams;
  endpoint: MetricaEndpoint;
  counterId?: string;
  /** The Authorization header as sent. */
  authorization?: string;
  bodyBytes: number;
  status: number;
  errorType?: string;
  /** The stand-in cut the connection instead of answering. */
  dropped: boolean;
}

export type MetricaStatus = 'UPLOADED' | 'EXPORTED' | 'MATCHED' | 'PROCESSED' | 'LINKAGE_FAILURE';

/** An uploading as the API shows it, plus what the stand-in keeps for tests. */
export interface MetricaUploading {
  id: number;
  create_time: string;
  source_quantity: number;
  line_quantity: number;
  comment?: string;
  type: string;
  client_id_type: string;
  status: MetricaStatus;
  goal_not_found_quantity: number;
  user_not_found_quantity: number;
  linked_quantity: number;
  counterId: string;
  rows: MetricaCsvRow[];
  /** Rows dropped and values ignored, with their line numbers. */
  problems: string[];
  csv: string;
  /** The stand-in dropped the connection instead of answering this upload. */
  answerLost: boolean;
}

export type MetricaFault =
  | { kind: 'status'; status: number; errorType?: string; message?: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'drop' };

export interface MetricaStandInOptions {
  /** token → its scopes and, when given, the only counters it may use. */
  tokens?: Record<string, { scopes: string[]; counters?: string[] }>;
  counters?: string[];
  /** Fake-clock time between status steps (default 10 minutes). */
  stepMs?: number;
  quotas?: { perSecond?: number; parallel?: number; daily?: number };
  /** Wait this long before every answer (so parallel requests overlap). */
  latencyMs?: number;
  unknownTokenStatus?: 401 | 403;
  /** Largest accepted body (default 10 MB); more → 413. */
  maxBodyBytes?: number;
  /** The counters' time zone as minutes east of UTC, for `create_date_time` (default 180: Moscow). */
  utcOffsetMinutes?: number;
}

export interface MetricaStandIn {
  /** Base URL, to use as `METRICA_ENDPOINT`: `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every request so far, in order of arrival (live). */
  readonly requests: MetricaRequest[];
  /** Uploadings as they stand on the fake clock now, oldest first. */
  uploads(counterId?: string): MetricaUploading[];
  /** The next `count` requests (to `endpoint`, or any) meet `fault`. */
  setFault(fault: MetricaFault, options?: { count?: number; endpoint?: MetricaEndpoint }): void;
  /** Moves the fake clock on. */
  advance(ms: number): void;
  /** The fake clock, ms. */
  now(): number;
  addVisitors(
    counterId: string,
    ids: { clientIds?: string[]; yclids?: string[]; userIds?: string[]; lastVisitMs?: number },
  ): void;
  /** Adds a JavaScript-event goal with an exact condition (or the goal given). */
  addGoal(counterId: string, identifier: string, goal?: Partial<MetricaGoal>): MetricaGoal;
  goals(counterId: string): MetricaGoal[];
  /** Uploads before this fake time are refused with "Загрузить данные сейчас невозможно…". */
  setVisitJoinThreshold(counterId: string, atMs: number): void;
  /** CRM orders by id, as simple_orders uploads left them. */
  orders(counterId: string): Map<string, Record<string, string>>;
  /** Every simple-orders upload that got an answer (or was dropped after it), oldest first. */
  orderUploads(counterId?: string): Array<OrdersUpload & { counterId: string }>;
  /** Most requests one token had in flight at once. */
  maxInFlight(): number;
  close(): Promise<void>;
}

export interface Visitors {
  clientIds: Map<string, number>;
  yclids: Map<string, number>;
  userIds: Map<string, number>;
}

export interface Stored {
  meta: Omit<
    MetricaUploading,
    'status' | 'goal_not_found_quantity' | 'user_not_found_quantity' | 'linked_quantity'
  >;
  createdMs: number;
}

export function endpointOf(path: string | undefined): MetricaEndpoint {
  if (path === undefined) return 'unknown';
  if (path.startsWith('offline_conversions/uploading/')) return 'uploading';
  const names: Record<string, MetricaEndpoint> = {
    'offline_conversions/upload': 'upload',
    'offline_conversions/uploadings': 'uploadings',
    'offline_conversions/visit_join_threshold': 'visit_join_threshold',
    goals: 'goals',
    'data/simple_orders': 'simple_orders',
  };
  return names[path] ?? 'unknown';
}

/** The uploading object as Metrica sends it: the API's fields only. */
export function wire(u: MetricaUploading): Record<string, unknown> {
  const { counterId: _c, rows: _r, problems: _p, csv: _s, answerLost: _a, ...fields } = u;
  return fields;
}

/**
 * Reads the whole body (up to `max`); for a multipart request also its first file part named
 * `file`, parsed by busboy. A body that is not multipart/form-data, or is malformed, gives the
 * refusal Yandex's tests show ("Некорректный формат multipart запроса.").
 */
export function readBody(
  req: http.IncomingMessage,
  max: number,
  multipart: boolean,
): Promise<{ raw: Buffer; file?: Buffer; multipartError?: StandInAnswer; tooLarge?: boolean }> {
  const bad = metricaError(400, 'invalid_parameter', 'Некорректный формат multipart запроса.');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      if (tooLarge) return resolve({ raw, tooLarge });
      if (!multipart) return resolve({ raw });
      const type = req.headers['content-type'] ?? '';
      if (!/^multipart\/form-data\s*;/i.test(type)) return resolve({ raw, multipartError: bad });
      let parser: busboy.Busboy;
      try {
        parser = busboy({ headers: req.headers, defParamCharset: 'utf8' });
      } catch {
        return resolve({ raw, multipartError: bad });
      }
      let file: Buffer | undefined;
      parser.on('file', (name, stream, info) => {
        const parts: Buffer[] = [];
        stream.on('data', (c: Buffer) => parts.push(c));
        stream.on('error', () => undefined); // the parser's 'error' answers it
        stream.on('end', () => {
          // A part without a filename is a plain field to Spring's MultipartFile, not a file.
          if (name === 'file' && file === undefined && info.filename) file = Buffer.concat(parts);
        });
      });
      parser.on('error', () => resolve({ raw, multipartError: bad }));
      parser.on('close', () => resolve(file ? { raw, file } : { raw }));
      parser.end(raw);
    });
  });
}

const WINDOW_MS = 21 * 86_400_000;

/** The uploading `s` as it stands at fake time `at` (statuses and counts: metrica-stand-in.ts). */
export function uploadingAt(
  s: Stored,
  at: number,
  stepMs: number,
  v: Visitors,
  counterGoals: MetricaGoal[],
): MetricaUploading {
  const steps = Math.floor((at - s.createdMs) / Math.max(stepMs, 1));
  const base = { goal_not_found_quantity: 0, user_not_found_quantity: 0, linked_quantity: 0 };
  if (stepMs > 0 && steps < 3) {
    const status = (['UPLOADED', 'EXPORTED', 'MATCHED'] as const)[Math.max(steps, 0)];
    return { ...s.meta, ...base, status: status ?? 'MATCHED' };
  }
  const processedAt = s.createdMs + 3 * stepMs;
  let known = 0;
  for (const row of s.meta.rows) {
    const seen = [
      row.clientId && v.clientIds.get(row.clientId),
      row.yclid && v.yclids.get(row.yclid),
      row.userId && v.userIds.get(row.userId),
    ].find((t): t is number => typeof t === 'number');
    if (seen === undefined || processedAt - seen > WINDOW_MS) {
      base.user_not_found_quantity += 1;
      continue;
    }
    known += 1;
    if (counterGoals.some((g) => isJsEventGoalFor(g, row.target))) base.linked_quantity += 1;
    else base.goal_not_found_quantity += 1;
  }
  return { ...s.meta, ...base, status: known === 0 ? 'LINKAGE_FAILURE' : 'PROCESSED' };
}
