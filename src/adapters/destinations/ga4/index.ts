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
 * 2. cut text parameter values over GA4's length limit (`fit-param-values.ts`: a 118-character
 *    landing URL must not lose the purchase beside it), each cut a warning recorded with the
 *    delivery and logged once;
 * 3. validate every payload (`validate-ga4-payload.ts`), because GA4 answers 2xx to payloads it
 *    drops: one problem anywhere and nothing is sent (`GA4_PAYLOAD_INVALID`, every problem listed);
 * 4. in dry run, return what would have been sent;
 * 5. otherwise send the requests one after another (`ga4-client.ts`).
 */
import type { Identities } from '../../../core/deal';
import { normalizeGaClientId, parseGaSessionId } from '../../../core/identities';
import type { Ga4Settings } from './ga4-settings';
import { DeliveryError } from '../../../core/errors';
import { asClause } from '../../../core/error-message';
import { validateGa4Payload, type Ga4Problem } from './validate-ga4-payload';
import type {
  ConversionEvent,
  DeliveryRequest,
  DeliveryResult,
  Destination,
  IdentifyContext,
  IdentifyResult,
  RecordedRequest,
} from '../../../ports/destination';
import { buildGa4Requests, type Ga4HttpRequest } from './build-request';
import { fitParamValues } from './fit-param-values';
import { sendGa4Request, type PostImpl } from './ga4-client';

export {
  buildDebugUrl,
  buildGa4Requests,
  redactGa4Url,
  type Ga4HttpRequest,
} from './build-request';
export { sendGa4Request } from './ga4-client';
export type { Ga4Event, Ga4Payload } from './ga4-types';

export type { Ga4Settings } from './ga4-settings';

export interface Ga4DestinationOptions {
  /** Unique in the process (the ledger keys' first part): `ga4`, or `<account>/ga4`. */
  id?: string;
  /** Injected in tests; node:http(s) by default. */
  postImpl?: PostImpl;
  /** Where a delivery whose values were cut says so (one line per delivery). */
  logger?: { warn(message: string, meta?: Record<string, unknown>): unknown };
}

/** A request as built, its over-long values cut, and what was cut. */
interface FittedRequest extends Ga4HttpRequest {
  warnings: string[];
}

export class Ga4Destination implements Destination {
  readonly name = 'ga4';
  readonly label = 'GA4';
  readonly id: string;
  readonly dryRun: boolean;
  readonly dryRunReason: string | null;
  private readonly settings: Ga4Settings;
  private readonly postImpl: PostImpl | undefined;
  private readonly logger: Ga4DestinationOptions['logger'];

  constructor(settings: Ga4Settings, options: Ga4DestinationOptions = {}) {
    this.settings = settings;
    this.id = options.id ?? 'ga4';
    this.postImpl = options.postImpl;
    this.logger = options.logger;
    // Without both credentials a request could only be dropped by GA4 (or refused), so it is a
    // dry run whatever the flag says (DESIGN.md: without credentials it runs in dry-run mode).
    this.dryRunReason =
      !settings.measurementId || !settings.apiSecret
        ? 'GA4 credentials are not set'
        : settings.dryRun
          ? 'ga4.dry_run is true'
          : null;
    this.dryRun = this.dryRunReason !== null;
  }

  /**
   * GA4 deduplicates purchases (and refunds) by `transaction_id` (research ga4-mp.md A5: documented
   * for web streams; for Measurement Protocol hits UNCONFIRMED); lead events have no dedupe.
   */
  deduplicates(event: ConversionEvent): boolean {
    const id = event.params.transaction_id;
    return typeof id === 'string' ? id.trim() !== '' : typeof id === 'number';
  }

  /**
   * GA4 attributes a conversion through the visitor's client ID, exactly as the site's GA tag made
   * it, and the session ID when there is one (research ga4-mp.md A2, A4): a deal without a usable
   * client ID cannot reach GA4, and is recorded as skipped with why.
   */
  identify(identities: Identities, context: IdentifyContext): IdentifyResult {
    const raw = identities.gaClientId;
    const clientId = normalizeGaClientId(raw);
    if (clientId === null) {
      if (raw !== null && raw.trim() !== '') {
        return {
          skip: {
            code: 'LEAD_CLIENT_ID_INVALID',
            reason: `the client-ID field holds "${raw.slice(0, 60)}", which is not a GA client ID`,
          },
        };
      }
      return { skip: { code: 'LEAD_NO_CLIENT_ID', reason: noClientIdReason(context) } };
    }
    const sessionId = parseGaSessionId(identities.gaSessionId);
    return { identity: sessionId === null ? { clientId } : { clientId, sessionId } };
  }

  async deliver(request: DeliveryRequest, nowMs: number): Promise<DeliveryResult> {
    const requests = buildGa4Requests(this.settings, request, nowMs).map(fitRequest);
    const warnings = requests.flatMap((r) => r.warnings);
    if (warnings.length > 0) {
      this.logger?.warn('GA4: parameter values over the length limit were cut', {
        destination: this.id,
        dealId: request.dealId,
        warnings,
      });
    }
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

/** Why the deal has no client ID, saying what was tried to read it. */
function noClientIdReason({ fieldsKnown, lookup }: IdentifyContext): string {
  const snippet = '(is the form snippet on the site?)';
  switch (lookup) {
    case 'read':
      return `the deal, read through the CRM’s API, has no GA client ID ${snippet}`;
    case 'not_found':
      return 'the deal was not found through the CRM’s API (deleted, or not in this account), so there is no GA client ID';
    case 'other_account':
      return 'the event names another CRM account than the one closeloop is configured for, so the deal was not read and has no GA client ID';
    case 'no_access':
      return fieldsKnown
        ? `the webhook carried no GA client ID and closeloop has no API access to read the deal ${snippet}`
        : 'the webhook carried no deal fields and closeloop has no API access to read them, so there is no GA client ID';
    case undefined:
      return fieldsKnown
        ? `the deal has no GA client ID ${snippet}`
        : 'the CRM sent no deal fields and they could not be read through its API, so there is no GA client ID';
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

function fitRequest(req: Ga4HttpRequest): FittedRequest {
  const { payload, warnings } = fitParamValues(req.payload);
  if (warnings.length === 0) return { ...req, warnings };
  return { ...req, payload, body: JSON.stringify(payload), warnings };
}

function record(req: FittedRequest, status: number | null): RecordedRequest {
  return {
    url: req.redactedUrl,
    payload: req.payload,
    status,
    ...(req.warnings.length === 0 ? {} : { warnings: req.warnings }),
  };
}
