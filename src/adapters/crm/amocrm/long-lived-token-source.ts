/**
 * AccessTokenSource for a long-lived token (AMOCRM_TOKEN).
 *
 * Long-lived tokens are made by an account administrator for a private integration, last from one
 * day to five years and come without a refresh token (research amocrm.md §4). So there is nothing
 * to refresh: after a 401 the operator must generate a new one, which the client's AMOCRM_AUTH
 * error says.
 */
import type { AccessTokenSource } from '../../../ports/access-token-source';

export class LongLivedTokenSource implements AccessTokenSource {
  readonly kind = 'long-lived' as const;
  // A #private field: `util.inspect`, `console.log(source)` and JSON.stringify do not show it.
  readonly #token: string;

  constructor(token: string) {
    const trimmed = token.trim();
    // Never quote the value: it is a secret, even when it is wrong.
    if (trimmed === '') throw new RangeError('The amoCRM long-lived token is empty');
    this.#token = trimmed;
  }

  get(): Promise<string> {
    return Promise.resolve(this.#token);
  }

  refreshAfterUnauthorized(_rejected: string): Promise<string | null> {
    return Promise.resolve(null);
  }
}
