/**
 * Text parameter values cut to GA4's length limit before validation. Pure.
 *
 * GA4 takes at most 100 characters per parameter value (research ga4-mp.md A3; 300, 420 and 1000
 * for `page_title`, `page_referrer`, `page_location`) and does not log what exceeds it. A rule
 * that sends a CRM field meets real values longer than that: the landing-page URL of research
 * amocrm.md §1.6 ex. 2 is 118 characters. Refusing the whole request for it would lose the
 * purchase riding beside it, and every replay would fail the same way, so the value is cut at the
 * limit (whole code points: GA4 counts characters, and a surrogate pair is one) and each cut is
 * reported as a warning that the delivery records. Nothing else is changed: a name, a count or a
 * type that breaks a rule is still refused by the validator, because no cut can make it right.
 */
import type { ParamScalar } from '../../../core/config-types';
import type { Ga4Payload } from './ga4-types';
import { paramValueLimit } from './ga4-payload-limits';

export interface FittedPayload {
  payload: Ga4Payload;
  /** One line per value cut: which event, which parameter, how long, to what. No values. */
  warnings: string[];
}

/** The payload with every over-long text parameter cut to its limit; the input is not changed. */
export function fitParamValues(payload: Ga4Payload): FittedPayload {
  const warnings: string[] = [];
  const events = payload.events.map((event, index) => {
    let params: Record<string, ParamScalar> | null = null;
    for (const [name, value] of Object.entries(event.params)) {
      if (typeof value !== 'string') continue;
      const limit = paramValueLimit(name);
      if (limit === null) continue;
      const chars = Array.from(value);
      if (chars.length <= limit) continue;
      params ??= { ...event.params };
      params[name] = chars.slice(0, limit).join('');
      warnings.push(
        `event ${index} (${event.name}) param [${name}] was ${chars.length} characters; cut to GA4's limit of ${limit}`,
      );
    }
    return params === null ? event : { ...event, params };
  });
  return { payload: warnings.length === 0 ? payload : { ...payload, events }, warnings };
}
