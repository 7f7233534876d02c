/** `.env` files: in the current folder and beside the config, under the real environment. */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withDotEnv } from '../../src/config/load-dot-env';

describe('config: .env files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-dotenv-'));
    fs.mkdirSync(path.join(dir, 'config'));
    fs.writeFileSync(path.join(dir, 'config', 'closeloop.yaml'), 'currency: RUB\nrules: []\n');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads .env in the current folder, with comments, quotes and export', () => {
    fs.writeFileSync(
      path.join(dir, '.env'),
      '# GA4\nGA4_MEASUREMENT_ID=G-DOTENV1\nexport GA4_API_SECRET="with spaces"\nEMPTY=\n',
    );
    const r = withDotEnv({}, dir);
    assert.equal(r.env.GA4_MEASUREMENT_ID, 'G-DOTENV1');
    assert.equal(r.env.GA4_API_SECRET, 'with spaces');
    assert.deepEqual(r.files, [path.join(dir, '.env')]);
    assert.deepEqual(r.problems, []);
  });

  it('never overrides the real environment, and the current folder’s file wins over the config’s', () => {
    fs.writeFileSync(path.join(dir, '.env'), 'A=from-cwd\nB=from-cwd\n');
    fs.writeFileSync(path.join(dir, 'config', '.env'), 'B=from-config\nC=from-config\n');
    const r = withDotEnv({ A: 'real' }, dir);
    assert.equal(r.env.A, 'real');
    assert.equal(r.env.B, 'from-cwd');
    assert.equal(r.env.C, 'from-config');
    assert.deepEqual(r.files, [path.join(dir, '.env'), path.join(dir, 'config', '.env')]);
  });

  it('finds the file beside a config named by CLOSELOOP_CONFIG or on the command line', () => {
    const other = path.join(dir, 'elsewhere');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'shop.yaml'), 'currency: RUB\nrules: []\n');
    fs.writeFileSync(path.join(other, '.env'), 'FROM=elsewhere\n');
    assert.equal(
      withDotEnv({ CLOSELOOP_CONFIG: path.join(other, 'shop.yaml') }, dir).env.FROM,
      'elsewhere',
    );
    assert.equal(withDotEnv({}, dir, path.join(other, 'shop.yaml')).env.FROM, 'elsewhere');
  });

  it('takes CLOSELOOP_CONFIG from the current folder’s .env to find the config’s', () => {
    const other = path.join(dir, 'elsewhere');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'shop.yaml'), 'currency: RUB\nrules: []\n');
    fs.writeFileSync(path.join(other, '.env'), 'FROM=elsewhere\n');
    fs.writeFileSync(path.join(dir, '.env'), `CLOSELOOP_CONFIG=${path.join(other, 'shop.yaml')}\n`);
    assert.equal(withDotEnv({}, dir).env.FROM, 'elsewhere');
  });

  it('goes on without files, and reports one that cannot be read', () => {
    assert.deepEqual(withDotEnv({ X: '1' }, dir), { env: { X: '1' }, files: [], problems: [] });
    fs.mkdirSync(path.join(dir, '.env'));
    const r = withDotEnv({}, dir);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0] ?? '', /\.env could not be read \(EISDIR\)/);
  });
});
