/**
 * `conversions`: won deals as offline conversions (a goal hit, append-only); `orders`: deals as CRM
 * orders by id (simple_orders, `merge_mode=SAVE`), whose status and amount can be corrected later.
 */
export const METRICA_MODES = ['conversions', 'orders'] as const;
export type MetricaMode = (typeof METRICA_MODES)[number];

/** An order's status in Metrica's CRM data (research §2); a JS-event goal id means `OTHER`. */
export const ORDER_STATUSES = ['IN_PROGRESS', 'PAID', 'CANCELLED', 'SPAM'] as const;

/** The Yandex Metrica destination's settings (YAML `metrica:`, environment `METRICA_*`), one counter. */
export interface MetricaSettings {
  /** The counter's number, as text (it is an id, not an amount). */
  counterId: string;
  /** OAuth token sent as `Authorization: OAuth <token>`; null: dry run. */
  token: string | null;
  /** Base URL without a trailing slash: `https://api-metrika.yandex.net`. */
  endpoint: string;
  /** Conversions wait at most this long for a batch to fill (METRICA_FLUSH_SECONDS). */
  flushMs: number;
  /** How often an upload's status is read until it is final (METRICA_POLL_SECONDS). */
  pollMs: number;
  /** A batch is uploaded as soon as it has this many rows. */
  batchRows: number;
  timeoutMs: number;
  /** The rules' event name → the Metrica goal identifier (`Target`) it is uploaded as. */
  goals: Readonly<Record<string, string>>;
  /** API requests the login may make in a day (Yandex: 5,000, shared with other tools). */
  dailyRequests: number;
  /** What the counter gets: offline conversions (the default) or CRM orders. */
  mode: MetricaMode;
  /** Orders mode: the rules' event name → the order status it sets (`purchase` → `PAID`). */
  orderStatuses: Readonly<Record<string, string>>;
  /** Orders mode: the counter's time zone (IANA), in which Metrica reads `create_date_time`. */
  timeZone: string;
  /** True when the token is missing, or the config asks: record, never upload. */
  dryRun: boolean;
}

/** Metrica attaches a conversion to a visit at most 21 days before it (research §1, §8.5). */
export const METRICA_WINDOW_MS = 21 * 86_400_000;
/** An upload without a final status after this long is reported (research §8.2). */
export const METRICA_STUCK_MS = 24 * 3_600_000;
/** Requests in flight per token (Yandex allows 3 per login; one is left for the customer's tools). */
export const METRICA_MAX_IN_FLIGHT = 2;

/**
 * Orders mode: once linked, an order can be updated for 111 days from its visit (research §2);
 * closeloop counts them from the deal's creation.
 */
export const METRICA_ORDER_UPDATE_MS = 111 * 86_400_000;
