/**
 * The console's language, from the browser's Accept-Language header: the supported language the
 * browser ranks highest (by q, then by order), English when it names neither. Russian-speaking
 * browsers often list `uk`, `be` or `kk` before `ru`; those are not guessed at: `ru` must be named.
 */
export type ConsoleLanguage = 'ru' | 'en';

/** Longer headers are cut: a real browser sends a few dozen characters. */
const MAX_HEADER = 512;

export function pickLanguage(acceptLanguage: string | undefined): ConsoleLanguage {
  if (!acceptLanguage) return 'en';
  let best: { lang: ConsoleLanguage; q: number } | null = null;
  for (const part of acceptLanguage.slice(0, MAX_HEADER).split(',')) {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const primary = tag.trim().split('-')[0];
    if (primary !== 'ru' && primary !== 'en') continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q) || q <= 0) continue;
    if (best === null || q > best.q) best = { lang: primary, q };
  }
  return best?.lang ?? 'en';
}
