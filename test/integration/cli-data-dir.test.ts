/**
 * The data folder is found the same way wherever closeloop is run from: CLOSELOOP_DATA_DIR, else
 * `data` beside the config. Commands that read the store never make an empty one; they say where
 * they looked. Real processes, each with its own current folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import {
  BIN,
  EXAMPLE_CONFIG,
  startCloseloopProcess,
  terminate,
} from '../helpers/closeloop-process';

const OAUTH_CONFIG = `currency: RUB
amocrm:
  subdomain: example
  oauth:
    client_id: 4b6f2a1e-9c3d-4e5f-8a7b-1c2d3e4f5a6b
    client_secret: cs-not-used-here
    redirect_uri: https://example.com/amocrm/oauth
rules: []
`;

describe('CLI: the data folder, wherever the command runs', function () {
  this.timeout(20_000);
  let root: string;
  let project: string;
  let config: string;
  let elsewhere: string;

  beforeEach(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-data-')));
    project = path.join(root, 'shop');
    config = path.join(project, 'config', 'closeloop.yaml');
    fs.mkdirSync(path.dirname(config), { recursive: true });
    fs.copyFileSync(EXAMPLE_CONFIG, config);
    elsewhere = path.join(root, 'elsewhere');
    fs.mkdirSync(elsewhere);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  function closeloop(args: string[], cwd: string, env: Record<string, string> = {}) {
    return spawnSync(process.execPath, [BIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
      timeout: 15_000,
    });
  }

  async function recordDelivery(dataDir: string, leadId: number): Promise<void> {
    const store = createSqliteStore({ dataDir, deliveryLogMaxRows: 100, lock: false });
    try {
      await store.deliveryLog.record({
        at: Date.UTC(2026, 11, 3),
        account: 'default',
        source: 'amocrm',
        crmAccount: '29638927',
        dealId: String(leadId),
        kind: 'stage_changed',
        stageId: '142',
        jobId: `deliver:${leadId}`,
        destination: 'ga4',
        outcome: 'dry_run',
        code: null,
        reason: null,
        events: ['close_convert_lead', 'purchase'],
        payload: null,
        attempts: 0,
      });
    } finally {
      await store.close();
    }
  }

  it('reads the data beside the config from another folder, through CLOSELOOP_CONFIG', async () => {
    await recordDelivery(path.join(project, 'data'), 4242);
    const r = closeloop(['deliveries', '--json'], elsewhere, { CLOSELOOP_CONFIG: config });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"dealId":"4242"/);
    assert.equal(fs.existsSync(path.join(elsewhere, 'data')), false, 'a data folder was made');

    // From the project folder itself, with no variable at all: the same rows.
    const home = closeloop(['deliveries', '--json'], project);
    assert.equal(home.status, 0, home.stderr);
    assert.equal(home.stdout, r.stdout);
  });

  it('says where it looked and why when there is no data, and makes nothing', () => {
    for (const command of ['deliveries', 'replay']) {
      const r = closeloop([command], elsewhere);
      assert.equal(r.status, 1, `${command}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.equal(
        r.stderr,
        `closeloop ${command}: no closeloop data in ${path.join(elsewhere, 'data')} (the default: CLOSELOOP_CONFIG is not set, and there is no config/closeloop.yaml here). ` +
          'Run the command from the folder closeloop runs in, or set CLOSELOOP_DATA_DIR (and CLOSELOOP_CONFIG) as the service has them; if the service runs on Redis, set REDIS_URL as it has it.\n',
      );
      assert.deepEqual(fs.readdirSync(elsewhere), [], `${command} made something`);
    }

    const viaConfig = closeloop(['deliveries'], elsewhere, { CLOSELOOP_CONFIG: config });
    assert.equal(viaConfig.status, 1);
    assert.match(
      viaConfig.stderr,
      new RegExp(
        `no closeloop data in ${path.join(project, 'data')} \\(the data folder beside ${config}\\)`,
      ),
    );
    const viaVariable = closeloop(['deliveries'], elsewhere, { CLOSELOOP_DATA_DIR: 'nothing' });
    assert.equal(viaVariable.status, 1);
    assert.match(
      viaVariable.stderr,
      new RegExp(
        `no closeloop data in ${path.join(elsewhere, 'nothing')} \\(set by CLOSELOOP_DATA_DIR\\)\\. Set CLOSELOOP_DATA_DIR to the folder the service uses`,
      ),
    );
    assert.equal(fs.existsSync(path.join(project, 'data')), false);
    assert.deepEqual(fs.readdirSync(elsewhere), []);
  });

  it('needs the OAuth tokens’ data for statuses, and says to run auth', () => {
    fs.writeFileSync(config, OAUTH_CONFIG);
    const r = closeloop(['statuses'], project);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /^closeloop statuses: no closeloop data in .*\/shop\/data \(the data folder beside config\/closeloop\.yaml\)\. .*The amoCRM OAuth tokens are kept there; if closeloop was never authorized, run `closeloop auth <code>` first\./,
    );
    assert.equal(fs.existsSync(path.join(project, 'data')), false);
  });

  it('start keeps its data beside the config too, whatever the current folder', async () => {
    const child = await startCloseloopProcess(
      { CLOSELOOP_CONFIG: config, CLOSELOOP_DATA_DIR: undefined },
      { cwd: elsewhere },
    );
    try {
      const started = child
        .output()
        .split('\n')
        .find((l) => l.includes('"message":"closeloop started"'));
      assert.ok(started, child.output());
      assert.equal(
        (JSON.parse(started) as { store: string }).store,
        `sqlite (${path.join(project, 'data')})`,
      );
    } finally {
      assert.equal(await terminate(child), 0, child.output());
    }
    assert.ok(fs.existsSync(path.join(project, 'data', 'closeloop.db')));
    assert.deepEqual(fs.readdirSync(elsewhere), []);
    // And a command run from elsewhere finds what start made.
    const r = closeloop(['deliveries'], elsewhere, { CLOSELOOP_CONFIG: config });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'The delivery log has no matching rows.\n');
  });
});
