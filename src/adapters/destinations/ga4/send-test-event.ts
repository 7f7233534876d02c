/**
 * One test event through GA4's validation server (`/debug/mp/collect`, research ga4-mp.md A1): the
 * same host, query and body as a real request, answered with `validationMessages` instead of
 * being counted. The messages are GA4's own plus closeloop's local checks of the documented
 * limits (the validation server does not check everything: a wrong measurement id or an API
 * secret of another stream pass it, research §408-410). For `closeloop send-test` and the
 * console's "send a test event".
 */
import { errorMessage } from '../../../core/error-message';
import { buildDebugUrl, buildGa4Requests, redactGa4Url } from './build-request';
import { postOverHttp, type PostImpl } from './ga4-client';
import type { Ga4Settings } from './ga4-settings';
import type { Ga4ValidationResponse } from './ga4-types';
import { validateGa4Payload } from './validate-ga4-payload';

export interface Ga4TestMessage {
  /** `ga4` for the validation server's own, `closeloop` for the local checks. */
  from: 'ga4' | 'closeloop';
  validationCode: string;
  fieldPath?: string;
  description: string;
}

export interface Ga4TestResult {
  valid: boolean;
  /** Whether the validation server answered (false: unreachable, or not JSON). */
  reached: boolean;
  messages: Ga4TestMessage[];
  /** The validation server's URL, `api_secret` redacted. */
  url: string;
  /** The body as sent. */
  payload: unknown;
}

/** A client id of the documented form that no visitor has (`<random>.<seconds>`). */
export const TEST_CLIENT_ID = '555.1700000000';

export async function sendGa4TestEvent(
  settings: Ga4Settings,
  options: {
    event?: string;
    nowMs: number;
    clientId?: string;
    postImpl?: PostImpl;
  },
): Promise<Ga4TestResult> {
  const [request] = buildGa4Requests(
    settings,
    {
      account: 'default',
      dealId: 'test',
      identity: { clientId: options.clientId ?? TEST_CLIENT_ID },
      occurredAtMs: null,
      events: [{ name: options.event ?? 'closeloop_test', params: { value: 1, currency: 'USD' } }],
    },
    options.nowMs,
  );
  const url = buildDebugUrl(settings);
  const body = request!.body;
  const messages: Ga4TestMessage[] = validateGa4Payload(request!.payload, {
    bodyBytes: Buffer.byteLength(body),
    nowMs: options.nowMs,
  }).map((p) => ({ from: 'closeloop', ...p }));
  if (!settings.measurementId) {
    messages.push({
      from: 'closeloop',
      validationCode: 'VALUE_REQUIRED',
      fieldPath: 'measurement_id',
      description: 'GA4_MEASUREMENT_ID is not set: nothing can reach GA4 until it is',
    });
  }
  if (!settings.apiSecret) {
    messages.push({
      from: 'closeloop',
      validationCode: 'VALUE_REQUIRED',
      fieldPath: 'api_secret',
      description: 'GA4_API_SECRET is not set: nothing can reach GA4 until it is',
    });
  }
  const result = { url: redactGa4Url(url), payload: request!.payload };
  let answer;
  try {
    answer = await (options.postImpl ?? postOverHttp)(url, {
      headers: request!.headers,
      body,
      timeoutMs: settings.timeoutMs,
    });
  } catch (e) {
    const why = errorMessage(e).split(url).join(result.url);
    messages.push({
      from: 'closeloop',
      validationCode: 'UNREACHABLE',
      description: `the validation server did not answer: ${why}`,
    });
    return { ...result, valid: false, reached: false, messages };
  }
  let parsed: Ga4ValidationResponse | null;
  try {
    parsed = JSON.parse(answer.body) as Ga4ValidationResponse;
  } catch {
    parsed = null;
  }
  if (answer.status !== 200 || parsed === null || !Array.isArray(parsed.validationMessages)) {
    messages.push({
      from: 'closeloop',
      validationCode: 'UNEXPECTED_ANSWER',
      description: `the validation server answered HTTP ${answer.status} without validationMessages (check GA4_ENDPOINT)`,
    });
    return { ...result, valid: false, reached: false, messages };
  }
  for (const m of parsed.validationMessages.slice(0, 50)) {
    messages.push({
      from: 'ga4',
      validationCode: String(m.validationCode).slice(0, 100),
      ...(m.fieldPath === undefined ? {} : { fieldPath: String(m.fieldPath).slice(0, 200) }),
      description: String(m.description).slice(0, 1000),
    });
  }
  return { ...result, valid: messages.length === 0, reached: true, messages };
}
