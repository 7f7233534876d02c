/**
 * The embedded store's group commit against a real SQLite file: writes of one event-loop turn
 * share one transaction, each caller hears of its own write only once it is committed, a failing
 * write loses only itself, and a failing commit fails the whole group.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CommitGroup } from '../../src/adapters/store/sqlite/commit-group';
import {
  openSqliteDatabase,
  type OpenedDatabase,
} from '../../src/adapters/store/sqlite/open-sqlite-database';
import { isAppError } from '../../src/core/errors';

describe('CommitGroup (embedded store group commit)', () => {
  let dir: string;
  let opened: OpenedDatabase;
  let reader: Database.Database;
  let group: CommitGroup;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-group-'));
    opened = openSqliteDatabase(dir);
    opened.db.exec(`CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`);
    // Another connection, as a second process would see the file.
    reader = new Database(opened.file, { readonly: true });
    group = new CommitGroup(opened.db);
  });

  afterEach(() => {
    reader.close();
    opened.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const insert = (k: string, v: number) => () =>
    opened.db.prepare(`INSERT INTO t (k, v) VALUES (?, ?)`).run(k, v).changes;
  const seenByReader = (): string[] =>
    (reader.prepare(`SELECT k FROM t ORDER BY k`).all() as Array<{ k: string }>).map((r) => r.k);

  it('runs the writes of one turn in one transaction and settles each after the commit', async () => {
    const seenDuringSecond: string[][] = [];
    const first = group.run(insert('a', 1));
    const second = group.run(() => {
      assert.ok(opened.db.inTransaction, 'inside the group transaction');
      // The first write is done in this transaction but not committed: no one else sees it yet.
      seenDuringSecond.push(seenByReader());
      return insert('b', 2)();
    });
    assert.deepEqual(seenByReader(), [], 'nothing written before the turn ends');
    const [a, b] = await Promise.all([first, second]);
    assert.deepEqual([a, b], [1, 1], 'each caller gets its own result');
    assert.deepEqual(seenDuringSecond, [[]]);
    assert.deepEqual(seenByReader(), ['a', 'b'], 'committed when the promises resolve');
  });

  it('gives each later turn a transaction of its own', async () => {
    await group.run(insert('a', 1));
    const during = await group.run(() => seenByReader());
    assert.deepEqual(during, ['a'], 'the first turn had committed');
  });

  it('rolls back a write that throws and rejects only its caller; the others commit', async () => {
    const results = await Promise.allSettled([
      group.run(insert('a', 1)),
      group.run(() => {
        insert('b', 2)();
        insert('a', 3)(); // a duplicate key, after a write of its own that must not survive
      }),
      group.run(insert('c', 4)),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    const failure = (results[1] as PromiseRejectedResult).reason as Error;
    assert.match(failure.message, /UNIQUE constraint failed/);
    assert.deepEqual(seenByReader(), ['a', 'c'], 'the failed write left nothing behind');
  });

  it('rejects every write of the group with STORE_UNAVAILABLE when the commit fails', async () => {
    // A deferred foreign key is checked at COMMIT: this group cannot commit.
    opened.db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
      CREATE TABLE child (parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)`);
    const results = await Promise.allSettled([
      group.run(insert('a', 1)),
      group.run(() => opened.db.prepare(`INSERT INTO child (parent) VALUES (42)`).run()),
    ]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      const e: unknown = r.reason;
      assert.ok(isAppError(e) && e.code === 'STORE_UNAVAILABLE', String(e));
      assert.equal(e.retryable, true, 'an outage of the store, to be retried, not a refusal');
      assert.match(e.message, /could not write: FOREIGN KEY constraint failed/);
    }
    assert.deepEqual(seenByReader(), [], 'none of the group took effect');
    assert.equal(opened.db.inTransaction, false);
    await group.run(insert('b', 2));
    assert.deepEqual(seenByReader(), ['b'], 'the next group commits as usual');
  });

  it('fails the whole group when SQLite itself rolls the transaction back (disk full)', async () => {
    opened.db.exec(`CREATE TABLE big (b BLOB)`);
    const pages = opened.db.pragma('page_count', { simple: true }) as number;
    opened.db.pragma(`max_page_count = ${pages + 3}`); // a disk with room for a few pages only
    const results = await Promise.allSettled([
      group.run(insert('a', 1)),
      group.run(() => opened.db.prepare(`INSERT INTO big VALUES (zeroblob(1000000))`).run()),
      group.run(insert('c', 3)), // must not commit on its own after the rollback
    ]);
    opened.db.pragma('max_page_count = 1073741823');
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      const e: unknown = r.reason;
      assert.ok(isAppError(e) && e.code === 'STORE_UNAVAILABLE' && e.retryable, String(e));
      assert.match(
        e.message,
        /could not write: the disk holding .* is full \(database or disk is full\)\. Fix: free space/,
      );
    }
    assert.deepEqual(seenByReader(), [], 'none of the group took effect');
    assert.equal(opened.db.inTransaction, false);
    await group.run(insert('d', 4));
    assert.deepEqual(seenByReader(), ['d'], 'the next group commits as usual');
  });

  it('holds the write lock from the start, so a first write that only reads cannot go stale', async () => {
    // Another process writing to the file (a `replay` beside the service), not willing to wait.
    const other = new Database(opened.file);
    other.pragma('busy_timeout = 0');
    try {
      let otherWrite = '';
      const first = group.run(() => {
        const seen = seenByReader();
        try {
          other.prepare(`INSERT INTO t (k, v) VALUES ('x', 0)`).run();
          otherWrite = 'committed';
        } catch (e) {
          otherWrite = (e as { code?: string }).code ?? String(e);
        }
        return seen;
      });
      const second = group.run(insert('b', 2));
      assert.deepEqual(await first, []);
      assert.equal(await second, 1, 'the group wrote after its read');
      assert.equal(otherWrite, 'SQLITE_BUSY', 'the other writer waits for the group');
      assert.deepEqual(seenByReader(), ['b']);
    } finally {
      other.close();
    }
  });

  it('commits what is waiting on close and refuses writes after it', async () => {
    const waiting = group.run(insert('a', 1));
    group.close();
    assert.deepEqual(seenByReader(), ['a'], 'committed by close itself');
    assert.equal(await waiting, 1);
    await assert.rejects(
      group.run(insert('b', 2)),
      (e: unknown) => isAppError(e) && e.code === 'STORE_UNAVAILABLE',
    );
  });
});
