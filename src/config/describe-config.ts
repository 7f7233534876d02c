/**
 * What a valid config means, in a few lines for a person: where events go, the rules, revenue
 * handling, the CRM connections and where each secret comes from. `closeloop check-config`
 * prints it; the console's setup page shows it.
 */
import type { FieldRef, RevenueSettings, Rule } from '../core/config-types';
import type { CloseloopConfig } from './config-types';
import { portalKeyOf } from '../adapters/crm/bitrix24/create-bitrix24-client';
import { describeSource } from './env-bindings';

/** The summary check-config prints for a valid config. */
export function describeConfig(config: CloseloopConfig): string[] {
  const { ga4 } = config;
  const lines = [`Config file: ${config.file} (valid)`];
  if (ga4.dryRun) {
    const reasons: string[] = [];
    if (ga4.measurementId === null) reasons.push('measurement_id is not set');
    if (ga4.apiSecret === null) reasons.push('api_secret is not set');
    if (reasons.length === 0) reasons.push('dry_run: true in the config');
    lines.push(
      `GA4: DRY RUN, events are checked and recorded but not sent (${reasons.join('; ')})`,
    );
    if (ga4.measurementId === null || ga4.apiSecret === null) {
      lines.push(
        '     to send events, set GA4_MEASUREMENT_ID and GA4_API_SECRET (or ga4.measurement_id and ga4.api_secret)',
      );
    }
  } else {
    lines.push(`GA4: events are sent to ${ga4.endpoint}`);
  }
  lines.push(
    `     measurement_id: ${ga4.measurementId ?? 'not set'}, api_secret: ${ga4.apiSecret === null ? 'not set' : 'set'}, endpoint: ${ga4.endpoint}`,
  );
  lines.push(`Currency: ${config.currency}`);
  lines.push(describeRevenue(config.revenue));
  lines.push(`Client ID field: ${describeField(config.amocrm.fields.clientId)}`);
  const session = config.amocrm.fields.sessionId;
  lines.push(
    `Session ID field: ${session === null ? 'none (no session ID is sent)' : describeField(session)}`,
  );
  lines.push(
    `Webhook secret: ${config.webhook.secret === null ? 'not set (closeloop generates one and keeps it in the data folder)' : 'set'}`,
  );
  lines.push(describeAmocrmApi(config));
  lines.push(describeBitrix24(config.bitrix24));
  lines.push(describeGeneric(config.generic));
  for (const account of config.accounts) {
    lines.push(
      `Account ${account.name}: GA4 ${account.ga4.dryRun ? 'dry run' : (account.ga4.measurementId ?? '')}, ${account.amocrm.api === null ? 'amoCRM webhooks only' : `amoCRM API ${account.amocrm.api.baseUrl}`}, ${account.generic === null ? 'no signed intake' : 'signed intake on'}, currency ${account.currency}, ${account.rules === config.rules ? 'the shared rules' : `${account.rules.length} rules of its own`}`,
    );
  }
  lines.push(...describeSources(config));
  if (config.rules.length === 0) {
    lines.push(
      'Rules: none, so nothing will be sent to GA4 (add rules under rules:, see config/closeloop.example.yaml)',
    );
  } else {
    lines.push(`Rules (${config.rules.length}):`);
    for (const rule of config.rules) lines.push(`  ${describeRule(rule)}`);
  }
  return lines;
}

/**
 * Where each setting with an environment variable came from. The rule: a value in the config wins;
 * one the config leaves out or empty comes from its variable.
 */
function describeSources(config: CloseloopConfig): string[] {
  if (config.sources.length === 0) return [];
  const width = Math.max(...config.sources.map((s) => s.key.length));
  return [
    'Settings with an environment variable (a value in the config wins; a missing or empty one comes from the variable):',
    ...config.sources.map((s) => `  ${s.key.padEnd(width)}  ${describeSource(s, config.file)}`),
  ];
}

function describeField(ref: FieldRef): string {
  if ('code' in ref) return `code ${ref.code}`;
  if ('id' in ref) return `id ${ref.id}`;
  return `name "${ref.name}"`;
}

function ids(one: string, many: string, list: readonly string[]): string {
  return `${list.length === 1 ? one : many} ${list.join(', ')}`;
}

