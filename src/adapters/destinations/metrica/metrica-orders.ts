/**
 * The Metrica destination's orders mode (`metrica.mode: orders`, research yandex-metrica.md §2):
 * a deal is one CRM order whose id is the deal's id, and each event the rules send for it sets the
 * order's status (`order_statuses`: a new lead → IN_PROGRESS, a purchase → PAID, a refund or a
 * lost deal → CANCELLED), with the event's amount as revenue. What deal life sends after a win (a
 * refund, then a purchase with the new amount; a refund when the deal is lost) thus corrects the
 * same order, where an offline conversion could only be counted a second time.
 *
 * Orders are matched by ClientID only: simple_orders takes no yclid, and closeloop sends no e-mail
 * or phone (personal data). `create_date_time` is when the deal was created (the visit before it is
 * the one Metrica links), else when the event happened; an order can be updated for 111 days after
 * its visit, so a change later than that is refused as expired.
 */
import type { Identities } from '../../../core/deal';
import { DeliveryError, ExpiredError, RetryableError } from '../../../core/errors';
import { normalizeYmClientId } from '../../../core/identities';
import type { OutboxEntry } from '../../../ports/conversion-outbox';
import type { DeliveryRequest, IdentifyContext, IdentifyResult } from '../../../ports/destination';
import { priceOf } from './build-csv';
import type { MetricaUploading } from './metrica-upload-client';
import { METRICA_ORDER_UPDATE_MS, type MetricaSettings } from './metrica-settings';

/** The CRM data API's simple_orders URL of a counter (its query, merge_mode etc., apart). */
export function ordersPath(where: { endpoint: string; counterId: string }): string {
  return `${where.endpoint}/cdp/api/v1/counter/${where.counterId}/data/simple_orders`;
}

export function identifyOrder(identities: Identities, context: IdentifyContext): IdentifyResult {
  const clientId = normalizeYmClientId(identities.ymClientId);
  if (clientId !== null) return { identity: { ymClientId: clientId } };
  const how =
    context.lookup === 'read' ? 'the deal, read through the CRM’s API, has' : 'the deal has';
  const yclid = identities.yclid?.trim()
    ? ' (a yclid alone does not do: CRM orders take none)'
    : '';
  return {
    skip: {
      code: 'METRICA_NO_IDENTITY',
      reason: `${how} no Metrica ClientID (_ym_uid), which CRM orders (metrica.mode: orders) are matched by${yclid}; is the form snippet on the site, with the Metrica tag?`,
    },
  };
}

/**
 * The order's new state, one outbox entry per delivery: of the request's events, the last one
 * `order_statuses` names decides (deal life puts a refund before the purchase that replaces it).
 */
export function orderEntries(
  settings: MetricaSettings,
  queue: string,
  request: DeliveryRequest,
  nowMs: number,
): OutboxEntry[] {
  const clientId = request.identity.ymClientId;
  if (clientId === undefined) {
    throw new DeliveryError('METRICA_NO_IDENTITY', 'the delivery carries no Metrica ClientID');
  }
  const created = request.dealCreatedAtMs ?? request.occurredAtMs ?? nowMs;
  if (nowMs - created > METRICA_ORDER_UPDATE_MS) {
    throw new ExpiredError(
      'METRICA_CONVERSION_EXPIRED',
      `expired: the deal was created ${Math.floor((nowMs - created) / 86_400_000)} days ago, and Metrica updates an order at most 111 days after its visit; not uploaded`,
    );
  }
  const i = request.events.findLastIndex((e) => Object.hasOwn(settings.orderStatuses, e.name));
  const event = request.events[i];
  if (event === undefined) return [];
  const price = priceOf(event.params.value);
  return [
    {
      key: request.keys?.[i] ?? `${queue}:${request.account}:${request.dealId}:${event.name}`,
      queue,
      idType: 'ClientId',
      visitor: clientId,
      target: settings.orderStatuses[event.name]!,
      // Never in the future, like every time Metrica is given.
      dateTime: Math.min(Math.floor(created / 1000), Math.floor(nowMs / 1000) - 1),
      price,
      currency:
        price !== null && typeof event.params.currency === 'string' ? event.params.currency : null,
      addedAt: nowMs,
      trace: request.trace ?? null,
      orderId: request.dealId,
    },
  ];
}

/** What the delivery log shows of an order row (the CSV's columns, before the time zone). */
export function orderRows(entries: readonly OutboxEntry[]): Array<Record<string, unknown>> {
  return entries.map((e) => ({
    id: e.orderId,
    create_date_time: e.dateTime,
    client_ids: e.visitor,
    order_status: e.target,
    revenue: e.price,
    currency: e.currency,
  }));
}

/**
 * A simple_orders answer: `{"uploading":{"uploading_id","api_validation_status":"PASSED|FAILED",
 * "elements_count",…}}` (research §2). FAILED: Metrica would not take the file, for good.
 */
export function ordersUploadingOf(raw: unknown): MetricaUploading {
  const u = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const id = u.uploading_id;
  if (typeof id !== 'string' && typeof id !== 'number') {
    // Taken or not, a resend is harmless (SAVE).
    throw new RetryableError('METRICA_UNAVAILABLE', 'Metrica answered without an uploading_id', {
      maybeDelivered: true,
    });
  }
  const status = typeof u.api_validation_status === 'string' ? u.api_validation_status : 'UNKNOWN';
  if (status === 'FAILED') {
    throw new DeliveryError(
      'METRICA_UPLOAD_REJECTED',
      `Metrica answered api_validation_status FAILED for CRM orders upload ${String(id)}: it could not read the orders file; the batch is not sent again. Report it as a closeloop bug with this message; the queue stays stopped until closeloop metrica resume`,
      { details: { status: 400, errorType: 'api_validation_failed', stopsQueue: true } },
    );
  }
  return {
    id: String(id),
    status,
    comment: null,
    createTime: typeof u.datetime === 'string' ? u.datetime : null,
    counts: null,
  };
}
