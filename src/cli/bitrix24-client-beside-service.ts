/**
 * The Bitrix24 client of a command (`statuses`, `reconcile`, `bitrix24 create-fields`). The
 * incoming webhook needs no stored tokens, so without Redis the command opens nothing and paces
 * itself (the portal's bucket is shared per source IP, research bitrix24.md §4.1, and a command's
 * few calls fit in its burst); on Redis, or with a store the command opened anyway, it shares the
 * service's bucket.
 */
import type { Bitrix24RestSettings } from '../adapters/crm/bitrix24/config';
import type { Bitrix24Client } from '../adapters/crm/bitrix24/bitrix24-client';
import { createBitrix24Client } from '../adapters/crm/bitrix24/create-bitrix24-client';
import { InProcessPacedLimiter } from '../adapters/rate-limit/in-process-paced-limiter';
import type { Store } from '../ports/store';
import type { CliIo } from './cli-io';

export function bitrix24ClientOf(
  rest: Bitrix24RestSettings,
  io: CliIo,
  store: Pick<Store, 'createPacedLimiter'> | null,
): Bitrix24Client {
  return createBitrix24Client(rest, {
    store: store ?? { createPacedLimiter: (policy) => new InProcessPacedLimiter(policy) },
    logger: { warn: (m) => io.err(m), error: (m) => io.err(m) },
  });
}

/** The message of a command that needs Bitrix24 REST when it is not set up. */
export const NO_BITRIX24_REST =
  'Bitrix24 needs its incoming webhook: set BITRIX24_WEBHOOK_URL to https://<portal>/rest/<user>/<secret>/ (Applications → Developer resources → Other → Incoming webhook, with the crm scope), or bitrix24.webhook_url in the config.';
