/**
 * Yandex Metrica destination: won deals as offline conversions of one counter (research
 * yandex-metrica.md §1, §8).
 *
 * Settings (YAML `metrica:`, environment `METRICA_*`; config.ts): the counter, its OAuth token, the
 * goals (a rule's event name → the identifier of a JavaScript-event goal, `close_convert_lead` →
 * `deal_won` by default), how often batches are uploaded and their statuses read.
 *
 * What it does, for one deal's conversions:
 * 1. `accepts` the events its goals name; `identify` picks the visitor's Metrica ClientID
 *    (`_ym_uid`, 17–20 digits), else the yclid of the Direct click;
 * 2. `deliver` turns each into an outbox entry (goal, Unix seconds never in the future, the
 *    `value` as Price with a dot, its currency), refusing one past the 21-day window, and stores it
 *    durably in the outbox (ConversionOutbox), once per conversion key;
 * 3. the uploader (metrica-uploader.ts) uploads the outbox in batches, reads each upload's status
 *    until it is final, and writes what became of each conversion into its delivery-log row.
 *
 * Metrica counts every row it is given (no dedupe, research §8.4): the outbox and the upload ids are
 * what make "never twice" hold, so `deduplicates` is false and `resendsSafely` true.
 *
 * With `mode: orders` the same steps carry CRM orders instead (metrica-orders.ts): one order per
 * deal, its status set by the events `order_statuses` names, uploaded with `merge_mode=SAVE`, which
 * replaces the order by its id, so `deduplicates` is true.
 */
import type { Identities } from '../../../core/deal';
import { DeliveryError, ExpiredError } from '../../../core/errors';
import { normalizeYmClientId } from '../../../core/identities';
import type { ConversionOutbox, OutboxEntry, OutboxIdType } from '../../../ports/conversion-outbox';
import type {
  ConversionEvent,
  DeliveryRequest,
  DeliveryResult,
  Destination,
  IdentifyContext,
  IdentifyResult,
} from '../../../ports/destination';
import { priceOf } from './build-csv';
import { METRICA_WINDOW_MS, type MetricaSettings } from './metrica-settings';
import { identifyOrder, orderEntries, orderRows, ordersPath } from './metrica-orders';

export type { MetricaSettings } from './metrica-settings';

/** A yclid is the digits Direct appends to the landing URL (research §6). */
const YCLID = /^\d{1,40}$/;

export interface MetricaDestinationOptions {
  /** Unique in the process (the ledger keys' first part): `metrica`, or `<account>/metrica`. */
  id?: string;
  outbox: ConversionOutbox;
}

export class MetricaDestination implements Destination {
  readonly name = 'metrica';
  readonly label = 'Yandex Metrica';
  readonly id: string;
  readonly dryRun: boolean;
  readonly dryRunReason: string | null;
  readonly resendsSafely = true;
  /** An order is replaced by its id (merge_mode=SAVE): every correction of a deal reaches it. */
  readonly correctsInPlace: boolean;
  /** `mode: orders`: CRM orders rather than offline conversions. */
  private readonly orders: boolean;

  constructor(
    readonly settings: MetricaSettings,
    private readonly options: MetricaDestinationOptions,
  ) {
    this.id = options.id ?? 'metrica';
    this.orders = settings.mode === 'orders';
    this.correctsInPlace = this.orders;
    this.dryRunReason =
      settings.token === null
        ? 'the Metrica token (METRICA_TOKEN) is not set'
        : settings.dryRun
          ? 'metrica.dry_run is true'
          : null;
    this.dryRun = this.dryRunReason !== null;
  }

  accepts(event: ConversionEvent): boolean {
    const names = this.orders ? this.settings.orderStatuses : this.settings.goals;
    return Object.hasOwn(names, event.name);
  }

  /** No dedupe of offline conversions (research §8.4); an order is kept by its id (§2). */
  deduplicates(): boolean {
    return this.orders;
  }

