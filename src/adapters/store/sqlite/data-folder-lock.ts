/**
 * One closeloop per data folder, held the way flock(2) holds a file: by the operating system, for
 * as long as the process lives. The lock is an exclusive transaction on a small SQLite file
 * (`closeloop.lock`), kept open; SQLite takes it with fcntl locks, which the kernel drops when the
 * process ends, however it ends. So a SIGKILL or a power loss leaves no stale lock, and a reused
 * PID cannot fake one (the previous design, a PID file, failed on both).
 *
 * Node has no flock; a native addon for it would be one more compiled dependency, while SQLite's
 * locking is already here, and it also works between connections of one process (SQLite tracks
 * its locks per file, so a second store on the same folder in this process is refused too).
 * `closeloop.pid` beside it only says who holds the lock, for the message; it is never trusted.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../../../core/errors';
import { explainStorageError } from './storage-problems';

/** The lock file's name in the data folder. */
export const LOCK_FILE = 'closeloop.lock';
const PID_FILE = 'closeloop.pid';

/** Takes the folder's lock, or throws STORE_UNAVAILABLE naming the holder; returns the release. */
export function acquireDataFolderLock(dataDir: string): () => void {
  const lockFile = path.join(dataDir, LOCK_FILE);
  const pidFile = path.join(dataDir, PID_FILE);
  removeLegacyPidLock(lockFile);
  let db: Database.Database | null = null;
  try {
    createPrivate(lockFile);
    db = new Database(lockFile, { timeout: 0 });
    db.pragma('journal_mode = DELETE');
    // Exclusive from here to the process's end: no other connection can even read the file.
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db?.close();
    if ((e as { code?: string }).code !== 'SQLITE_BUSY') {
      throw new AppError('STORE_UNAVAILABLE', explainStorageError(e, lockFile), { cause: e });
    }
    const holder = readPid(pidFile);
    throw new AppError(
      'STORE_UNAVAILABLE',
      `the data folder ${dataDir} is in use by another closeloop process${holder === null ? '' : ` (pid ${holder})`}. ` +
        'Stop it, or give this one its own CLOSELOOP_DATA_DIR; to run several processes, set REDIS_URL',
    );
  }
  try {
    fs.writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
  } catch {
    // Only for the message of a process refused later; the lock holds without it.
  }
  const held = db;
  return () => {
    if (!held.open) return;
    if (readPid(pidFile) === process.pid) fs.rmSync(pidFile, { force: true });
    held.close(); // ends the transaction, which releases the lock
  };
}

/** Creates the file with mode 0600 when it does not exist (SQLite would make it 0644). */
export function createPrivate(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  fs.chmodSync(file, 0o600);
}

function readPid(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Versions before this one wrote the PID as text into `closeloop.lock`. Such a file is replaced;
 * if its process is still alive (an older closeloop running on the same folder), the start stops.
 */
function removeLegacyPidLock(lockFile: string): void {
  let text: string;
  try {
    const head = Buffer.alloc(16);
    const fd = fs.openSync(lockFile, 'r');
    const n = fs.readSync(fd, head, 0, 16, 0);
    fs.closeSync(fd);
    text = head.subarray(0, n).toString('latin1');
  } catch {
    return; // no lock file yet
  }
  if (!/^\d+\s*$/.test(text)) return; // an SQLite file (or empty): today's lock
  const pid = Number(text.trim());
  if (pid !== process.pid && isAlive(pid)) {
    throw new AppError(
      'STORE_UNAVAILABLE',
      `the data folder ${path.dirname(lockFile)} is in use by an older closeloop (pid ${pid}, ${lockFile}). ` +
        'Stop it before starting this version; if no closeloop runs, delete the file',
    );
  }
  fs.rmSync(lockFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
