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
  /** True when the token is missing, or the config asks: record, never upload. */
  dryRun: boolean;
}

/** Metrica attaches a conversion to a visit at most 21 days before it (research §1, §8.5). */
export const METRICA_WINDOW_MS = 21 * 86_400_000;
/** An upload without a final status after this long is reported (research §8.2). */
export const METRICA_STUCK_MS = 24 * 3_600_000;
/** Requests in flight per token (Yandex allows 3 per login; one is left for the customer's tools). */
export const METRICA_MAX_IN_FLIGHT = 2;
