/**
 * Errors are named by who must act. Every code is `AREA_WHAT`, listed with who fixes it (the core's
 * here, each adapter's in its own `errors.ts`, all in src/error-codes.ts), and documented in docs/errors.md (test/unit/errors-doc.test.ts keeps the two in sync).
 */

export type Fixer =
  | 'marketer'
  | 'operator'
  | 'site developer'
  | 'the CRM vendor'
  | 'nobody (transient)'
  | 'closeloop';

export interface ErrorCodeInfo {
  who: Fixer;
  summary: string;
}

export const CORE_ERROR_CODES = {
  CONFIG_INVALID: {
    who: 'marketer',
    summary: 'The YAML config has problems; each is listed with file, line and key.',
  },
  CONFIG_NOT_FOUND: {
    who: 'operator',
    summary: 'The config file does not exist or cannot be read.',
  },
  CONFIG_YAML_SYNTAX: { who: 'marketer', summary: 'The config file is not valid YAML.' },
  CONFIG_ENV_MISSING: {
    who: 'operator',
    summary: 'A `${VAR}` in the config names an environment variable that is not set.',
  },
  CONFIG_PERSONAL_DATA: {
    who: 'marketer',
    summary: 'A rule would send personal data (name, phone, email) to analytics.',
  },
  WEBHOOK_TOO_LARGE: { who: 'operator', summary: 'A webhook body is over the size limit.' },
  WEBHOOK_TOO_MANY_EVENTS: {
    who: 'operator',
    summary: 'A webhook holds more events than one request may (500; 1,000 for the signed intake).',
  },
  STORE_UNAVAILABLE: {
    who: 'operator',
    summary: 'The store could not take the write (disk full, locked, Redis down).',
  },
  HTTP_NOT_FOUND: {
    who: 'nobody (transient)',
    summary: 'No such route, or a webhook with a wrong secret.',
  },
  HTTP_REQUEST_TIMEOUT: {
    who: 'nobody (transient)',
    summary:
      'A connection sent no whole request (headers and body) within 10 s; closed with a 408.',
  },
  HTTP_TOO_MANY_CONNECTIONS: {
    who: 'operator',
    summary: 'CLOSELOOP_MAX_CONNECTIONS connections were open; one more was closed at once.',
  },
  METRICS_UNAUTHORIZED: {
    who: 'operator',
    summary: 'GET /metrics without the Bearer token that CLOSELOOP_METRICS_TOKEN sets.',
  },
  INTERNAL: { who: 'closeloop', summary: 'An unexpected error; the log line has the stack.' },
  RULE_VALUE_MISSING: {
    who: 'marketer',
    summary: 'A required event parameter has no value for this lead.',
  },
  RULE_VALUE_OUT_OF_RANGE: {
    who: 'marketer',
    summary:
      'A money parameter is negative, not a finite number, or over delivery.max_value; the event is skipped.',
  },
  DELIVERY_RETRY_EXHAUSTED: {
    who: 'operator',
    summary: 'A destination kept failing for the whole retry window (72 hours).',
  },
  LEAD_FORM_INVALID: {
    who: 'site developer',
    summary:
      'A form posted to POST /leads is not a lead form (no phone or email, a bad value, too large).',
  },
  LEAD_INTAKE_FORBIDDEN_ORIGIN: {
    who: 'operator',
    summary: 'A browser posted to POST /leads from a site not listed in lead_intake.cors_origins.',
  },
  LEAD_INTAKE_RATE_LIMITED: {
    who: 'nobody (transient)',
    summary: 'Too many forms from one IP address within a minute (lead_intake.per_ip_per_minute).',
  },
  LEAD_CREATE_FAILED: {
    who: 'operator',
    summary: 'A lead from a site form could not be created in the CRM; the job is kept as failed.',
  },
  ACCOUNT_UNKNOWN: {
    who: 'operator',
    summary: 'A stored event or delivery names an account or destination the config no longer has.',
  },
  WEBHOOK_SIGNATURE_INVALID: {
    who: 'operator',
    summary: 'A signed intake request has no valid X-Closeloop-Signature; nothing was stored.',
  },
  WEBHOOK_INVALID: {
    who: 'site developer',
    summary: 'A signed intake request is not a valid deal event; every problem is listed.',
  },
  DELIVERY_DUPLICATE: {
    who: 'nobody (transient)',
    summary: 'The conversion was already sent; the ledger kept it from being sent twice.',
  },
  DELIVERY_UNCERTAIN: {
    who: 'marketer',
    summary:
      'A send was interrupted (a crash, a timeout) after its request was written, so the destination may have counted it. Held, not resent blindly: `closeloop replay` sends it when you decide to.',
  },
  DEAL_AMOUNT_CHANGED: {
    who: 'marketer',
    summary:
      'A won deal’s amount changed after its purchase was sent; the destination still counts the old amount (revenue.amount_changed: record).',
  },
  DATA_NOT_FOUND: {
    who: 'operator',
    summary:
      'A command found no embedded store where it looked (the data folder beside the config).',
  },
  HTTP_LISTEN_FAILED: {
    who: 'operator',
    summary: 'The service could not listen: the port is in use or needs rights, or HOST is wrong.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

/**
 * Every code there is. The core's are above; each adapter adds its own (`AMOCRM_*`, `GA4_*`) by
 * augmenting this interface in its `errors.ts`, so a code is typed wherever it is thrown, and
 * src/error-codes.ts lists them all for the docs.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ErrorCodeRegistry extends CoreErrorCodes {}
type CoreErrorCodes = typeof CORE_ERROR_CODES;

export type ErrorCode = Extract<keyof ErrorCodeRegistry, string>;

export interface AppErrorOptions {
  retryable?: boolean;
  httpStatus?: number;
  details?: unknown;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly httpStatus: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.httpStatus = options.httpStatus ?? 500;
    this.details = options.details;
  }
}

/** One problem in the config, located for a person: file, line, key, and how to fix it. */
export interface ConfigProblem {
  file: string;
  line: number | null;
  /** Dotted path of the key (`rules[1].send[0].event`), or '' for the whole file. */
  key: string;
  message: string;
  fix: string;
  code?: ErrorCode;
  /** The value came from this environment variable, not from a line of the file. */
  variable?: string;
}

/** The marketer fixes the YAML. Carries every problem found, never just the first. */
export class ConfigError extends AppError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: ConfigProblem[], code: ErrorCode = 'CONFIG_INVALID') {
    super(code, formatConfigProblems(problems), { details: problems });
    this.problems = problems;
  }
}

