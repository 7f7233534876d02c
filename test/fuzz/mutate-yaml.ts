/**
 * Mutators of YAML config text, as a marketer's editor, a copy-paste or a hostile file would break
 * it: lines dropped, repeated or re-indented, tabs, values replaced by odd ones, keys renamed, and
 * YAML's own machinery (anchors, aliases, merge keys, tags, several documents, nested alias
 * expansion) put where nobody expects it.
 */
import type { Random } from './random';

export function mutateYaml(rnd: Random, text: string): string {
  let lines = text.split('\n');
  const times = rnd.int(1, 4);
  for (let i = 0; i < times; i++) {
    const at = rnd.int(0, Math.max(0, lines.length - 1));
    const line = lines[at] ?? '';
    switch (rnd.int(0, 13)) {
      case 0:
        lines.splice(at, 1);
        break;
      case 1:
        lines.splice(at, 0, line);
        break;
      case 2:
        lines[at] = ' '.repeat(rnd.int(0, 3)) + line;
        break;
      case 3:
        lines[at] = line.replace(/^ {2}/, '\t');
        break;
      case 4:
        lines[at] = line.replace(/:\s.*$/, `: ${yamlScalar(rnd)}`);
        break;
      case 5:
        lines[at] = line.replace(
          /^(\s*)([A-Za-z_]+)/,
          (_, s: string, k: string) => `${s}${renameKey(rnd, k)}`,
        );
        break;
      case 6:
        lines[at] = line.replace(/:\s(.+)$/, ': &a $1');
        break;
      case 7:
        lines[at] = line.replace(/:\s(.+)$/, `: *${rnd.pick(['a', 'nope', 'a'])}`);
        break;
      case 8:
        lines.splice(
          at,
          0,
          line.replace(/^(\s*(?:- )?).*$/, `$1<<: ${rnd.pick(['*a', '{x: 1}', '5', '[*a, *a]'])}`),
        );
        break;
      case 9:
        lines[at] = line.replace(
          /:\s(.+)$/,
          `: ${rnd.pick(['!!binary aGk=', '!!timestamp 2001-12-14', '!foo x', '!!map {}', '!!str 1'])}`,
        );
        break;
      case 10:
        lines.splice(
          at,
          0,
          rnd.pick(['---', '...', '%YAML 1.1', '%TAG ! tag:x,2000:', '? complex', '- stray']),
        );
        break;
      case 11:
        lines = [...billionLaughs(rnd), ...lines];
        break;
      case 12:
        lines = lines.slice(0, at);
        break;
      default:
        lines[at] =
          line.slice(0, rnd.int(0, line.length)) +
          rnd.pick(['"', "'", '[', '{', '#', '|', '>', ': ', '\\']);
    }
  }
  return lines.join('\n');
}

function yamlScalar(rnd: Random): string {
  return rnd.pick([
    '~',
    'null',
    '""',
    'yes',
    'no',
    'on',
    '0x1F',
    '0o17',
    '1e400',
    '-.inf',
    '.nan',
    '2026-12-03',
    '[]',
    '{}',
    '[1, [2, [3]]]',
    '${CLOSELOOP_FUZZ_UNSET}',
    '${CLOSELOOP_FUZZ_UNSET:-x}',
    '${',
    '$${X}',
    `"${'x'.repeat(rnd.pick([10, 5000]))}"`,
    JSON.stringify(rnd.oddValue()),
    String(rnd.int(-1000, 1_000_000)),
  ]);
}

function renameKey(rnd: Random, key: string): string {
  return rnd.pick([
    key.toUpperCase(),
    `${key}s`,
    key.slice(1),
    '__proto__',
    'constructor',
    'prototype',
    '"key with space"',
    '1',
  ]);
}

/** Anchors nested `depth` levels, each 9 aliases of the one before. */
function billionLaughs(rnd: Random): string[] {
  const depth = rnd.int(2, 9);
  const lines = ['l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
  for (let i = 1; i < depth; i++) {
    const alias = `*l${i - 1}`;
    lines.push(`l${i}: &l${i} [${Array.from({ length: 9 }, () => alias).join(', ')}]`);
  }
  return lines;
}
