/**
 * The HTML every console page shares: escaping and the document around a page's body. Pages are
 * plain server-rendered HTML; the one script (/console/assets/console.js) fills in the data from
 * /api/v1. No inline script runs (the labels travel as a JSON data block), so a strict
 * Content-Security-Policy (`script-src 'self'`) fits.
 */
import type { ConsoleLanguage } from './pick-language';

export const ASSETS = '/console/assets';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text or attribute value, safe inside HTML. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** JSON inside a `<script type="application/json">` block: `<` escaped so no `</script>` ends it. */
export function jsonBlock(id: string, value: unknown): string {
  const json = JSON.stringify(value).replace(/</g, '\\u003c');
  return `<script type="application/json" id="${id}">${json}</script>`;
}

export interface DocumentParts {
  lang: ConsoleLanguage;
  title: string;
  /** Extra tags for <head> (meta, stylesheets). */
  head?: string;
  bodyAttributes?: string;
  body: string;
  /** Script files (under /console/assets/) loaded at the end of <body>, in order. */
  scripts?: string[];
}

export function renderDocument(parts: DocumentParts): string {
  const scripts = (parts.scripts ?? [])
    .map((file) => `<script src="${ASSETS}/${file}" defer></script>`)
    .join('');
  return (
    `<!doctype html><html lang="${parts.lang}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="referrer" content="same-origin">` +
    `<title>${escapeHtml(parts.title)}</title>` +
    `<link rel="stylesheet" href="${ASSETS}/console.css">${parts.head ?? ''}</head>` +
    `<body${parts.bodyAttributes ? ' ' + parts.bodyAttributes : ''}>${parts.body}${scripts}</body></html>`
  );
}
