/**
 * The data folder rule, the same for `start` and every command wherever they run:
 * CLOSELOOP_DATA_DIR, else `data` beside the config (beside its `config` folder when it is in one).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { locateDataDir } from '../../src/config/locate-data-dir';

describe('locateDataDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-data-dir-')));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function write(file: string): string {
    const full = path.join(dir, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, 'currency: RUB\nrules: []\n');
    return full;
  }

  it('takes CLOSELOOP_DATA_DIR first, relative to the current folder', () => {
    write('config/closeloop.yaml');
    assert.deepEqual(locateDataDir({ CLOSELOOP_DATA_DIR: 'var/cl' }, dir), {
      path: path.join(dir, 'var/cl'),
      source: 'CLOSELOOP_DATA_DIR',
      foundBy: 'set by CLOSELOOP_DATA_DIR',
    });
  });

  it('puts data beside the config folder: config/closeloop.yaml → ./data', () => {
    write('config/closeloop.yaml');
    assert.deepEqual(locateDataDir({}, dir), {
      path: path.join(dir, 'data'),
      source: 'config',
      foundBy: 'the data folder beside config/closeloop.yaml',
    });
  });

  it('finds the same folder from anywhere through CLOSELOOP_CONFIG', () => {
    const config = write('shop/config/closeloop.yaml');
    const elsewhere = path.join(dir, 'elsewhere');
    fs.mkdirSync(elsewhere);
    const found = locateDataDir({ CLOSELOOP_CONFIG: config }, elsewhere);
    assert.equal(found.path, path.join(dir, 'shop', 'data'));
    assert.equal(found.foundBy, `the data folder beside ${config}`);
    assert.equal(
      locateDataDir({ CLOSELOOP_CONFIG: '../shop/config/closeloop.yaml' }, elsewhere).path,
      found.path,
    );
  });

  it('puts data beside a config that is not in a config folder, and follows a path argument', () => {
    const config = write('srv/shop.yaml');
    assert.equal(
      locateDataDir({ CLOSELOOP_CONFIG: config }, dir).path,
      path.join(dir, 'srv', 'data'),
    );
    write('other/closeloop.yaml');
    assert.equal(
      locateDataDir({ CLOSELOOP_CONFIG: config }, dir, 'other/closeloop.yaml').path,
      path.join(dir, 'other', 'data'),
    );
  });

  it('says so when there is no config at all, and keeps ./data', () => {
    assert.deepEqual(locateDataDir({}, dir), {
      path: path.join(dir, 'data'),
      source: 'config',
      foundBy:
        'the default: CLOSELOOP_CONFIG is not set, and there is no config/closeloop.yaml here',
    });
  });

  it('throws CONFIG_NOT_FOUND when CLOSELOOP_CONFIG names no file', () => {
    assert.throws(
      () => locateDataDir({ CLOSELOOP_CONFIG: 'nope.yaml' }, dir),
      (e: Error & { code?: string }) => e.code === 'CONFIG_NOT_FOUND',
    );
  });
});
