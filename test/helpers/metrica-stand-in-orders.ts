/**
 * The Metrica stand-in's CRM simple-orders endpoint (research yandex-metrica.md §2, §8.6 item 7):
 * `POST /cdp/api/v1/counter/{id}/data/simple_orders?merge_mode=SAVE|UPDATE|APPEND
 * [&delimiter_type=COMMA|SEMICOLON]`, multipart part `file` (checked before this, with the other
 * uploads). As strict as the research:
 * - `merge_mode` missing → 400 `missing_parameter`; another value, or an unknown `delimiter_type`
 *   → 400 `invalid_parameter` [doc: required, the listed values];
 * - the header must have `id`, `create_date_time` and one of `client_ids|emails|phones|emails_md5|
 *   phones_md5` [doc]; a column not in the documented list, a ragged row, no data row → 400
 *   `invalid_uploading` [inf: what Metrica says for these is not documented];
 * - each row: `id` and `create_date_time` filled, `create_date_time` in one of the documented
 *   formats (`dd.MM.yyyy[ HH:mm[:ss]]`, `dd.MM.yy …`, `yyyy-MM-dd[ HH:mm[:ss]]`) and not after
 *   the stand-in's clock, a ClientID list of digits, `order_status` one of IN_PROGRESS, PAID,
 *   CANCELLED, SPAM or a JavaScript-event goal's identifier of the counter, `revenue`/`cost` dot
 *   decimals, `currency` three capitals [doc]. A row that fails → the answer is 200 with
 *   `api_validation_status: FAILED` and nothing of the file is kept [inf: the field and its two
 *   values are documented, not when FAILED is given];
 * - PASSED: orders are kept by `id` (SAVE replaces the whole order, UPDATE merges the given fields,
 *   APPEND as UPDATE here) [doc], except `create_date_time`, which "cannot be changed later"
 *   [doc]: the first one stays [inf]; two rows of one id in one file apply in random order [doc], so
 *   the stand-in applies them in reverse: a client relying on the order of rows is caught.
 */
import { splitCsv } from './metrica-stand-in-csv';
import { metricaError, type StandInAnswer } from './metrica-stand-in-goals';

const ORDER_IDS = ['client_ids', 'emails', 'phones', 'emails_md5', 'phones_md5'];
const COLUMNS = new Set([
  'id',
  'create_date_time',
  'client_uniq_id',
  ...ORDER_IDS,
  'order_status',
  'revenue',
  'cost',
  'goals',
  'currency',
]);
const MERGE_MODES = new Set(['SAVE', 'UPDATE', 'APPEND']);
const DELIMITERS: Record<string, string> = { COMMA: ',', SEMICOLON: ';' };
const STATUSES = new Set(['IN_PROGRESS', 'PAID', 'CANCELLED', 'SPAM']);
const DECIMAL = /^\d{1,15}(?:\.\d{1,6})?$/;
const CLIENT_IDS = /^\d{1,40}(?:\s*,\s*\d{1,40})*$/;

/** One simple-orders upload as the stand-in kept it. */
export interface OrdersUpload {
  uploadingId: string;
  mergeMode: string;
  csv: string;
  status: 'PASSED' | 'FAILED';
  /** Why FAILED (a row's line and column). */
  problem: string | null;
}

/** A `create_date_time` in the counter's time as ms of a UTC clock reading, or null. */
export function orderTimeOf(text: string): number | null {
  const m =
    /^(\d{2})\.(\d{2})\.(\d{2}|\d{4})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text) ??
    /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m) return null;
  const dotted = text.includes('.');
  const [d, mo, y] = dotted ? [m[1], m[2], m[3]] : [m[3], m[2], m[1]];
  const year = Number(y!.length === 2 ? `20${y}` : y);
  const at = Date.UTC(year, Number(mo) - 1, Number(d), Number(m[4] ?? 23), Number(m[5] ?? 59));
  const back = new Date(at);
  if (back.getUTCDate() !== Number(d) || back.getUTCMonth() !== Number(mo) - 1) return null;
  if (Number(m[4] ?? 0) > 23 || Number(m[5] ?? 0) > 59 || Number(m[6] ?? 0) > 59) return null;
  return at + Number(m[6] ?? 0) * 1000;
}

