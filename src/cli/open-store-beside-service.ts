/**
 * Opens the store for a command, beside a service that may be running on it.
 *
 * The embedded store: no lock, no recovery of jobs in flight, no pruning. SQLite (WAL) lets both
 * work at once; the service picks up what the command enqueues at its next poll. The data folder is
 * found as `start` finds it (locateDataDir), and a command that reads it never creates it: an empty
 * store made by a command run from the wrong folder would answer "no deliveries" when the truth is
 * "wrong folder". Redis (REDIS_URL set, as for the service): the same keys the service uses
 * (CLOSELOOP_REDIS_PREFIX), and workers pick up what the command enqueues at once.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createSqliteStore } from '../adapters/store/sqlite';
import { createRedisStore } from '../adapters/store/redis';
import { AppError } from '../core/errors';
import { locateDataDir, type DataDirLocation } from '../config/locate-data-dir';
import type { Store } from '../ports/store';

export interface OpenStoreOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The config path given on the command line, if any: the data folder is beside it. */
  configPath?: string;
  /** Create the data folder and the database when they are not there (`auth`); default false. */
  create?: boolean;
  /** Appended to the message when there is no data, saying what the command needed it for. */
  missingHint?: string;
}

export interface OpenedStore {
  store: Store;
  /** The embedded store's folder; null on Redis. */
  dataDir: DataDirLocation | null;
  /** True when this call created the embedded store (only with `create`). */
  created: boolean;
}

/** The embedded store's file in a data folder. */
function databaseFile(dataDir: string): string {
  return path.join(dataDir, 'closeloop.db');
}

/** Throws AppError DATA_NOT_FOUND when the embedded store is not there and `create` is not set. */
export async function openStoreBesideService(options: OpenStoreOptions): Promise<OpenedStore> {
  const { env } = options;
  if (env.REDIS_URL) {
    const store = await createRedisStore({
      url: env.REDIS_URL,
      prefix: env.CLOSELOOP_REDIS_PREFIX || undefined,
      deliveryLogMaxRows: Number.MAX_SAFE_INTEGER,
      connectTimeoutMs: 5000,
    });
    return { store, dataDir: null, created: false };
  }
  const dataDir = locateDataDir(env, options.cwd, options.configPath);
  const exists = existsSync(databaseFile(dataDir.path));
  if (!exists && options.create !== true) {
    throw new AppError('DATA_NOT_FOUND', noDataMessage(dataDir, options.missingHint));
  }
  const store = createSqliteStore({
    dataDir: dataDir.path,
    deliveryLogMaxRows: Number.MAX_SAFE_INTEGER,
    lock: false,
  });
  return { store, dataDir, created: !exists };
}

function noDataMessage(dataDir: DataDirLocation, hint: string | undefined): string {
  const fix =
    dataDir.source === 'CLOSELOOP_DATA_DIR'
      ? 'Set CLOSELOOP_DATA_DIR to the folder the service uses (its start-up log names it: "store": "sqlite (…)")'
      : 'Run the command from the folder closeloop runs in, or set CLOSELOOP_DATA_DIR (and CLOSELOOP_CONFIG) as the service has them';
  return (
    `no closeloop data in ${dataDir.path} (${dataDir.foundBy}). ${fix}; ` +
    `if the service runs on Redis, set REDIS_URL as it has it.${hint ? ` ${hint}` : ''}`
  );
}

/** For the help of commands that read the store. */
export const STORE_HELP = `
It reads the store the service uses: the folder data beside the config
(config/closeloop.yaml → ./data) or CLOSELOOP_DATA_DIR; on Redis, REDIS_URL and
CLOSELOOP_REDIS_PREFIX as the service has them. It never creates a store: when
there is none, it says where it looked.`;
