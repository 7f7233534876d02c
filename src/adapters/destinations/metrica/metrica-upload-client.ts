/**
 * The offline-conversions part of the Management API (research yandex-metrica.md §1, §4): upload a
 * CSV, read one upload, list uploads. I/O only; what to do with an answer is the uploader's.
 *
 * Every call has a timeout, sends `Authorization: OAuth <token>` (never logged: it is not in any URL
 * or message), and reads at most 64 KB of an error body. Errors:
 * - 429 (a quota), 5xx, a network failure, a timeout: RetryableError `METRICA_UNAVAILABLE`, with
 *   `retryAfterMs` from the quota named (`quota_requests_by_uid`: the next 00:00 GMT) or
 *   Retry-After, and `maybeDelivered` when the request may have been read whole;
 * - a 400 "Загрузить данные сейчас невозможно…" (the counter's window not open yet): RetryableError
 *   `METRICA_NOT_OPEN_YET` whose `retryAfterMs` reaches the date Metrica names (metrica-errors.ts);
 * - any other 4xx: DeliveryError `METRICA_UPLOAD_REJECTED`, whose message says what to do.
 */
import { DeliveryError, RetryableError } from '../../../core/errors';
import { parseRetryAfter } from '../../../core/retry-after';
import type { OutboxIdType, UploadCounts } from '../../../ports/conversion-outbox';
import { MAX_ERROR_BODY_BYTES, readLimitedText } from '../../read-limited-response';
import { CLIENT_ID_TYPE } from './build-csv';
import { explainMetricaError, retryDelayOf, type MetricaErrorBody } from './metrica-errors';
import { ordersPath, ordersUploadingOf } from './metrica-orders';

export interface MetricaUploading {
  id: string;
  status: string;
  comment: string | null;
  createTime: string | null;
  /** null for a CRM orders upload, whose answer has no such counts. */
  counts: UploadCounts | null;
}

export interface MetricaUploadClientOptions {
  endpoint: string;
  counterId: string;
  token: string;
  timeoutMs: number;
  fetchImpl?: typeof fetch;
  /** For quota waits that end at 00:00 GMT. */
  now?: () => number;
}

