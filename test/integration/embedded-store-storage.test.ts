/**
 * The embedded store's storage, as an operator meets it: the folder lock after a crash, a damaged
 * file at the start, a full or read-only disk while running (and /healthz saying so, and why),
 * private file modes, and a passing write failure that must not leave a job stuck. Real SQLite on
 * real file systems: a small tmpfs where a disk must fill up or turn read-only.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import { startService, type RunningService } from '../../src/main';
import { BIN, EXAMPLE_CONFIG, kill9, startCloseloopProcess } from '../helpers/closeloop-process';
import { captureLogger } from '../helpers/capture-logger';
import { loopbackService, testConfig } from '../helpers/builders';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs';
import { skipBecause } from '../helpers/skip-because';
import { waitFor } from '../helpers/wait-for';

const SECRET = 'storage-test-webhook-secret-42';

/** `closeloop start` on this data folder, expected to stop at once; its exit code and output. */
function startFails(dataDir: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, 'start'], {
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      CLOSELOOP_CONFIG: EXAMPLE_CONFIG,
      CLOSELOOP_DATA_DIR: dataDir,
      CLOSELOOP_WEBHOOK_SECRET: SECRET,
    },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('embedded store: the folder lock', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-lock-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const start = () =>
    startCloseloopProcess({ CLOSELOOP_DATA_DIR: dir, CLOSELOOP_WEBHOOK_SECRET: SECRET });

  it('refuses a second closeloop on the folder, naming the first one', async () => {
    const first = await start();
    try {
      const second = startFails(dir);
      assert.equal(second.code, 1);
      assert.match(
        second.out,
        new RegExp(
          `the data folder ${dir} is in use by another closeloop process \\(pid ${first.proc.pid}\\)`,
        ),
      );
      // A second store in the same process is refused too.
      assert.throws(
        () => createSqliteStore({ dataDir: dir, deliveryLogMaxRows: 1000 }),
        /is in use by another closeloop process/,
      );
    } finally {
      await kill9(first);
    }
  });

  it('starts at once after a SIGKILL: no stale lock, whatever PID the old file names', async () => {
    const first = await start();
    await kill9(first);
    // The PID file now names a process that is alive (this one): with a PID lock that was a
    // refusal (PID reuse); the kernel's lock knows better.
    fs.writeFileSync(path.join(dir, 'closeloop.pid'), `${process.pid}\n`);
    const second = await start();
    await kill9(second);
  });

  it('replaces the PID lock file of an older version whose process is gone', async () => {
    fs.writeFileSync(path.join(dir, 'closeloop.lock'), '2147480000');
    const started = await start();
    await kill9(started);
  });
});

describe('embedded store: a damaged file stops the start, with the fix', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-corrupt-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names the file, what is wrong, and how to restore it', async () => {
    const store = createSqliteStore({ dataDir: dir, deliveryLogMaxRows: 1000 });
    await store.queue.add(
      'inbound',
      Array.from({ length: 2000 }, (_, i) => ({
        id: `job-${i}`,
        payload: { n: i, pad: 'x'.repeat(200) },
      })),
    );
    await store.close();
    const file = path.join(dir, 'closeloop.db');
    const db = new Database(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    // Damage pages in the middle of the file, as a failing disk does.
    const fd = fs.openSync(file, 'r+');
    const size = fs.fstatSync(fd).size;
    fs.writeSync(fd, Buffer.alloc(8192, 0xab), 0, 8192, Math.floor(size / 2 / 4096) * 4096);
    fs.closeSync(fd);
    const r = startFails(dir);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`the embedded store ${file} is damaged`));
    assert.match(
      r.out,
      /Fix: stop closeloop, keep a copy of the folder, and restore the latest backup/,
    );
  });

  it('says so for a file that is not a database at all', () => {
    fs.writeFileSync(
      path.join(dir, 'closeloop.db'),
      'this is not SQLite, but it is long enough to tell',
    );
    const r = startFails(dir);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /is damaged \(file is not a database\)/);
  });
});

