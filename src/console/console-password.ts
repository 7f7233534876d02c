/**
 * The console's password (CLOSELOOP_CONSOLE_PASSWORD) and API token (CLOSELOOP_API_TOKEN): read
 * at start, refused when easy to guess, like the webhook secret (src/config/check-meaning.ts).
 */
import { weakSecretReason } from '../config/check-meaning';

export const MIN_CONSOLE_PASSWORD_CHARS = 12;

/** What password lists start with; a password holding one is guessed early. */
const COMMON_PARTS = ['password', 'passw0rd', 'qwerty', '123456', 'admin', 'closeloop', 'letmein'];

/** Why the console password is too weak, or null. Never quotes the password. */
export function weakPasswordReason(password: string): string | null {
  const common = COMMON_PARTS.find((w) => password.toLowerCase().includes(w));
  if (common !== undefined) return 'it is built on a word every guesser tries first';
  if (password.length < MIN_CONSOLE_PASSWORD_CHARS) {
    return `it has ${password.length} characters; the console needs at least ${MIN_CONSOLE_PASSWORD_CHARS}`;
  }
  if (password.length < 16) {
    // weakSecretReason judges 16 characters and up; the same test for a shorter password.
    const distinct = new Set(password).size;
    if (distinct < 8) return `it has only ${distinct} different characters`;
    return null;
  }
  return weakSecretReason(password);
}

export interface ConsoleSettings {
  password: string | null;
  apiToken: string | null;
}

/** CLOSELOOP_CONSOLE_PASSWORD and CLOSELOOP_API_TOKEN; a string says what is wrong and the fix. */
export function readConsoleSettings(env: NodeJS.ProcessEnv): ConsoleSettings | string {
  const password = env.CLOSELOOP_CONSOLE_PASSWORD ?? '';
  const apiToken = env.CLOSELOOP_API_TOKEN?.trim() ?? '';
  if (password !== '') {
    const why = weakPasswordReason(password);
    if (why !== null) {
      return `CLOSELOOP_CONSOLE_PASSWORD is easy to guess (${why}); it is all that keeps strangers out of the console, which can replay deliveries. Fix: set it to a long random one, e.g. the output of openssl rand -base64 18, or unset it to turn the console off.`;
    }
  }
  if (
    apiToken !== '' &&
    (!/^[\x21-\x7e]{24,}$/.test(apiToken) || weakSecretReason(apiToken) !== null)
  ) {
    return `CLOSELOOP_API_TOKEN must be at least 24 printable characters without spaces and not easy to guess (it is sent as Authorization: Bearer <token> to /api/v1). Fix: set it to e.g. the output of openssl rand -hex 24, or unset it.`;
  }
  if (apiToken !== '' && password === '') {
    return `CLOSELOOP_API_TOKEN is set but CLOSELOOP_CONSOLE_PASSWORD is not: /api/v1 is part of the console, which is off. Fix: set CLOSELOOP_CONSOLE_PASSWORD too, or unset CLOSELOOP_API_TOKEN.`;
  }
  return {
    password: password === '' ? null : password,
    apiToken: apiToken === '' ? null : apiToken,
  };
}
