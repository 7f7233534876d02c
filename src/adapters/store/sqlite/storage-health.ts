/**
 * Whether the embedded store can take writes now, for `/healthz`: a load balancer or an operator
 * must see "unhealthy, and why" while the disk is full, read-only or the file damaged, not "ok".
 *
 * Three signs, cheapest first: the free space of the data folder's disk (statfs; below
 * `minFreeBytes` SQLite is about to fail), the outcome of the last group commit (a write that
 * failed and no write since that succeeded), and a probe: one tiny write through the commit
 * group, at most every `probeEveryMs`, so a check costs no fsync of its own most of the time.
 */
import fs from 'node:fs';
import { AppError } from '../../../core/errors';
import type { CommitGroup } from './commit-group';
import type { SqliteDatabase } from './open-sqlite-database';
import { explainStorageError } from './storage-problems';

export interface StorageHealthOptions {
  dataDir: string;
  file: string;
  /** Unhealthy below this much free space on the data folder's disk. */
  minFreeBytes: number;
  probeEveryMs: number;
  now: () => number;
}

export const DEFAULT_MIN_FREE_BYTES = 64 * 1024 * 1024;

export class StorageHealth {
  private lastFailure: unknown = null;
  private probedAt = Number.NEGATIVE_INFINITY;
  private readonly probe;

  constructor(
    db: SqliteDatabase,
    private readonly group: CommitGroup,
    private readonly options: StorageHealthOptions,
  ) {
    this.probe = db.prepare(
      `INSERT INTO kv (key, value) VALUES ('health.probe', ?)
       ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
    );
  }

  /** The commit group's report after each commit: null when it committed. */
  readonly noteCommit = (error: unknown): void => {
    this.lastFailure = error;
  };

  /** Resolves when the store can write; else throws STORE_UNAVAILABLE saying why and what to do. */
  async check(): Promise<void> {
    const { dataDir, file, minFreeBytes, now } = this.options;
    const free = freeBytes(dataDir);
    if (free !== null && free < minFreeBytes) {
      throw unhealthy(
        `the disk holding ${dataDir} is almost full: ${megabytes(free)} free, and closeloop needs ${megabytes(minFreeBytes)}. ` +
          'Fix: free space on it, or move CLOSELOOP_DATA_DIR to a larger disk',
      );
    }
    if (this.lastFailure !== null) throw unhealthy(explainStorageError(this.cause(), file));
    if (now() - this.probedAt < this.options.probeEveryMs) return;
    try {
      await this.group.run(() => this.probe.run(String(now())));
      this.probedAt = now();
    } catch (e) {
      throw unhealthy(explainStorageError(causeOf(e), file));
    }
  }

  private cause(): unknown {
    return causeOf(this.lastFailure);
  }
}

/** The SQLite error under the commit group's STORE_UNAVAILABLE, which carries it as `cause`. */
function causeOf(e: unknown): unknown {
  const cause = (e as { cause?: unknown } | null)?.cause;
  return cause ?? e;
}

function unhealthy(message: string): AppError {
  return new AppError('STORE_UNAVAILABLE', message, { httpStatus: 503, retryable: true });
}

function freeBytes(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null; // statfs unavailable: the other signs still tell
  }
}

function megabytes(bytes: number): string {
  return `${Math.floor(bytes / (1024 * 1024))} MB`;
}
