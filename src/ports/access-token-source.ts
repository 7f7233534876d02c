/**
 * AccessTokenSource: where the amoCRM client gets its Bearer token.
 *
 * Two kinds: a long-lived token (AMOCRM_TOKEN; it cannot be refreshed) and OAuth 2.0, whose refresh
 * tokens are single-use and rotate: a refresh must store the new pair durably before using it, and
 * only one refresh per account may run at a time, across processes (research amocrm.md §4).
 *
 * Contract:
 * - `get()` returns a token valid now (OAuth refreshes ahead of expiry).
 * - `refreshAfterUnauthorized(rejected)` is called once when the API answered 401 to `rejected`;
 *   it returns a new token, or null when there is nothing to refresh (long-lived token) or the
 *   refresh itself was refused. If another caller already refreshed since `rejected` was issued,
 *   it returns that newer token without refreshing again.
 * - Tokens never reach a log line or an error message.
 */
export interface AccessTokenSource {
  readonly kind: 'long-lived' | 'oauth';
  get(): Promise<string>;
  refreshAfterUnauthorized(rejected: string): Promise<string | null>;
}
