/**
 * A small client of Metrica's Management API for setting up a counter (research yandex-metrica.md
 * §3, §4, §5): list the counter's goals, create the JavaScript-event goal offline conversions are
 * uploaded to, and find out whether the token may upload.
 *
 * - Every request sends `Authorization: OAuth <token>` (the word and one space; Yandex's own Python
 *   sample forgets the space), has a timeout, follows no redirect, and reads at most
 *   MAX_ERROR_BODY_BYTES of an answer; messages quote at most 300 characters of Metrica's own and
 *   never the token.
 * - 401, 403 and 404 and other 4xx are METRICA_SETUP_REFUSED, with what to do; 429, 5xx, timeouts
 *   and network failures METRICA_SETUP_UNAVAILABLE.
 * - No side-effect-free write-scope check is documented (§8.7 pitfall 5). `probeUpload` sends the
 *   upload endpoint a multipart body without a `file` part: a token that may upload gets 400 "Не
 *   найден параметр запроса." (nothing is uploaded), one that may not gets 403. That Metrica checks
 *   the token before the body is inferred, not documented; the first real upload is the proof.
 */
import { AppError, RetryableError } from '../../../core/errors';
import { MAX_ERROR_BODY_BYTES, readLimitedText } from '../../read-limited-response';
import { withTimeout } from '../../with-timeout';
import './metrica-management-errors';

export interface MetricaManagementSettings {
  /** Base URL, `https://api-metrika.yandex.net` (or a proxy or test server). */
  endpoint: string;
  token: string;
  counterId: string;
  timeoutMs?: number;
}

export interface MetricaGoalCondition {
  type: string;
  url: string;
}

export interface MetricaGoal {
  id: number;
  name: string;
  type: string;
  conditions: MetricaGoalCondition[];
}

export type UploadProbe = { canUpload: true } | { canUpload: false; why: string };

const DEFAULT_TIMEOUT_MS = 10_000;
const QUOTED = 300;

/** Why Metrica said no, and what the person does about it. */
export function explainRefusal(status: number, body: string, scopeNeeded: string): string {
  let errorType = '';
  let said: string;
  try {
    const parsed = JSON.parse(body) as {
      errors?: Array<{ error_type?: string; message?: string }>;
      message?: string;
    };
    errorType = parsed.errors?.[0]?.error_type ?? '';
    said = parsed.errors?.[0]?.message ?? parsed.message ?? '';
  } catch {
    said = body;
  }
  const quoted = said.replace(/\s+/g, ' ').trim().slice(0, QUOTED);
  const answer = `Metrica answered ${status}${errorType ? ` ${errorType}` : ''}${quoted ? `: "${quoted}"` : ''}`;
  const newToken = 'get a new token (docs/metrica.md, "The token") and set METRICA_TOKEN';
  if (status === 401 || errorType === 'invalid_token' || errorType === 'unauthorized') {
    return `${answer}. The token is missing, expired or revoked: ${newToken}.`;
  }
  if (status === 403) {
    return `${answer}. The token lacks the scope ${scopeNeeded}, or its Yandex login has no access to counter's settings: ${newToken} with that scope, or ask the counter's owner for edit access.`;
  }
  if (status === 404) return `${answer}. No such counter: check METRICA_COUNTER_ID.`;
  return `${answer}.`;
}

export class MetricaManagementApi {
  readonly #settings: MetricaManagementSettings;

  constructor(settings: MetricaManagementSettings) {
    this.#settings = settings;
  }

  async listGoals(): Promise<MetricaGoal[]> {
    const answer = await this.#request('GET', 'goals', 'metrika:read');
    return parseGoals(answer.body);
  }

  /** Creates a JavaScript-event goal whose identifier `identifier` matches exactly (§5). */
  async createJsEventGoal(identifier: string, name: string): Promise<MetricaGoal> {
    const body = JSON.stringify({
      goal: { name, type: 'action', conditions: [{ type: 'exact', url: identifier }] },
    });
    const answer = await this.#request('POST', 'goals', 'metrika:write', body);
    const goal = parseGoals(`{"goals":[${JSON.stringify(parseJson(answer.body).goal ?? null)}]}`);
    if (!goal[0])
      throw refused(`Metrica answered the new goal without it: ${answer.body.slice(0, QUOTED)}`);
    return goal[0];
  }

