/**
 * A small seeded random source for the fuzz and fault suite: the same seed gives the same run, so a
 * failure is reproduced with `FUZZ_SEED=<seed printed by the failing run>`. sfc32 (Chris Doty-Humphrey's
 * small fast counting generator, public domain): 128 bits of state, good enough statistically for
 * picking inputs, and a few lines instead of a dependency.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(readonly seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = seed >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** A new generator whose sequence depends on this one's (for one part of a run). */
  fork(): Random {
    return new Random(this.int(0, 0xffffffff));
  }

  /** An odd value: numbers at the edges, text that breaks parsers, very long strings. */
  oddValue(): string {
    switch (this.int(0, 11)) {
      case 0:
        return this.pick(['-1', '0', '-0', '1e300', '-1e300', 'NaN', 'Infinity', '1e-400']);
      case 1:
        return this.pick(['9007199254740993', '18446744073709551616', '0x1F', '1_000', '00012']);
      case 2:
        return this.pick(['', ' ', '\t', '\u00a0', '\u200b', '\ufeff', '\r\n']);
      case 3:
        return this.pick(['1 500', '1500,50', '22\u00a0500', '1500 ₽', '$1,500.00', '١٥٠٠']);
      case 4:
        return this.pick(['null', 'undefined', 'true', '[]', '{}', '__proto__', 'constructor']);
      case 5:
        return this.pick(['%', '%zz', '%00', '%C0%AF', '%ED%A0%80', '\u0000', '\ud800']);
      case 6:
        return this.pick(['<script>alert(1)</script>', '&amp;lt;', "'; DROP TABLE jobs; --"]);
      case 7:
        return this.pick(['GA1.1.123.456', '123.456', 'GA1.1..', 'GA1.1.-1.-1', 'GS2.1.s1$o1']);
      case 8:
        return 'x'.repeat(this.pick([99, 100, 101, 4096, 70_000]));
      case 9:
        return this.text(this.int(1, 40));
      case 10:
        return String(this.int(-1000, 10_000_000_000));
      default:
        return this.pick(['Новая заявка', 'Сделка №1 «Ёж»', '😀'.repeat(30), 'a[b]=c&d']);
    }
  }

  /** Random characters from the whole of Unicode's basic plane, lone surrogates included. */
  text(length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) {
      s += String.fromCharCode(this.chance(0.6) ? this.int(0x20, 0x7e) : this.int(0, 0xffff));
    }
    return s;
  }
}

/** The seed of this run: `FUZZ_SEED` when set, else a new one (printed by the suite). */
export function fuzzSeed(): number {
  const given = process.env.FUZZ_SEED;
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, not ${given}`);
    return seed >>> 0;
  }
  return Math.floor(Math.random() * 0xffffffff) >>> 0;
}

/**
 * How much to run: the short form inside `npm test` (`short`), the long one under `npm run fuzz`
 * (`FUZZ_LONG=1`, or `FUZZ_RUNS` for an exact count).
 */
export function fuzzRuns(short: number, long: number): number {
  const given = process.env.FUZZ_RUNS;
  if (given !== undefined && given !== '') return Math.max(1, Number(given) | 0);
  return isLongFuzz() ? long : short;
}

export function isLongFuzz(): boolean {
  return process.env.FUZZ_LONG === '1';
}
