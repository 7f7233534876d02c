/**
 * The console's page script, as `npm run build` leaves it (src/console/ui/build-assets.ts): minified,
 * with its source map beside it, and within its gzipped size budget, as the form snippet is held
 * to its own (snippet.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { consoleAssetsDir } from '../../src/console/ui';
import { CONSOLE_JS_BUDGET } from '../../src/console/ui/build-assets';

const SCRIPT = path.join(consoleAssetsDir, 'console.js');

describe('console page script: minified, with a source map, within its size budget', function () {
  let code: string;

  before(function () {
    assert.ok(existsSync(SCRIPT), `${SCRIPT} is missing: run npm run build`);
    code = readFileSync(SCRIPT, 'utf8');
  });

  it(`console.js is at most ${CONSOLE_JS_BUDGET} bytes gzipped`, function () {
    const gzipped = gzipSync(code, { level: 9 }).length;
    assert.ok(
      gzipped <= CONSOLE_JS_BUDGET,
      `console.js is ${gzipped} bytes gzipped, over the ${CONSOLE_JS_BUDGET} byte budget`,
    );
  });

  it('is minified: no comments, no indentation, short lines', function () {
    assert.doesNotMatch(code, /^\s*\/\*\*/m, 'a doc comment survived');
    assert.doesNotMatch(code, /\n {2}\S/, 'indented lines: not minified');
    assert.ok(code.split('\n').length <= 3, `${code.split('\n').length} lines`);
  });

  it('points at its source map, which maps back to the client sources with their text', function () {
    assert.match(code, /\/\/# sourceMappingURL=console\.js\.map\s*$/);
    const map = JSON.parse(readFileSync(`${SCRIPT}.map`, 'utf8')) as {
      sources: string[];
      sourcesContent: string[];
    };
    assert.ok(map.sources.some((s) => s.endsWith('client/main.ts')));
    for (const source of map.sources) {
      // Relative to dist/console-ui/, where the map is served from.
      assert.ok(existsSync(path.resolve(consoleAssetsDir, source)), `${source} does not resolve`);
    }
    assert.equal(map.sourcesContent.length, map.sources.length);
  });
});