/** The largest JSON answer read (a list of uploads): 8 MB. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export class MetricaUploadClient {
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: MetricaUploadClientOptions) {
    this.fetchImpl = options.fetchImpl ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? Date.now;
  }

  /** `comment` is the batch id: how an upload whose answer was lost is found again. */
  async upload(csv: string, idType: OutboxIdType, comment: string): Promise<MetricaUploading> {
    const form = new FormData();
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'conversions.csv');
    const query = new URLSearchParams({
      client_id_type: CLIENT_ID_TYPE[idType],
      type: 'BASIC',
      comment,
    });
    const body = await this.call('POST', `offline_conversions/upload?${query.toString()}`, form);
    return uploadingOf((body as { uploading?: unknown }).uploading);
  }

  /**
   * CRM orders (research §2): `merge_mode=SAVE` replaces each order by its id, so sending a file
   * again after a lost answer changes nothing. Metrica's check FAILED: METRICA_UPLOAD_REJECTED.
   */
  async uploadOrders(csv: string): Promise<MetricaUploading> {
    const form = new FormData();
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'orders.csv');
    const url = `${ordersPath(this.options)}?merge_mode=SAVE&delimiter_type=COMMA`;
    const body = await this.call('POST', url, form);
    return ordersUploadingOf((body as { uploading?: unknown }).uploading);
  }

  async uploading(id: string): Promise<MetricaUploading> {
    const body = await this.call('GET', `offline_conversions/uploading/${encodeURIComponent(id)}`);
    return uploadingOf((body as { uploading?: unknown }).uploading);
  }

  /** The counter's uploads, newest first. */
  async uploadings(limit = 1000): Promise<MetricaUploading[]> {
    const body = await this.call('GET', `offline_conversions/uploadings?limit=${limit}&offset=0`);
    const list = (body as { uploadings?: unknown }).uploadings;
    return Array.isArray(list) ? list.map(uploadingOf) : [];
  }

  /** What a log line may show of a request: no token, ever. */
  describe(path: string): string {
    return `${this.options.endpoint}/management/v1/counter/${this.options.counterId}/${path}`;
  }

  /** `path`: of the Management API's counter, or a whole URL (the CRM data API's). */
  private async call(method: 'GET' | 'POST', path: string, form?: FormData): Promise<unknown> {
    const url = /^https?:/.test(path) ? path : this.describe(path);
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: { Authorization: `OAuth ${this.options.token}`, Accept: 'application/json' },
        ...(form === undefined ? {} : { body: form }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (e) {
      // Refused or unresolved: nothing was written. Anything else (a reset, a timeout) may have
      // come after the whole request was read.
      const code = (e as { cause?: { code?: string } }).cause?.code;
      const surelyNot = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
      const what =
        (e as Error).name === 'TimeoutError'
          ? `no answer in ${this.options.timeoutMs} ms`
          : `${(e as Error).message}${code ? ` (${code})` : ''}`;
      throw new RetryableError('METRICA_UNAVAILABLE', `Metrica could not be reached: ${what}`, {
        maybeDelivered: method === 'POST' && !surelyNot,
        cause: e,
      });
    }
    if (response.ok) {
      const text = await readLimitedText(response, MAX_ANSWER_BYTES);
      try {
        return JSON.parse(text) as unknown;
      } catch {
        // A 200 whose answer is cut or not JSON: it may have taken the upload.
        throw new RetryableError(
          'METRICA_UNAVAILABLE',
          `Metrica answered ${response.status} with a body that is not JSON`,
          {
            maybeDelivered: method === 'POST',
          },
        );
      }
    }
    const text = await readLimitedText(response, MAX_ERROR_BODY_BYTES).catch(() => '');
    let body: MetricaErrorBody;
    try {
      body = JSON.parse(text) as MetricaErrorBody;
    } catch {
      body = { message: text.slice(0, 300) };
    }
    const status = response.status;
    const explained = explainMetricaError(status, body, this.now());
    if (explained.notOpenUntil !== undefined) {
      // Not an error: the counter's window is not open yet; the batch waits (research §1.5).
      throw new RetryableError('METRICA_NOT_OPEN_YET', explained.message, {
        retryAfterMs: Math.max(0, explained.notOpenUntil - this.now()),
        details: { status, errorType: explained.errorType },
      });
    }
    if (status === 429 || status >= 500) {
      throw new RetryableError('METRICA_UNAVAILABLE', explained.message, {
        retryAfterMs: retryDelayOf(
          status,
          explained.errorType,
          parseRetryAfter(response.headers.get('retry-after'), this.now()),
          this.now(),
        ),
        details: { status, errorType: explained.errorType },
      });
    }
    throw new DeliveryError('METRICA_UPLOAD_REJECTED', explained.message, {
      details: { status, errorType: explained.errorType, stopsQueue: explained.stopsQueue },
    });
  }
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function uploadingOf(raw: unknown): MetricaUploading {
  const u = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (typeof u.id !== 'number' && typeof u.id !== 'string') {
    throw new RetryableError('METRICA_UNAVAILABLE', 'Metrica answered without an upload id', {
      maybeDelivered: true,
    });
  }
  return {
    id: String(u.id),
    status: typeof u.status === 'string' ? u.status : 'UNKNOWN',
    comment: typeof u.comment === 'string' ? u.comment : null,
    createTime: typeof u.create_time === 'string' ? u.create_time : null,
    counts: {
      source: num(u.source_quantity),
      line: num(u.line_quantity),
      linked: num(u.linked_quantity),
      userNotFound: num(u.user_not_found_quantity),
      goalNotFound: num(u.goal_not_found_quantity),
    },
  };
}
