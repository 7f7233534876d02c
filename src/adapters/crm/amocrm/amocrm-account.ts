/**
 * The amoCRM account a closeloop account serves: what the config names (the subdomain) and what
 * the API says (`GET /api/v4/account`: its id), read once per process and shared by the webhook
 * intake, the CRM source, the change feed and the lead writer.
 *
 * Two rules rest on it (docs/decisions.md, issue 12):
 * - The account part of every idempotency key is amoCRM's account id whenever closeloop can know
 *   it: the webhook's `account[id]`, or, for a body that carries only `account[subdomain]` (the
 *   2018 shape, research amocrm.md §1.6 ex. 1), the id the API gives for the configured account.
 *   Reconciliation keys its events with the same id, so one purchase has one key whichever way it
 *   came. Only without API access, for a body without `account[id]`, is it the subdomain; there
 *   is no reconciliation then to disagree with it.
 * - A webhook must name the account closeloop is configured for: amoCRM's webhooks are unsigned
 *   (research §2), the URL's secret is all that guards them, and a body naming another account is
 *   a mistake (the URL pasted into the wrong account) or a forgery. Without any configured
 *   account, any account is taken, as before.
 */
import type { CrmAccount, CrmClient } from './crm-client';

/** amoCRM's and Kommo's own hosts, whose first label is the account's subdomain (research §3). */
const AMOCRM_HOST = /^([a-z0-9-]+)\.(?:amocrm\.ru|amocrm\.com|kommo\.com)$/i;

export class AmocrmAccount {
  private account: CrmAccount | null = null;
  private loading: Promise<CrmAccount> | null = null;

  /**
   * @param subdomain the configured account's subdomain (`example`), or null when the config does
   *   not say (no subdomain, and a base_url that is a proxy or a test server)
   * @param client null: no API access
   */
  constructor(
    readonly subdomain: string | null,
    private readonly client: Pick<CrmClient, 'getAccount'> | null,
  ) {}

  get hasApi(): boolean {
    return this.client !== null;
  }

  /** The account as the API has it, read once (concurrent callers share the one request). */
  getAccount(): Promise<CrmAccount> {
    if (this.account !== null) return Promise.resolve(this.account);
    if (this.client === null) return Promise.reject(new Error('no amoCRM API access'));
    this.loading ??= this.client.getAccount().then(
      (account) => {
        this.account = account;
        return account;
      },
      (e: unknown) => {
        this.loading = null; // the next caller tries again
        throw e;
      },
    );
    return this.loading;
  }

  /** The API's answer if it has been read already; never any I/O (the webhook's hot path). */
  peek(): CrmAccount | null {
    return this.account;
  }

  /** Why a webhook naming this `account[…]` is not for this account, or null when it may be. */
  mismatch(body: { id: string | null; subdomain: string | null }): string | null {
    const known = this.account;
    const subdomain = this.subdomain ?? known?.subdomain ?? null;
    if (
      body.subdomain !== null &&
      subdomain !== null &&
      body.subdomain.toLowerCase() !== subdomain.toLowerCase()
    ) {
      return `the webhook is from the amoCRM account "${body.subdomain}" (account[subdomain]), and this URL is for "${subdomain}" (${this.subdomain === null ? 'the account the API answers for' : 'amocrm.subdomain'})`;
    }
    if (body.id !== null && known !== null && body.id !== known.id) {
      return `the webhook names account[id] ${body.id}, and the amoCRM account of this URL ("${known.subdomain}") has the id ${known.id}`;
    }
    return null;
  }
}

/**
 * The configured account's subdomain: `example` for `example`, `example.amocrm.ru` or
 * `example.kommo.com`, else the first label of a base_url on amoCRM's own hosts; null otherwise
 * (a proxy or a test server says nothing about the account).
 */
export function configuredSubdomain(
  subdomain: string | null,
  baseUrl: string | null,
): string | null {
  if (subdomain !== null) return subdomain.split('.')[0]?.toLowerCase() ?? null;
  if (baseUrl === null) return null;
  let host: string;
  try {
    host = new URL(baseUrl).hostname;
  } catch {
    return null;
  }
  return AMOCRM_HOST.exec(host)?.[1]?.toLowerCase() ?? null;
}

/**
 * The account part of an event's keys, with the API's account at hand: its id when the event
 * names the account by id or by subdomain; null when the event names another account.
 */
export function canonicalAccountId(named: string, account: CrmAccount): string | null {
  if (named === account.id) return account.id;
  return named.toLowerCase() === account.subdomain.toLowerCase() ? account.id : null;
}