  /** Whether the token may upload offline conversions, without uploading any (see above). */
  async probeUpload(): Promise<UploadProbe> {
    const form = new FormData();
    form.append('probe', 'closeloop metrica check: no file, nothing to upload');
    try {
      await this.#request(
        'POST',
        'offline_conversions/upload?type=BASIC',
        'metrika:offline_data (or metrika:write)',
        form,
      );
      return {
        canUpload: false,
        why: 'Metrica took a request without a file, which it never should',
      };
    } catch (e) {
      if (e instanceof AppError && e.code === 'METRICA_SETUP_REFUSED') {
        const status = (e.details as { status?: number } | undefined)?.status;
        if (status === 400) return { canUpload: true };
        return { canUpload: false, why: e.message };
      }
      throw e;
    }
  }

  async #request(
    method: 'GET' | 'POST',
    path: string,
    scope: string,
    body?: string | FormData,
  ): Promise<{ status: number; body: string }> {
    const { endpoint, token, counterId } = this.#settings;
    const timeoutMs = this.#settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const url = `${endpoint.replace(/\/+$/, '')}/management/v1/counter/${encodeURIComponent(counterId)}/${path}`;
    const controller = new AbortController();
    const what = `${method} …/counter/${counterId}/${path.split('?')[0] ?? ''}`;
    const work = (async () => {
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: {
            Authorization: `OAuth ${token}`,
            ...(typeof body === 'string' ? { 'Content-Type': 'application/json' } : {}),
          },
          ...(body === undefined ? {} : { body }),
          redirect: 'manual',
          signal: controller.signal,
        });
      } catch (e) {
        throw new RetryableError(
          'METRICA_SETUP_UNAVAILABLE',
          `could not reach Metrica at ${new URL(url).origin} (${what}): ${(e as Error).message}`,
          { cause: e },
        );
      }
      const text = await readLimitedText(response, MAX_ERROR_BODY_BYTES);
      return { status: response.status, body: text };
    })();
    const answer = await withTimeout(work, timeoutMs, () => {
      controller.abort();
      return new RetryableError(
        'METRICA_SETUP_UNAVAILABLE',
        `Metrica did not answer ${what} within ${timeoutMs} ms`,
      );
    });
    if (answer.status >= 200 && answer.status < 300) return answer;
    const explained = explainRefusal(answer.status, answer.body, scope);
    if (answer.status === 429 || answer.status >= 500) {
      throw new RetryableError(
        'METRICA_SETUP_UNAVAILABLE',
        `${what}: ${explained} Try again later.`,
      );
    }
    if (answer.status >= 300 && answer.status < 400) {
      throw refused(
        `${what}: Metrica answered a redirect (${answer.status}); check METRICA_ENDPOINT.`,
      );
    }
    throw refused(`${what}: ${explained}`, answer.status);
  }
}

const refused = (message: string, status?: number): AppError =>
  new AppError('METRICA_SETUP_REFUSED', message, {
    httpStatus: 502,
    details: status === undefined ? undefined : { status },
  });

function parseJson(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    throw refused(`Metrica answered something that is not JSON: ${text.slice(0, QUOTED)}`);
  }
}

function parseGoals(text: string): MetricaGoal[] {
  const goals = parseJson(text).goals;
  if (!Array.isArray(goals)) throw refused('Metrica answered goals without a "goals" list');
  return goals.flatMap((g: unknown): MetricaGoal[] => {
    if (typeof g !== 'object' || g === null) return [];
    const r = g as Record<string, unknown>;
    const conditions = Array.isArray(r.conditions) ? (r.conditions as unknown[]) : [];
    return [
      {
        id: Number(r.id),
        name: typeof r.name === 'string' ? r.name : '',
        type: typeof r.type === 'string' ? r.type : '',
        conditions: conditions.flatMap((c) => {
          const x = c as Record<string, unknown> | null;
          return x && typeof x.type === 'string' && typeof x.url === 'string'
            ? [{ type: x.type, url: x.url }]
            : [];
        }),
      },
    ];
  });
}

/** What the counter has for `identifier`: the exact JavaScript-event goal, or near misses. */
export function findJsEventGoal(
  goals: readonly MetricaGoal[],
  identifier: string,
): { exact: MetricaGoal | null; nearMisses: MetricaGoal[] } {
  const exact =
    goals.find(
      (g) =>
        g.type === 'action' && g.conditions.some((c) => c.type === 'exact' && c.url === identifier),
    ) ?? null;
  const nearMisses = exact
    ? []
    : goals.filter((g) => g.conditions.some((c) => c.url === identifier) || g.name === identifier);
  return { exact, nearMisses };
}
