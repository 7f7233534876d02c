/** The GA4 destination's settings, as the config gives them (YAML `ga4:`, environment `GA4_*`). */
export interface Ga4Settings {
  measurementId: string | null;
  apiSecret: string | null;
  /** Base URL without a trailing slash: `https://www.google-analytics.com`. */
  endpoint: string;
  timeoutMs: number;
  /** True when credentials are missing, or the config asks: validate and record, never send. */
  dryRun: boolean;
}
