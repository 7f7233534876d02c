/**
 * Config fuzz: the example config and every config fixture, mutated (test/fuzz/mutate-yaml.ts), go
 * through the loader, which must either give a config or a ConfigError listing problems, each with
 * a message, a fix and a code: never another exception (an alias without its anchor used to
 * escape as a ReferenceError). A seed is printed and taken from FUZZ_SEED; `npm run fuzz` runs
 * many more.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../src/config/load-config';
import { ConfigError } from '../../src/core/errors';
import { Random, fuzzRuns, fuzzSeed } from '../fuzz/random';
import { mutateYaml } from '../fuzz/mutate-yaml';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function sources(): string[] {
  const dirs = ['test/fixtures/config/valid', 'test/fixtures/config/invalid'];
  return [
    fs.readFileSync(path.join(ROOT, 'config', 'closeloop.example.yaml'), 'utf8'),
    ...dirs.flatMap((d) =>
      fs
        .readdirSync(path.join(ROOT, d))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => fs.readFileSync(path.join(ROOT, d, f), 'utf8')),
    ),
  ];
}

/** What the example config's ${VAR}s are given, so a mutation is judged on what it changed. */
const ENV = {
  GA4_MEASUREMENT_ID: 'G-FUZZ123',
  GA4_API_SECRET: 'fuzz-api-secret',
  CLOSELOOP_WEBHOOK_SECRET: 'fuzz-webhook-secret-7Kq2pX9m',
};

describe('fuzz: configs (mutated YAML, the loader never throws anything but a ConfigError)', function () {
  const runs = fuzzRuns(3000, 100_000);
  this.timeout(20_000 + runs * 10);

  it('gives a config or a list of problems for every mutated file', () => {
    const seed = fuzzSeed();
    const rnd = new Random(seed);
    const texts = sources();
    const unexpected: string[] = [];
    let valid = 0;
    let problems = 0;
    let slowest = 0;
    for (let i = 0; i < runs && unexpected.length < 10; i++) {
      const text = mutateYaml(rnd, rnd.pick(texts));
      const started = process.hrtime.bigint();
      try {
        parseConfig(text, 'fuzz.yaml', ENV);
        valid++;
      } catch (e) {
        if (!(e instanceof ConfigError)) {
          unexpected.push(`${String(e)}\n--- input #${i}:\n${text.slice(0, 2000)}`);
          continue;
        }
        problems++;
        assert.ok(e.problems.length > 0, 'a ConfigError lists its problems');
        for (const p of e.problems) {
          assert.ok(
            p.message !== '' && p.fix !== '',
            `a problem says what and how: ${JSON.stringify(p)}`,
          );
          assert.match(String(p.code), /^CONFIG_[A-Z_]+$/);
        }
        assert.equal(e.message.includes('fuzz-api-secret'), false, 'no secret in the message');
      }
      slowest = Math.max(slowest, Number(process.hrtime.bigint() - started) / 1e6);
    }
    console.log(
      `      config fuzz seed ${seed}: ${runs} configs tried, ${valid} valid, ${problems} with problems, ${unexpected.length} unexpected errors; slowest ${Math.round(slowest)} ms`,
    );
    assert.deepEqual(unexpected, [], `seed ${seed}`);
  });
});