describe('embedded store: files are private', function () {
  it('makes the database, its WAL and lock files 0600, and leaves no trace of a deleted lead', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-modes-'));
    const phone = '+79161234567-a-phone-to-forget';
    const store = createSqliteStore({ dataDir: dir, deliveryLogMaxRows: 1000, pollIntervalMs: 20 });
    try {
      await store.queue.add('create_lead', [{ id: 'lead-1', payload: { phone } }]);
      for (const f of [
        'closeloop.db',
        'closeloop.db-wal',
        'closeloop.db-shm',
        'closeloop.lock',
        'closeloop.pid',
      ]) {
        assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
      }
      // The lead is created: its job (and the phone in it) is deleted.
      let done = false;
      store.queue.process(
        'create_lead',
        () => {
          done = true;
          return Promise.resolve({ status: 'done' as const });
        },
        { concurrency: 1 },
      );
      await waitFor(async () => done && (await store.queue.counts('create_lead')).active === 0);
    } finally {
      await store.close();
    }
    const db = new Database(path.join(dir, 'closeloop.db'));
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    // secure_delete: the deleted row's bytes are overwritten, not left in a free page.
    const bytes = fs.readFileSync(path.join(dir, 'closeloop.db'));
    assert.equal(bytes.includes(Buffer.from(phone)), false, 'the phone is still in the file');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('embedded store: a full or read-only disk', function () {
  this.timeout(60_000);
  let fsys: Tmpfs | null = null;
  let service: RunningService | null = null;

  beforeEach(function () {
    const mounted = mountTmpfs(96 * 1024 * 1024);
    if ('cannot' in mounted) skipBecause(this, mounted.cannot);
    fsys = mounted;
  });
  afterEach(async () => {
    await service?.close().catch(() => undefined);
    service = null;
    fsys?.unmount();
    fsys = null;
  });

  async function startOn(dir: string): Promise<RunningService> {
    const log = captureLogger();
    service = await startService(loopbackService(testConfig(), log, dir));
    return service;
  }
  const health = async (s: RunningService) => {
    const res = await fetch(`http://127.0.0.1:${s.port}/healthz`);
    return { status: res.status, body: (await res.json()) as { status: string; reason?: string } };
  };

  it('turns /healthz unhealthy when the disk is nearly full, and says why; healthy once freed', async () => {
    const s = await startOn(path.join(fsys!.dir, 'data'));
    assert.equal((await health(s)).status, 200);
    const filler = fsys!.fill(8 * 1024 * 1024);
    const sick = await health(s);
    assert.equal(sick.status, 503);
    assert.equal(sick.body.status, 'unhealthy');
    assert.match(
      sick.body.reason ?? '',
      /the disk holding .*\/data is almost full: \d+ MB free, and closeloop needs 64 MB\. Fix: free space/,
    );
    fs.rmSync(filler);
    assert.equal((await health(s)).status, 200);
  });

  it('answers webhooks 503 and /healthz unhealthy while the disk is full; nothing acknowledged is lost', async () => {
    const s = await startOn(path.join(fsys!.dir, 'data'));
    const post = (id: number) =>
      fetch(`http://127.0.0.1:${s.port}${s.webhookPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `leads[status][0][id]=${id}&leads[status][0][status_id]=142&leads[status][0][pipeline_id]=1&account[id]=29638927`,
      });
    const filler = fsys!.fill(0);
    const refused = await post(1);
    assert.equal(refused.status, 503);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'STORE_UNAVAILABLE');
    assert.match(body.error.message, /the disk holding .* is full .*Fix: free space/);
    assert.equal((await health(s)).status, 503);
    fs.rmSync(filler);
    await waitFor(async () => (await health(s)).status === 200, { timeoutMs: 10_000 });
    assert.equal((await post(2)).status, 200);
  });

  // A file system cannot be remounted read-only while the store has files open on it for writing
  // (the kernel refuses), so a disk that turns read-only under a running store is not staged here;
  // its errors are the ones the start meets, and explained by the same code.
  it('says which folder cannot be written and how to fix it, when the disk is read-only', () => {
    fs.mkdirSync(path.join(fsys!.dir, 'data'));
    fsys!.remount('ro');
    try {
      for (const dir of [path.join(fsys!.dir, 'data'), path.join(fsys!.dir, 'not-yet')]) {
        const r = startFails(dir);
        assert.equal(r.code, 1, r.out);
        assert.match(
          r.out,
          new RegExp(`closeloop cannot write ${dir}\\S* .*Fix: make ${dir} writable`),
          r.out,
        );
      }
    } finally {
      fsys!.remount('rw');
    }
  });
});

describe('embedded store: a passing write failure', function () {
  this.timeout(20_000);
  it("records a job's outcome once the store can write again, instead of leaving it active", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-busy-'));
    const store = createSqliteStore({
      dataDir: dir,
      deliveryLogMaxRows: 1000,
      busyTimeoutMs: 20,
      pollIntervalMs: 20,
    });
    const other = new Database(path.join(dir, 'closeloop.db'));
    try {
      let runs = 0;
      let release: () => void = () => undefined;
      store.queue.process(
        'inbound',
        () => {
          runs++;
          // Another connection takes the write lock and keeps it past the store's patience.
          other.exec('BEGIN IMMEDIATE');
          release = () => other.exec('COMMIT');
          return Promise.resolve({ status: 'done' as const });
        },
        { concurrency: 1 },
      );
      await store.queue.add('inbound', [{ id: 'j1', payload: {} }]);
      await waitFor(() => runs === 1, { timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 400));
      assert.equal((await store.queue.counts('inbound')).active, 1, 'not yet recorded');
      release();
      await waitFor(async () => (await store.queue.counts('inbound')).active === 0, {
        timeoutMs: 10_000,
      });
      const c = await store.queue.counts('inbound');
      assert.deepEqual(c, { waiting: 0, delayed: 0, active: 0, failed: 0 });
      assert.equal(runs, 1, 'run once, not again');
    } finally {
      other.close();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
