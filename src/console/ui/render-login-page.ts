/**
 * GET /console/login (and the 401/429 answers of POST /console/login): one password field. The
 * form works without any script; it posts `password` (and `csrf_token` when the route gives one)
 * to /console/login as application/x-www-form-urlencoded.
 */
import { escapeHtml, renderDocument } from './html';
import { labelsFor } from './labels';
import type { ConsoleLanguage } from './pick-language';

export interface LoginPageOptions {
  lang: ConsoleLanguage;
  error?: 'wrong_password' | 'too_many_attempts';
  csrfToken?: string;
}

export function renderLoginPage(opts: LoginPageOptions): string {
  const t = labelsFor(opts.lang);
  const error = opts.error
    ? `<p class="notice notice-error" role="alert" id="login-error">${escapeHtml(t[`login.error.${opts.error}`])}</p>`
    : '';
  const csrf =
    opts.csrfToken === undefined
      ? ''
      : `<input type="hidden" name="csrf_token" value="${escapeHtml(opts.csrfToken)}">`;
  const body =
    `<main class="login"><form class="card login-form" method="post" action="/console/login">` +
    `<h1>${escapeHtml(t['login.title'])}</h1>${error}${csrf}` +
    `<label for="password">${escapeHtml(t['login.password'])}</label>` +
    `<input id="password" name="password" type="password" autocomplete="current-password" required autofocus maxlength="1024">` +
    `<button type="submit">${escapeHtml(t['login.submit'])}</button>` +
    `<p class="hint">${escapeHtml(t['login.hint'])}</p></form></main>`;
  return renderDocument({ lang: opts.lang, title: t['login.title'], body });
}