/** `New lead: lead_added, any pipeline → generate_lead`. */
export function describeRule(rule: Rule): string {
  const parts: string[] = [rule.on];
  parts.push(
    rule.pipelines === null ? 'any pipeline' : ids('pipeline', 'pipelines', rule.pipelines),
  );
  if (rule.statuses !== null) parts.push(ids('status', 'statuses', rule.statuses));
  else if (rule.on === 'status_changed' && rule.outcomes === null) parts.push('any status');
  if (rule.fromStatuses !== null)
    parts.push(ids('from status', 'from statuses', rule.fromStatuses));
  if (rule.outcomes !== null) parts.push(`outcome ${rule.outcomes.join(' or ')}`);
  if (rule.sources !== null) parts.push(`from ${rule.sources.join(', ')}`);
  return `${rule.name}: ${parts.join(', ')} → ${rule.send.map((e) => e.name).join(', ')}`;
}

/** `Revenue already sent: won again: counted once (won_again: ignore), …`. */
function describeRevenue(revenue: RevenueSettings): string {
  const anew = 'refunded and sent anew';
  const wonAgain = revenue.wonAgain === 'ignore' ? 'counted once' : anew;
  const lost = revenue.lostAfterWon === 'ignore' ? 'kept' : 'refunded';
  const amount = revenue.amountChanged === 'record' ? 'recorded' : anew;
  return (
    `Revenue already sent: a deal won again is ${wonAgain} (won_again: ${revenue.wonAgain}); ` +
    `lost after won, ${lost} (lost_after_won: ${revenue.lostAfterWon}); ` +
    `an amount changed, ${amount} (amount_changed: ${revenue.amountChanged})`
  );
}

function describeGeneric(generic: CloseloopConfig['generic']): string {
  if (generic === null) {
    return 'Signed intake: off (set CLOSELOOP_INTAKE_SECRET to take deal events from other systems)';
  }
  const mappings = Object.keys(generic.mappings);
  return `Signed intake: POST /webhooks/generic/<webhook secret>, ${generic.secret === null ? 'no signing key (signed events are refused)' : 'signing key set'}, accounts ${generic.accounts?.join(', ') ?? 'any'}${mappings.length ? `, mappings ${mappings.join(', ')}` : ''}`;
}

function describeAmocrmApi(config: CloseloopConfig): string {
  const api = config.amocrm.api;
  if (api === null) {
    return config.amocrm.subdomain === null
      ? 'amoCRM API: not configured (webhook data only; set AMOCRM_SUBDOMAIN and AMOCRM_TOKEN to read deals through the API)'
      : 'amoCRM API: not configured (webhook data only; set AMOCRM_TOKEN, or amocrm.oauth, to read deals through the API)';
  }
  const auth = api.auth.kind === 'long-lived' ? 'long-lived token set' : 'OAuth';
  const reconcile = api.reconcile.enabled
    ? `missed webhooks polled every ${api.reconcile.intervalMs / 60_000} min`
    : 'no polling for missed webhooks';
  return `amoCRM API: ${api.baseUrl}, ${auth}, at most ${api.requestsPerSecond} requests/s, ${reconcile}`;
}

function describeBitrix24(b24: CloseloopConfig['bitrix24']): string {
  if (b24.rest === null) {
    return 'Bitrix24: off (set BITRIX24_WEBHOOK_URL and BITRIX24_APPLICATION_TOKEN to take its deals)';
  }
  // The portal's host only: the incoming webhook's path is a secret.
  const host = portalKeyOf(b24.rest.webhookUrl).replace(/^bitrix24:/, '');
  const hooks =
    b24.applicationToken === null
      ? 'no application token (its webhooks are not taken; set BITRIX24_APPLICATION_TOKEN)'
      : 'webhooks at POST /webhooks/bitrix24/<webhook secret>, application token set';
  const reconcile = b24.rest.reconcile.enabled
    ? `stage history read every ${b24.rest.reconcile.intervalMs / 60_000} min`
    : 'no reconciliation';
  return `Bitrix24: REST at ${host}, ${hooks}, bucket ${b24.rest.requestsPerSecond}/s burst ${b24.rest.burst}, ${reconcile}, client ID field ${b24.fields.gaClientId ?? 'none'}`;
}
