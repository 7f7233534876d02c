/**
 * GA4 Measurement Protocol wire types, in Google's spelling (research ga4-mp.md A2). Only the keys
 * closeloop sends are modelled; the validator (src/core/ga4/validate-ga4-payload.ts) knows the rest.
 */
import type { ParamScalar } from '../../../core/config-types';

/** One event. `engagement_time_msec` and `session_id` ride in `params` (research A4). */
export interface Ga4Event {
  name: string;
  params: Record<string, ParamScalar>;
}

/** The JSON body of `POST /mp/collect`: one `client_id`, at most 25 events. */
export interface Ga4Payload {
  client_id: string;
  /**
   * Unix time in microseconds (16 digits), not milliseconds. Only for events that happened at most
   * 72 hours ago; without it GA uses the time of receipt (research A2).
   */
  timestamp_micros?: number;
  events: Ga4Event[];
}

/** `/debug/mp/collect` answer (research A1). */
export interface Ga4ValidationResponse {
  validationMessages: Array<{
    fieldPath?: string;
    description: string;
    validationCode: string;
  }>;
}
