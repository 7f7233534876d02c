import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ERROR_CODES } from '../../src/error-codes';

describe('docs/errors.md', () => {
  const doc = fs.readFileSync(path.resolve('docs/errors.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `([A-Z0-9_]+)` \| ([^|]+) \| ([^|]+) \|/gm)];
  const documented = rows.map((m) => m[1]!);

  it('documents every error code, once, and no code that does not exist', () => {
    assert.deepEqual([...documented].sort(), Object.keys(ERROR_CODES).sort());
    assert.equal(new Set(documented).size, documented.length);
  });

  it('names the same person to fix it as the code does', () => {
    for (const m of rows) {
      const info = ERROR_CODES[m[1] as keyof typeof ERROR_CODES];
      assert.equal(m[3]!.trim(), info.who, `who fixes ${m[1]}`);
    }
  });

  it('uses only defined codes in the source', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(path.resolve('src'));
    const used = new Set<string>();
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      for (const m of text.matchAll(/Error\(\s*'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g)) used.add(m[1]!);
    }
    assert.ok(used.size > 5, 'the scan must find codes');
    for (const code of used) assert.ok(code in ERROR_CODES, `${code} is used but not defined`);
  });
});
