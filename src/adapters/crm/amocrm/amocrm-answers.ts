/**
 * Reading amoCRM's answers, for the API client (amocrm-client.ts): a success body parsed as JSON,
 * an error body (problem+json, §6, or an nginx HTML page, §5) told in one line for a person and
 * in `details` for the log, the "JSON closeloop does not understand" error, and the type guards
 * that keep only the entities closeloop can use. Facts: research/amocrm.md §3, §5, §6.
 *
 * Every text from the other side goes through the caller's `scrub` before it is kept, so the
 * access token never reaches a message or `details`.
 */
import { AppError, RetryableError } from '../../../core/errors';
import { asClause } from '../../../core/error-message';
import type { Scrub } from '../../../core/scrubbed-error-copy';
import type { Pipeline } from './crm-client';
import type { AmoApiLead, AmoApiPipeline, AmoComplexLeadResult, AmoProblemJson } from './api-types';
import { htmlUnescape } from './html-unescape';

/** One HTTP answer from amoCRM, its body read as text (bounded by the client). */
export interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** How much of an error body is kept in messages and details. */
const SNIPPET_CHARS = 200;

export function parseSuccessBody(answer: RawAnswer, target: string, scrub: Scrub): unknown {
  if (answer.text.trim() === '') return null;
  try {
    return JSON.parse(answer.text) as unknown;
  } catch {
    // Seen when something in front of the API answers with a page instead (§5: a blocked
    // account's API served an HTML page); it tends to pass, so it is retried like a 5xx.
    const described = describeErrorBody(answer, scrub);
    throw new RetryableError(
      'AMOCRM_UNAVAILABLE',
      `amoCRM answered HTTP ${answer.status} to ${target} with a body that is not JSON${described.summary ? ` (${asClause(described.summary)})` : ''}; retryable`,
      { details: errorDetails(answer, target, scrub, described) },
    );
  }
}

export function unexpectedBody(target: string, expected: string, extra: object = {}): AppError {
  return new AppError(
    'AMOCRM_REQUEST_REJECTED',
    `amoCRM answered ${target} with JSON closeloop does not understand (expected ${expected})`,
    { httpStatus: 502, details: { target, expected, ...extra } },
  );
}

export interface DescribedBody {
  /** One line for a person: the problem's title and detail, or an HTML page's title. */
  summary: string | null;
  problem?: {
    title?: string;
    detail?: string;
    hint?: string;
    validationErrors?: Array<{ requestId?: string; code?: string; path?: string; detail?: string }>;
  };
}

/**
 * What amoCRM said, from an error body: problem+json (§6) or an HTML page (429/403 from nginx,
 * §5), or plain text. Never longer than a line or two.
 */
export function describeErrorBody(answer: RawAnswer, scrub: Scrub): DescribedBody {
  const text = scrub(answer.text).trim();
  if (text === '') return { summary: null };
  const contentType = answer.headers.get('content-type') ?? '';
  if (contentType.includes('json') || text.startsWith('{')) {
    const problem = readProblem(text);
    if (problem) return problem;
  }
  if (contentType.includes('html') || /^<(!doctype|html|head|body|title)\b/i.test(text)) {
    const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1];
    const titleText = title === undefined ? '' : oneLine(htmlUnescape(title));
    if (titleText !== '') return { summary: titleText };
    const stripped = text
      .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(/<[^>]*>/g, ' ');
    return { summary: oneLine(htmlUnescape(stripped)).slice(0, SNIPPET_CHARS) || null };
  }
  return { summary: oneLine(text).slice(0, SNIPPET_CHARS) };
}

function readProblem(text: string): DescribedBody | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(parsed)) return null;
  const body = parsed as AmoProblemJson;
  const title = stringOrUndefined(body.title);
  const detail = stringOrUndefined(body.detail);
  const hint = stringOrUndefined(body.hint);
  const validationErrors: NonNullable<NonNullable<DescribedBody['problem']>['validationErrors']> =
    [];
  for (const entity of Array.isArray(body['validation-errors']) ? body['validation-errors'] : []) {
    if (!isRecord(entity) || !Array.isArray(entity.errors)) continue;
    for (const e of entity.errors as unknown[]) {
      if (!isRecord(e)) continue;
      validationErrors.push({
        requestId: stringOrUndefined(entity.request_id),
        code: stringOrUndefined(e.code),
        path: stringOrUndefined(e.path),
        detail: stringOrUndefined(e.detail),
      });
    }
  }
  const parts = [title, detail, hint].filter((p): p is string => p !== undefined && p !== '');
  const unique = parts.filter((p, i) => parts.indexOf(p) === i);
  let summary = unique.join(': ');
  if (validationErrors.length > 0) {
    const listed = validationErrors
      .slice(0, 5)
      .map((v) =>
        [v.path, v.detail ?? v.code].filter((p) => p !== undefined && p !== '').join(': '),
      )
      .join('; ');
    const more = validationErrors.length > 5 ? ` (and ${validationErrors.length - 5} more)` : '';
    summary = `${summary}${summary ? ' — ' : ''}${listed}${more}`;
  }
  return {
    summary: summary === '' ? null : summary,
    problem: {
      ...(title !== undefined && { title }),
      ...(detail !== undefined && { detail }),
      ...(hint !== undefined && { hint }),
      ...(validationErrors.length > 0 && { validationErrors }),
    },
  };
}

export function errorDetails(
  answer: RawAnswer,
  target: string,
  scrub: Scrub,
  described: DescribedBody = describeErrorBody(answer, scrub),
): Record<string, unknown> {
  return {
    target,
    status: answer.status,
    // amoCRM support asks for it (§6: "Responses carry x-request-id").
    requestId: answer.headers.get('x-request-id'),
    ...(described.problem !== undefined && { problem: described.problem }),
    body: oneLine(scrub(answer.text)).slice(0, SNIPPET_CHARS),
  };
}

export function mapPipeline(p: AmoApiPipeline): Pipeline {
  const statuses = Array.isArray(p._embedded?.statuses) ? p._embedded.statuses : [];
  return {
    id: p.id,
    name: p.name,
    isMain: p.is_main === true,
    isArchive: p.is_archive === true,
    statuses: statuses.map((s) => ({ id: s.id, name: s.name, type: s.type, sort: s.sort })),
  };
}

export function isApiLead(x: unknown): x is AmoApiLead {
  return isRecord(x) && typeof x.id === 'number' && Number.isSafeInteger(x.id);
}

export function isPipeline(x: unknown): x is AmoApiPipeline {
  return isRecord(x) && typeof x.id === 'number';
}

export function isComplexResult(x: unknown): x is AmoComplexLeadResult {
  return isRecord(x) && typeof x.id === 'number';
}

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function stringOrUndefined(x: unknown): string | undefined {
  return typeof x === 'string' ? x : undefined;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
