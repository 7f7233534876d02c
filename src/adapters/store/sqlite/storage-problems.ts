/**
 * What a storage failure of the embedded store means for the operator: which file, what is wrong
 * with it, and what to do. SQLite's and the file system's codes are specific enough to say it
 * (disk full, read-only, no permission, a damaged file); anything else is quoted as it came.
 */
import path from 'node:path';
import { asClause, errorMessage } from '../../../core/error-message';

export type StorageProblem = 'full' | 'read_only' | 'corrupt' | 'other';

const CODES: ReadonlyArray<[StorageProblem, RegExp]> = [
  ['full', /^(SQLITE_FULL|ENOSPC|EDQUOT)/],
  ['read_only', /^(SQLITE_READONLY|SQLITE_CANTOPEN|SQLITE_PERM|SQLITE_AUTH|EROFS|EACCES|EPERM)/],
  ['corrupt', /^(SQLITE_CORRUPT|SQLITE_NOTADB)/],
];

export function classifyStorageError(e: unknown): StorageProblem {
  const raw = (e as { code?: unknown } | null)?.code;
  const code = typeof raw === 'string' ? raw : '';
  return CODES.find(([, pattern]) => pattern.test(code))?.[0] ?? 'other';
}

/** One sentence: the file, the cause, the fix. */
export function explainStorageError(e: unknown, file: string): string {
  const cause = asClause(errorMessage(e));
  const folder = path.dirname(file);
  switch (classifyStorageError(e)) {
    case 'full':
      return `the disk holding ${folder} is full (${cause}). Fix: free space on it, or move CLOSELOOP_DATA_DIR to a larger disk; nothing acknowledged is lost, webhooks are answered 503 until then`;
    case 'read_only':
      return `closeloop cannot write ${file} (${cause}). Fix: make ${folder} writable by the user closeloop runs as (e.g. chown -R that user ${folder}), or set CLOSELOOP_DATA_DIR to a writable folder; a read-only disk must be remounted read-write`;
    case 'corrupt':
      return `the embedded store ${file} is damaged (${cause}). Fix: stop closeloop, keep a copy of the folder, and restore the latest backup (docs/operations.md, "Backups"); without one, sqlite3 ${file} ".recover" | sqlite3 recovered.db saves what can be read`;
    default:
      return `${cause} (${file})`;
  }
}
