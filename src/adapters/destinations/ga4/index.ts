/**
 * GA4 destination: conversions as Google Analytics 4 Measurement Protocol events.
 *
 * Settings (YAML `ga4:`, environment `GA4_*`):
 * - `measurementId`: the web data stream's measurement ID, `G-XXXXXXX` (GA4 Admin > Data streams >
 *   your web stream). It is not the stream ID.
 * - `apiSecret`: a Measurement Protocol API secret of the same data stream (same page >
 *   Measurement Protocol API secrets > Create). A secret of another stream is accepted by GA4 and
 *   the data silently discarded.
 * - `endpoint`: `https://www.google-analytics.com`; `https://region1.google-analytics.com` to have
 *   the data collected in the EU; or a proxy / local test server.
 * - `timeoutMs`: how long one request may take before it counts as failed and is retried.
 * - `dryRun`: true when the credentials are missing: payloads are built, validated and recorded,
 *   never sent.
 *
 * What it does, for one lead's conversions:
 * 1. build the requests (`build-request.ts`): at most 25 events per request, one `client_id`,
 *    `engagement_time_msec` and the real `session_id` on each event, `timestamp_micros` when GA4
 *    can still backdate;
 * 2. validate every payload (`validate-ga4-payload.ts`), because GA4 answers 2xx to payloads it
 *    drops: one problem anywhere and nothing is sent (`GA4_PAYLOAD_INVALID`, every problem listed);
 * 3. in dry run, return what would have been sent;
 * 4. otherwise send the requests one after another (`ga4-client.ts`).
 */
import type { Ga4Settings } from '../../../core/config-types';
import { DeliveryError } from '../../../core/errors';
import { asClause } from '../../../core/error-message';
import { validateGa4Payload, type Ga4Problem } from '../../../core/ga4/validate-ga4-payload';
import type {
  DeliveryRequest,
  DeliveryResult,
  Destination,
  RecordedRequest,
} from '../../../ports/destination';
import { buildGa4Requests, type Ga4HttpRequest } from './build-request';
import { sendGa4Request, type PostImpl } from './ga4-client';

export {
  buildDebugUrl,
  buildGa4Requests,
  redactGa4Url,
  type Ga4HttpRequest,
} from './build-request';
export { sendGa4Request } from './ga4-client';
export type { Ga4Event, Ga4Payload } from './ga4-types';

export interface Ga4DestinationOptions {
  /** Injected in tests; node:http(s) by default. */
  postImpl?: PostImpl;
}

export class Ga4Destination implements Destination {
  readonly name = 'ga4';
  readonly dryRun: boolean;
  private readonly settings: Ga4Settings;
  private readonly postImpl: PostImpl | undefined;

  constructor(settings: Ga4Settings, options: Ga4DestinationOptions = {}) {
    this.settings = settings;
    this.postImpl = options.postImpl;
    // Without both credentials a request could only be dropped by GA4 (or refused), so it is a
    // dry run whatever the flag says (DESIGN.md: without credentials it runs in dry-run mode).
    this.dryRun = settings.dryRun || !settings.measurementId || !settings.apiSecret;
  }

  async deliver(request: DeliveryRequest, nowMs: number): Promise<DeliveryResult> {
    const requests = buildGa4Requests(this.settings, request, nowMs);
    assertValidPayloads(requests, nowMs);

    if (this.dryRun) {
      return { outcome: 'dry_run', requests: requests.map((req) => record(req, null)) };
    }

    // Sequential, and all-or-nothing for the caller: if chunk 2 fails after chunk 1 was sent, the
    // whole delivery throws and is retried, so chunk 1 goes again. GA4 has no idempotency for lead
    // events (purchases are deduplicated by transaction_id only; research A5), so that can count
    // chunk 1's events twice. Accepted limitation: chunks need more than 25 events for one lead
    // and one status change, which the default rules never produce.
    const sent: RecordedRequest[] = [];
    for (const req of requests) {
      const { status } = await sendGa4Request(req, {
        timeoutMs: this.settings.timeoutMs,
        ...(this.postImpl ? { postImpl: this.postImpl } : {}),
      });
      sent.push(record(req, status));
    }
    return { outcome: 'sent', requests: sent };
  }
}

/**
 * Throws `GA4_PAYLOAD_INVALID` with every problem of every request. When the events were split
 * into several requests, each description says which request, because event indexes restart at
 * 0 in each.
 */
function assertValidPayloads(requests: readonly Ga4HttpRequest[], nowMs: number): void {
  const problems: Ga4Problem[] = [];
  requests.forEach((req, i) => {
    const found = validateGa4Payload(req.payload, {
      bodyBytes: Buffer.byteLength(req.body, 'utf8'),
      nowMs,
    });
    const prefix = requests.length > 1 ? `Request ${i + 1} of ${requests.length}: ` : '';
    for (const problem of found)
      problems.push({ ...problem, description: prefix + problem.description });
  });
  if (problems.length === 0) return;

  const n = problems.length;
  // Descriptions are sentences in Google's words; joined, they read as clauses.
  const list = problems.map((p) => `${asClause(p.description)} (${p.validationCode})`).join('; ');
  throw new DeliveryError(
    'GA4_PAYLOAD_INVALID',
    `GA4 payload has ${n} problem${n === 1 ? '' : 's'}, nothing was sent: ${list}`,
    {
      details: {
        problems,
        payload: requests.length === 1 ? requests[0]?.payload : requests.map((req) => req.payload),
      },
    },
  );
}

function record(req: Ga4HttpRequest, status: number | null): RecordedRequest {
  return { url: req.redactedUrl, payload: req.payload, status };
}