  identify(identities: Identities, context: IdentifyContext): IdentifyResult {
    if (this.orders) return identifyOrder(identities, context);
    const clientId = normalizeYmClientId(identities.ymClientId);
    if (clientId !== null) return { identity: { ymClientId: clientId } };
    const yclid = identities.yclid?.trim() ?? '';
    if (YCLID.test(yclid)) return { identity: { yclid } };
    const raw = identities.ymClientId?.trim() ?? '';
    const bad =
      raw === '' ? '' : ` (the ClientID field holds "${raw.slice(0, 40)}", not 17–20 digits)`;
    const how =
      context.lookup === 'read' ? 'the deal, read through the CRM’s API, has' : 'the deal has';
    return {
      skip: {
        code: 'METRICA_NO_IDENTITY',
        reason: `${how} no Metrica ClientID (_ym_uid) and no yclid${bad}, so Metrica cannot attribute it (is the form snippet on the site, with the Metrica tag?)`,
      },
    };
  }

  async deliver(request: DeliveryRequest, nowMs: number): Promise<DeliveryResult> {
    if (this.orders) {
      const entries = orderEntries(this.settings, this.id, request, nowMs);
      return this.queued(entries, ordersPath(this.settings), orderRows(entries));
    }
    const { idType, visitor } = visitorOf(request.identity);
    const nowSec = Math.floor(nowMs / 1000);
    const happened = request.occurredAtMs ?? nowMs;
    if (nowMs - happened > METRICA_WINDOW_MS) {
      throw new ExpiredError(
        'METRICA_CONVERSION_EXPIRED',
        `expired: the conversion happened ${Math.floor((nowMs - happened) / 86_400_000)} days ago, and Metrica links a conversion only to a visit within 21 days before it; not uploaded`,
      );
    }
    const entries: OutboxEntry[] = request.events.map((event, i) => ({
      key: request.keys?.[i] ?? `${this.id}:${request.account}:${request.dealId}:${event.name}`,
      queue: this.id,
      idType,
      visitor,
      target: this.settings.goals[event.name]!,
      // Never in the future: Metrica refuses a DateTime still to come (research §1.3).
      dateTime: Math.min(Math.floor(happened / 1000), nowSec - 1),
      price: priceOf(event.params.value),
      currency: typeof event.params.currency === 'string' ? event.params.currency : null,
      addedAt: nowMs,
      trace: request.trace ?? null,
    }));
    const rows = entries.map(({ target, dateTime, price, currency }) => ({
      [idType]: visitor,
      Target: target,
      DateTime: dateTime,
      Price: price,
      Currency: price === null ? null : currency,
    }));
    const url = `${this.settings.endpoint}/management/v1/counter/${this.settings.counterId}/offline_conversions/upload`;
    return this.queued(entries, url, rows);
  }

  private async queued(
    entries: OutboxEntry[],
    url: string,
    rows: Array<Record<string, unknown>>,
  ): Promise<DeliveryResult> {
    if (this.dryRun)
      return { outcome: 'dry_run', requests: [{ url, payload: rows, status: null }] };
    await this.options.outbox.add(entries);
    return {
      outcome: 'sent',
      requests: [{ url, payload: rows, status: null }],
      note: `queued for the next upload to Metrica counter ${this.settings.counterId} (at most ${Math.round(this.settings.flushMs / 1000)} s); this row shows the upload and its status once known`,
    };
  }
}

function visitorOf(identity: Readonly<Record<string, string>>): {
  idType: OutboxIdType;
  visitor: string;
} {
  if (identity.ymClientId !== undefined)
    return { idType: 'ClientId', visitor: identity.ymClientId };
  if (identity.yclid !== undefined) return { idType: 'Yclid', visitor: identity.yclid };
  throw new DeliveryError('METRICA_NO_IDENTITY', 'the delivery carries no Metrica identity');
}
