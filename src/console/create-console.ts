/**
 * The marketers' console and its JSON API, as one express router mounted by createApp: log-in and
 * log-out, the four pages (HTML shells from src/console/ui, data from /api/v1), the static assets,
 * and /api/v1 behind a session (with a CSRF token on every POST) or the API token.
 *
 * Only when CLOSELOOP_CONSOLE_PASSWORD is set; a weak one is refused at start (console-password.ts).
 */
import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { AppError } from '../core/errors';
import type { Store } from '../ports/store';
import type { RequestLogger } from '../http/send-error';
import { consoleAssetsDir, pickLanguage, renderAppPage, renderLoginPage, type AppPage } from './ui';
import {
  equal,
  readCookie,
  SESSION_COOKIE,
  SESSION_SECRET_SETTING,
  SESSION_TTL_MS,
  sessionCookie,
  SessionKeys,
  type Session,
} from './console-session';
import { createApiRouter, type ConsoleActions } from './api-router';

export interface ConsoleDeps {
  password: string;
  /** CLOSELOOP_API_TOKEN: `Authorization: Bearer <it>` reaches /api/v1 without a session or CSRF. */
  apiToken: string | null;
  store: Store;
  actions: ConsoleActions;
  logger: RequestLogger;
  now: () => number;
}

/** Log-in attempts per client address in any 15 minutes, shared by every process on the store. */
export const LOGIN_ATTEMPTS = 10;
export const LOGIN_WINDOW_MS = 15 * 60_000;

const PAGES: Array<{ path: string; page: AppPage }> = [
  { path: '/console', page: 'overview' },
  { path: '/console/deliveries', page: 'deliveries' },
  { path: '/console/deals/:id', page: 'deal' },
  { path: '/console/setup', page: 'setup' },
];

/** What a request carries once authenticated; `session` null for the API token. */
interface Authed {
  session: Session | null;
}

export async function createConsole(deps: ConsoleDeps): Promise<Router> {
  const secret = await deps.store.initSetting(
    SESSION_SECRET_SETTING,
    randomBytes(32).toString('base64url'),
  );
  const keys = new SessionKeys(secret, deps.password);
  const limiter = deps.store.createWindowLimiter('console-login', LOGIN_ATTEMPTS, LOGIN_WINDOW_MS);
  const router = express.Router();
  const sessionOf = (req: Request): Session | null =>
    keys.verify(readCookie(req.headers.cookie, SESSION_COOKIE), deps.now());
  const lang = (req: Request) => pickLanguage(req.headers['accept-language']);

  router.use(['/console', '/api/v1'], (_req, res, next) => {
    // Pages and answers are private and never framed; scripts only from this origin.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    next();
  });

  router.use(
    '/console/assets',
    express.static(consoleAssetsDir, { fallthrough: false, index: false, maxAge: '1h' }),
  );

  router.get('/console/login', (req, res) => {
    if (sessionOf(req) !== null) return res.redirect(303, '/console');
    res.type('html').send(renderLoginPage({ lang: lang(req) }));
  });

  router.post(
    '/console/login',
    express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }),
    (req, res, next) => {
      const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
      limiter.take(`ip:${ip}`).then(
        ({ retryAfterMs }) => {
          if (retryAfterMs !== null) {
            deps.logger.warn('console log-in refused: too many attempts from this address', {
              code: 'CONSOLE_TOO_MANY_LOGINS',
              ip,
            });
            res.setHeader('Retry-After', String(Math.ceil(retryAfterMs / 1000)));
            res
              .status(429)
              .type('html')
              .send(renderLoginPage({ lang: lang(req), error: 'too_many_attempts' }));
            return;
          }
          const given = (req.body as Record<string, unknown> | undefined)?.password;
          if (typeof given !== 'string' || !equal(given, deps.password)) {
            res
              .status(401)
              .type('html')
              .send(renderLoginPage({ lang: lang(req), error: 'wrong_password' }));
            return;
          }
          const { value } = keys.issue(deps.now());
          res.setHeader('Set-Cookie', sessionCookie(value, req.secure, SESSION_TTL_MS / 1000));
          res.redirect(303, '/console');
        },
        (e: unknown) => next(e),
      );
    },
  );

  router.post(
    '/console/logout',
    express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }),
    (req, res, next) => {
      const session = sessionOf(req);
      const token =
        req.get('x-csrf-token') ?? (req.body as Record<string, unknown> | undefined)?.csrf_token;
      if (
        session !== null &&
        !keys.isCsrfToken(session, typeof token === 'string' ? token : undefined)
      ) {
        next(csrfRefused());
        return;
      }
      res.setHeader('Set-Cookie', sessionCookie('', req.secure, 0));
      res.redirect(303, '/console/login');
    },
  );

  for (const { path, page } of PAGES) {
    router.get(path, (req, res) => {
      const session = sessionOf(req);
      if (session === null) return res.redirect(303, '/console/login');
      const dealId = page === 'deal' ? String(req.params.id ?? '') : undefined;
      res.type('html').send(
        renderAppPage(page, {
          lang: lang(req),
          csrfToken: keys.csrfToken(session),
          ...(dealId === undefined ? {} : { dealId }),
        }),
      );
    });
  }

  const bearer = deps.apiToken;
  router.use('/api/v1', (req: Request & Partial<Authed>, _res: Response, next: NextFunction) => {
    const auth = req.get('authorization');
    if (auth !== undefined && bearer !== null) {
      const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
      if (m !== null && equal(m[1]!, bearer)) {
        req.session = null;
        return next();
      }
    }
    const session = sessionOf(req);
    if (session === null) {
      return next(
        new AppError(
          'CONSOLE_UNAUTHORIZED',
          'log in to the console first (POST /console/login), or send Authorization: Bearer <CLOSELOOP_API_TOKEN>',
          { httpStatus: 401 },
        ),
      );
    }
    // Every method that changes something needs the page's token: a forged form cannot have it.
    if (
      req.method !== 'GET' &&
      req.method !== 'HEAD' &&
      !keys.isCsrfToken(session, req.get('x-csrf-token'))
    ) {
      return next(csrfRefused());
    }
    req.session = session;
    next();
  });
  router.use(
    '/api/v1',
    createApiRouter({ store: deps.store, actions: deps.actions, now: deps.now }),
  );
  return router;
}

function csrfRefused(): AppError {
  return new AppError(
    'CONSOLE_CSRF_REFUSED',
    'this action needs the console page’s CSRF token in the X-CSRF-Token header (reload the page)',
    { httpStatus: 403 },
  );
}
