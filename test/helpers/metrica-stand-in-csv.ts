/**
 * How the Metrica stand-in reads an offline-conversions CSV (research yandex-metrica.md §1.3, §8.5,
 * §8.6), as pure functions. Doc-backed [doc] or seen in Yandex's own tests [code]:
 * - UTF-8, comma-separated, `"` quoting with `""` doubling; a leading BOM is tolerated [code, 7tool];
 * - header names match case-insensitively, ignoring non-word characters (`" ClientId "`,
 *   `[Target]`, `Date Time`), in any order [code];
 * - `Target`, `DateTime` and at least one of `ClientId|UserId|Yclid|PurchaseId` are required; an
 *   empty file, a header-only file, a malformed header or row → the whole file is refused [code];
 * - blank lines are ignored; a row with an empty or invalid required value (non-digit ClientId or
 *   Yclid, DateTime not a number, negative, or not yet arrived) is dropped, the rest kept [code];
 * - `DateTime` may carry a fraction (`1481718166.12345`) [code]; `Price` uses a dot [doc]; a bad
 *   Price is ignored, the row kept [code]; a Currency that is no ISO 4217 code is refused
 *   ("Неверный код валюты") [code, ManagementError].
 * Inferred by the stand-in, stricter than anything documented [inf]: an unknown or repeated column
 * refuses the file; a file in which no row survives is refused (7tool treats it as a rejection).
 */

export type IdColumn = 'ClientId' | 'UserId' | 'Yclid' | 'PurchaseId';
export type Column = IdColumn | 'Target' | 'DateTime' | 'Price' | 'Currency';

export const ID_COLUMNS: readonly IdColumn[] = ['ClientId', 'UserId', 'Yclid', 'PurchaseId'];
const COLUMNS: readonly Column[] = [...ID_COLUMNS, 'Target', 'DateTime', 'Price', 'Currency'];

export interface MetricaCsvRow {
  /** The row's line number in the file (1 = the header). */
  line: number;
  clientId?: string;
  userId?: string;
  yclid?: string;
  purchaseId?: string;
  target: string;
  /** Unix seconds, as written (a fraction kept). */
  dateTime: number;
  /** The price as written, when it was a valid decimal with a dot. */
  price?: string;
  currency?: string;
}

export interface MetricaCsv {
  columns: Column[];
  /** Non-blank data rows in the file (`source_quantity`). */
  sourceQuantity: number;
  /** Rows that passed validation (`line_quantity`). */
  rows: MetricaCsvRow[];
  /** Why rows were dropped or values ignored, one line each (`line 3: DateTime in the future`). */
  problems: string[];
}

export type CsvRefusal = { refused: string };

export const formatError = (line: number): string =>
  `Неверный формат данных, ошибка в строке номер ${line}`;

/** Splits CSV text into records of fields with their line numbers; null when a quote is broken. */
export function splitCsv(
  text: string,
  delimiter = ',',
): { records: Array<{ line: number; fields: string[] }> } | { badLine: number } {
  const records: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  let line = 1;
  let recordLine = 1;
  const endRecord = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0]?.trim() === '')) {
      records.push({ line: recordLine, fields });
    }
    fields = [];
    field = '';
    fieldStarted = false;
  };
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 1;
        } else {
          quoted = false;
          const next = text[i + 1];
          if (next !== undefined && next !== delimiter && next !== '\n' && next !== '\r') {
            return { badLine: line };
          }
        }
      } else {
        if (ch === '\n') line += 1;
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (fieldStarted && field.trim() !== '') return { badLine: line };
      quoted = true;
      fieldStarted = true;
      field = '';
    } else if (ch === delimiter) {
      fields.push(field);
      field = '';
      fieldStarted = false;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i += 1;
      endRecord();
      line += 1;
      recordLine = line;
    } else {
      field += ch;
      fieldStarted = true;
    }
  }
  if (quoted) return { badLine: line };
  endRecord();
  return { records };
}

/** A header cell as Metrica matches it: case-insensitive, non-word characters ignored. */
function columnOf(cell: string): Column | undefined {
  const key = cell.replace(/[\W_]+/gu, '').toLowerCase();
  return COLUMNS.find((c) => c.toLowerCase() === key);
}

