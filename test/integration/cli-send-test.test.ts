/** `closeloop send-test`: one event through the validation server (the GA4 stand-in), messages printed, no secret. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli } from '../../src/cli';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';

const EXAMPLE = path.resolve(__dirname, '..', '..', '..', 'config', 'closeloop.example.yaml');

describe('CLI: send-test', function () {
  this.timeout(20_000);
  let ga4: Ga4StandIn;
  beforeEach(async () => {
    ga4 = await startGa4StandIn();
  });
  afterEach(() => ga4.close());

  async function run(args: string[]): Promise<{ code: number; out: string }> {
    const out: string[] = [];
    const env = {
      GA4_MEASUREMENT_ID: 'G-TEST123',
      GA4_API_SECRET: 'cli-secret-value-42',
      GA4_ENDPOINT: ga4.url,
      CLOSELOOP_CONFIG: EXAMPLE,
    };
    const code = await runCli(
      ['send-test', ...args],
      { out: (l) => out.push(l), err: (l) => out.push(l) },
      env,
    );
    return { code, out: out.join('\n') };
  }

  it('prints valid for a good event, the messages for a bad one, and never the secret', async () => {
    const good = await run([]);
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /Valid/);
    const bad = await run(['--event', 'ga_reserved_name']);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /problem/);
    assert.match(bad.out, /\[ga4\]|\[closeloop\]/);
    assert.ok(!`${good.out}${bad.out}`.includes('cli-secret-value-42'));
    const debug = ga4.attempts().filter((r) => r.path === '/debug/mp/collect');
    assert.equal(debug.length, 2);
    assert.equal(ga4.collected().length, 0, 'nothing reached /mp/collect');
  });
});
