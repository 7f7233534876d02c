/**
 * Store: the ports one backend provides together (embedded SQLite, or Redis at scale), from a
 * typed factory in src/adapters/store.
 */
import type { DeliveryLog } from './delivery-log';
import type { JobQueue } from './job-queue';
import type { Ledger } from './ledger';
import type { TokenStore } from './token-store';

export interface Store {
  readonly kind: 'sqlite' | 'redis';
  readonly queue: JobQueue;
  readonly ledger: Ledger;
  readonly deliveryLog: DeliveryLog;
  /** The amoCRM OAuth pair and its cross-process refresh lock. */
  readonly tokens: TokenStore;
  /** Small durable settings (the generated webhook secret). */
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
  /** Throws when the store cannot serve (for /healthz). */
  ping(): Promise<void>;
  /** Closes the queue (waiting for jobs in flight), then the connection. */
  close(): Promise<void>;
}