function rowProblem(
  order: Record<string, string>,
  goalIds: ReadonlySet<string>,
  nowCounterMs: number,
): string | null {
  if (!order.id) return 'id is empty';
  const created = orderTimeOf(order.create_date_time ?? '');
  if (created === null) return 'create_date_time is not a date';
  // A whole day (a date alone means 23:59 of it) may be today.
  if (created > nowCounterMs + 86_400_000) return 'create_date_time is in the future';
  if (!ORDER_IDS.some((c) => order[c])) return 'no client_ids, emails or phones';
  if (order.client_ids !== undefined && !CLIENT_IDS.test(order.client_ids)) {
    return 'client_ids are not ClientIDs';
  }
  const status = order.order_status;
  if (status !== undefined && !STATUSES.has(status) && !goalIds.has(status)) {
    return `order_status ${status} is no status and no JavaScript-event goal`;
  }
  for (const c of ['revenue', 'cost']) {
    if (order[c] !== undefined && !DECIMAL.test(order[c])) return `${c} is not a number`;
  }
  if (order.currency !== undefined && !/^[A-Z]{3}$/.test(order.currency)) {
    return 'currency is not an ISO 4217 code';
  }
  return null;
}

/**
 * Reads one upload and, when it passes, applies it to `kept`. `nowCounterMs`: the stand-in's
 * clock as a reading in the counter's time zone (a UTC clock reading of that local time).
 */
export function saveSimpleOrders(
  query: URLSearchParams,
  file: Buffer,
  kept: Map<string, Record<string, string>>,
  context: { uploadingId: string; goalIds: ReadonlySet<string>; nowCounterMs: number },
): { answer: StandInAnswer; upload?: OrdersUpload } {
  const mergeMode = query.get('merge_mode');
  if (mergeMode === null) {
    return {
      answer: metricaError(400, 'missing_parameter', 'Не указан обязательный параметр merge_mode'),
    };
  }
  if (!MERGE_MODES.has(mergeMode)) {
    return {
      answer: metricaError(
        400,
        'invalid_parameter',
        `Wrong parameter value: merge_mode=${mergeMode}`,
      ),
    };
  }
  const delimiter = DELIMITERS[query.get('delimiter_type') ?? 'COMMA'];
  if (delimiter === undefined) {
    return {
      answer: metricaError(400, 'invalid_parameter', 'Wrong parameter value: delimiter_type'),
    };
  }
  const text = file.toString('utf8').replace(/^\uFEFF/, '');
  const split = splitCsv(text, delimiter);
  if ('badLine' in split) {
    return { answer: metricaError(400, 'invalid_uploading', 'Некорректный CSV') };
  }
  const [header, ...data] = split.records;
  const names = header?.fields.map((f) => f.trim()) ?? [];
  const unknown = names.find((n) => !COLUMNS.has(n));
  const missing =
    !names.includes('id') ||
    !names.includes('create_date_time') ||
    !ORDER_IDS.some((c) => names.includes(c));
  if (unknown !== undefined || missing || data.length === 0) {
    const why =
      unknown !== undefined ? `Неизвестная колонка ${unknown}` : 'Отсутствует обязательная колонка';
    return { answer: metricaError(400, 'invalid_uploading', why) };
  }
  const orders: Array<Record<string, string>> = [];
  let problem: string | null = null;
  for (const record of data) {
    if (record.fields.length !== names.length) {
      return {
        answer: metricaError(400, 'invalid_uploading', `Ошибка в строке номер ${record.line}`),
      };
    }
    const order: Record<string, string> = {};
    names.forEach((n, i) => {
      const v = (record.fields[i] ?? '').trim();
      if (v !== '') order[n] = v;
    });
    const wrong = rowProblem(order, context.goalIds, context.nowCounterMs);
    if (wrong !== null && problem === null) problem = `line ${record.line}: ${wrong}`;
    orders.push(order);
  }
  const status = problem === null ? 'PASSED' : 'FAILED';
  if (status === 'PASSED') {
    // Random order for one id in one file: the stand-in takes the rows last to first.
    for (const order of [...orders].reverse()) {
      const id = order.id as string;
      const before = kept.get(id);
      const merged = mergeMode === 'SAVE' ? order : { ...before, ...order };
      // "cannot be changed later" [doc]: the first creation time stays [inf: what happens].
      const created = before?.create_date_time ?? order.create_date_time!;
      kept.set(id, { ...merged, create_date_time: created });
    }
  }
  return {
    answer: {
      status: 200,
      body: {
        uploading: {
          uploading_id: context.uploadingId,
          datetime: new Date().toISOString(),
          api_validation_status: status,
          elements_count: orders.length,
          entity_type: 'SYSTEM',
          uploading_format: 'CSV',
          uploading_source: 'API',
        },
      },
    },
    upload: { uploadingId: context.uploadingId, mergeMode, csv: text, status, problem },
  };
}
