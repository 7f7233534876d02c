/**
 * A real small file system for storage faults: a tmpfs of a few megabytes, which fills up for
 * real (ENOSPC, SQLITE_FULL) and can be remounted read-only for real (EROFS), whoever the test
 * runs as. Needs the right to mount (root with CAP_SYS_ADMIN, as in CI); without it `mountTmpfs`
 * returns why, and the tests skip saying so.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Tmpfs {
  dir: string;
  remount(mode: 'ro' | 'rw'): void;
  /** Fills the disk with a file until at most `leaveBytes` are free; returns the file. */
  fill(leaveBytes: number): string;
  unmount(): void;
}

export function mountTmpfs(sizeBytes: number): Tmpfs | { cannot: string } {
  if (process.platform !== 'linux') return { cannot: 'tmpfs mounts need Linux' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], {
      stdio: 'pipe',
    });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { cannot: `this machine does not let the tests mount a tmpfs (${why})` };
  }
  return {
    dir,
    remount(mode) {
      execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });
    },
    fill(leaveBytes) {
      const file = path.join(dir, 'filler');
      const { bavail, bsize } = fs.statfsSync(dir);
      const size = Math.max(0, bavail * bsize - leaveBytes);
      const fd = fs.openSync(file, 'w');
      const chunk = Buffer.alloc(64 * 1024, 1);
      try {
        for (let written = 0; written < size; written += chunk.length) {
          fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - written));
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      } finally {
        fs.closeSync(fd);
      }
      return file;
    },
    unmount() {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