export function formatConfigProblems(problems: readonly ConfigProblem[]): string {
  const n = problems.length;
  const head = `${n} problem${n === 1 ? '' : 's'} in the config:`;
  const lines = problems.map((p) => {
    const where =
      p.variable === undefined
        ? `${p.file}${p.line === null ? '' : `:${p.line}`}${p.key ? ` ${p.key}` : ''}`
        : `environment variable ${p.variable} (for ${p.key} in ${p.file})`;
    return `  - ${where}: ${p.message}\n    fix: ${p.fix}`;
  });
  return [head, ...lines].join('\n');
}

/** A request body that is not what the route takes: answered 400, never stored. */
export class PayloadError extends AppError {
  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(code, message, { httpStatus: 400, ...options });
  }
}

/** The operator fixes credentials. */
export class AuthError extends AppError {
  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(code, message, { httpStatus: 401, ...options });
  }
}

/**
 * Worth trying again later: 429, 5xx, timeouts, network. `retryAfterMs` honours `Retry-After`.
 * `maybeDelivered`: the request was written whole and no answer came (a timeout, a reset), so the
 * other side may have acted on it; a resend could count it twice.
 */
export class RetryableError extends AppError {
  readonly retryAfterMs: number | null;
  readonly maybeDelivered: boolean;
  constructor(
    code: ErrorCode,
    message: string,
    options: AppErrorOptions & { retryAfterMs?: number | null; maybeDelivered?: boolean } = {},
  ) {
    super(code, message, { httpStatus: 503, ...options, retryable: true });
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.maybeDelivered = options.maybeDelivered ?? false;
  }
}

/** The destination refused for good (or we refused to send an invalid payload). Never retried. */
export class DeliveryError extends AppError {
  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(code, message, { httpStatus: 502, ...options, retryable: false });
  }
}

/**
 * Too late: the destination can no longer count this conversion (Metrica links a conversion only
 * to a visit within its window). Never retried and not a failure to fix: recorded as `expired`.
 */
export class ExpiredError extends DeliveryError {}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