const DIGITS = /^\d{1,20}$/;
const PRICE = /^\d+(\.\d+)?$/;
const CURRENCY = /^[A-Za-z]{3}$/;

/**
 * Reads an uploaded file. `nowSeconds` is the stand-in's clock: a DateTime after it has "not
 * arrived yet". `idColumn`, from `client_id_type`, is the column that must be present.
 */
export function parseMetricaCsv(
  buffer: Buffer,
  nowSeconds: number,
  idColumn?: IdColumn,
): MetricaCsv | CsvRefusal {
  let text = buffer.toString('utf8');
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  if (text.trim() === '') return { refused: formatError(1) };
  const split = splitCsv(text);
  if ('badLine' in split) return { refused: formatError(split.badLine) };
  const [header, ...data] = split.records;
  if (!header) return { refused: formatError(1) };
  const columns: Column[] = [];
  for (const cell of header.fields) {
    const column = columnOf(cell);
    if (!column || columns.includes(column)) return { refused: formatError(header.line) };
    columns.push(column);
  }
  const missing =
    !columns.includes('Target') ||
    !columns.includes('DateTime') ||
    !columns.some((c) => (ID_COLUMNS as readonly string[]).includes(c)) ||
    (idColumn !== undefined && !columns.includes(idColumn));
  if (missing) return { refused: formatError(header.line) };
  if (data.length === 0) return { refused: formatError(header.line + 1) };

  const rows: MetricaCsvRow[] = [];
  const problems: string[] = [];
  for (const record of data) {
    if (record.fields.length !== columns.length) return { refused: formatError(record.line) };
    const value = (c: Column): string => (record.fields[columns.indexOf(c)] ?? '').trim();
    const currency = value('Currency');
    if (currency !== '' && !CURRENCY.test(currency)) {
      return { refused: `Неверный код валюты: ${currency}` };
    }
    const drop = (why: string): void => void problems.push(`line ${record.line}: ${why}`);
    const ids: Partial<Record<IdColumn, string>> = {};
    let badId = false;
    for (const c of ID_COLUMNS) {
      if (!columns.includes(c)) continue;
      const v = value(c);
      if (v === '') continue;
      if ((c === 'ClientId' || c === 'Yclid') && !DIGITS.test(v)) {
        drop(`${c} ${JSON.stringify(v)} is not a number`);
        badId = true;
      } else ids[c] = v;
    }
    if (badId) continue;
    const chosen = idColumn ? ids[idColumn] : ID_COLUMNS.map((c) => ids[c]).find(Boolean);
    if (!chosen) {
      drop(`no ${idColumn ?? 'visitor identifier'}`);
      continue;
    }
    const target = value('Target');
    if (target === '') {
      drop('empty Target');
      continue;
    }
    const rawTime = value('DateTime');
    const dateTime = Number(rawTime);
    if (rawTime === '' || !/^\d+(\.\d+)?$/.test(rawTime) || !Number.isFinite(dateTime)) {
      drop(`DateTime ${JSON.stringify(rawTime)} is not Unix seconds`);
      continue;
    }
    if (dateTime > nowSeconds) {
      drop(`DateTime ${rawTime} has not arrived yet (now ${nowSeconds})`);
      continue;
    }
    const row: MetricaCsvRow = { line: record.line, target, dateTime };
    if (ids.ClientId) row.clientId = ids.ClientId;
    if (ids.UserId) row.userId = ids.UserId;
    if (ids.Yclid) row.yclid = ids.Yclid;
    if (ids.PurchaseId) row.purchaseId = ids.PurchaseId;
    const price = value('Price');
    if (price !== '') {
      if (PRICE.test(price)) row.price = price;
      else problems.push(`line ${record.line}: Price ${JSON.stringify(price)} ignored`);
    }
    if (currency !== '') row.currency = currency.toUpperCase();
    rows.push(row);
  }
  if (rows.length === 0) return { refused: formatError(data[0]?.line ?? 2) };
  return { columns, sourceQuantity: data.length, rows, problems };
}
