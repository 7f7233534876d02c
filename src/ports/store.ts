/**
 * Store: the ports one backend provides together (embedded SQLite, or Redis at scale), from a
 * typed factory in src/adapters/store.
 */
import type { ConversionOutbox } from './conversion-outbox';
import type { DealStageMemory } from './deal-stage-memory';
import type { DealTrace } from './deal-trace';
import type { DeliveryLog } from './delivery-log';
import type { JobQueue } from './job-queue';
import type { Ledger } from './ledger';
import type { PacingPolicy, RateLimiter } from './rate-limiter';
import type { RequestGate } from './request-gate';
import type { RevenueLedger } from './revenue-ledger';
import type { WindowLimiter } from './window-limiter';
import type { TokenStore } from './token-store';

export interface Store {
  readonly kind: 'sqlite' | 'redis';
  readonly queue: JobQueue;
  readonly ledger: Ledger;
  /** What each destination counts for each deal once its purchase was sent. */
  readonly revenue: RevenueLedger;
  readonly deliveryLog: DeliveryLog;
  /** The amoCRM OAuth pair and its cross-process refresh lock. */
  readonly tokens: TokenStore;
  /** Each deal's last known stage, for CRMs whose webhooks do not say what changed (Bitrix24). */
  readonly dealStages: DealStageMemory;
  /** Conversions waiting for a batch upload, and the batches (Yandex Metrica). */
  readonly outbox: ConversionOutbox;
  /** Each deal's trail of what was seen and decided, for the console's deal page. */
  readonly dealTrace: DealTrace;
  /** Small durable settings (the generated webhook secret). */
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
  /**
   * Stores `value` under `key` unless the key has a value already, atomically across every
   * process sharing the store; returns the value stored (the earlier one, when there was one).
   */
  initSetting(key: string, value: string): Promise<string>;
  /**
   * A rate limiter whose limit holds for every process sharing the store (the embedded store: this
   * process; Redis: the whole deployment).
   */
  createRateLimiter(perSecond: number): RateLimiter;
  /** The same, with a vendor's limit as a pacing policy (Bitrix24's leaky bucket). */
  createPacedLimiter(policy: PacingPolicy): RateLimiter;
  /**
   * A limiter that refuses over `limit` per key in any `windowMs` (window-limiter.ts), shared like
   * createRateLimiter's; `name` keeps its keys apart from other uses (`leads`).
   */
  createWindowLimiter(name: string, limit: number, windowMs: number): WindowLimiter;
  /**
   * A gate of at most `maxInFlight` requests at once and `dailyRequests` a UTC day for one API
   * credential (request-gate.ts), shared like createRateLimiter's; `name` (never a secret: a
   * digest of the token) keeps credentials apart.
   */
  createRequestGate(name: string, maxInFlight: number, dailyRequests: number): RequestGate;
  /**
   * Takes the named lease for `ttlMs` when no one holds it, across every process sharing the store;
   * true when taken. Not released: it lapses, so "at most once per ttl" holds for periodic work
   * (the reconciliation) however many workers run it.
   */
  acquireLease(name: string, ttlMs: number): Promise<boolean>;
  /**
   * Throws, saying why and what to do, when the store cannot serve: cannot write (the embedded
   * store: disk full or nearly, read-only, damaged) or cannot be reached (Redis). For /healthz.
   */
  ping(): Promise<void>;
  /** Where the data lives, for the start-up log (never a password). */
  describe(): string;
  /** Closes the queue (waiting for jobs in flight), then the connection. */
  close(): Promise<void>;
}
