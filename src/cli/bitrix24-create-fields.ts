/**
 * `closeloop bitrix24 create-fields`: creates the custom fields closeloop reads the visitor's
 * identities from (bitrix24.fields: UF_CRM_GA_CLIENT_ID, UF_CRM_GA_SESSION_ID,
 * UF_CRM_YM_CLIENT_ID, UF_CRM_YCLID by default) on leads and on deals, as text fields, through
 * `crm.lead.userfield.add` / `crm.deal.userfield.add` (research bitrix24.md §5.3: Bitrix24 adds
 * the UF_CRM_ prefix itself). A field that exists already is left as it is, so it is safe to run
 * again.
 */
import type { Command } from 'commander';
import { errorMessage } from '../core/error-message';
import { isAppError } from '../core/errors';
import type { Bitrix24FieldSettings } from '../adapters/crm/bitrix24/config';
import type { Bitrix24Client } from '../adapters/crm/bitrix24/bitrix24-client';
import type { B24UserField } from '../adapters/crm/bitrix24/bitrix24-types';
import { parseAccountName } from './cli-values';
import type { CliRun } from './cli-run';
import { bitrix24ClientOf, NO_BITRIX24_REST } from './bitrix24-client-beside-service';
import { CONFIG_ARGUMENT, loadAccountOrReport } from './load-config-or-report';

/** What a person reads in the lead and deal cards. */
const LABELS: Readonly<Record<keyof Bitrix24FieldSettings, string>> = {
  gaClientId: 'GA client ID',
  gaSessionId: 'GA session ID',
  ymClientId: 'Yandex Metrica ClientID',
  yclid: 'yclid',
  gclid: 'gclid',
};

/** The `userfield.list` pages stop here: a portal has far fewer custom fields. */
const MAX_PAGES = 20;

export function bitrix24Command(run: CliRun): Command {
  const createFields = run
    .command('create-fields')
    .summary('create the identity fields on Bitrix24 leads and deals')
    .description(
      'Creates the text fields closeloop reads the GA client ID, GA session ID, Metrica ClientID and ' +
        'click IDs from (bitrix24.fields in the config; UF_CRM_GA_CLIENT_ID, UF_CRM_GA_SESSION_ID, ' +
        'UF_CRM_YM_CLIENT_ID and UF_CRM_YCLID by default) on leads and on deals. Fields that exist ' +
        'are left as they are. Needs BITRIX24_WEBHOOK_URL (an incoming webhook with the crm scope, ' +
        'made by an administrator).',
    )
    .argument('[config]', CONFIG_ARGUMENT)
    .option(
      '--account <name>',
      'the account whose portal to change (default, or one under accounts:)',
      run.value(parseAccountName),
    )
    .action(
      run.action(
        'bitrix24 create-fields',
        (configPath: string | undefined, options: { account?: string }) =>
          create(configPath, options.account ?? 'default', run),
      ),
    );
  return run
    .command('bitrix24')
    .summary('Bitrix24 set-up: create-fields')
    .description('Commands that set up a Bitrix24 portal for closeloop.')
    .addCommand(createFields);
}

async function existing(client: Bitrix24Client, entity: 'lead' | 'deal'): Promise<Set<string>> {
  const names = new Set<string>();
  let start = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await client.call(`crm.${entity}.userfield.list`, { start });
    const rows = Array.isArray(answer.result) ? (answer.result as B24UserField[]) : [];
    for (const row of rows) names.add(row.FIELD_NAME);
    if (typeof answer.next !== 'number') break;
    start = answer.next;
  }
  return names;
}

async function create(
  configPath: string | undefined,
  accountName: string,
  run: CliRun,
): Promise<number> {
  const { io, env, cwd } = run;
  const loaded = loadAccountOrReport(io, env, cwd, configPath, accountName);
  if (loaded === null) return 1;
  const { account } = loaded;
  const rest = account.bitrix24.rest;
  if (rest === null) {
    io.err(NO_BITRIX24_REST);
    return 1;
  }
  const client = bitrix24ClientOf(rest, io, null);
  const wanted = (
    Object.entries(account.bitrix24.fields) as Array<[keyof Bitrix24FieldSettings, string | null]>
  ).filter((e): e is [keyof Bitrix24FieldSettings, string] => e[1] !== null);
  try {
    for (const entity of ['lead', 'deal'] as const) {
      const have = await existing(client, entity);
      for (const [key, code] of wanted) {
        if (have.has(code)) {
          io.out(`${entity} ${code}: exists`);
          continue;
        }
        const label = LABELS[key];
        await client.call(`crm.${entity}.userfield.add`, {
          fields: {
            FIELD_NAME: code.replace(/^UF_CRM_/, ''),
            USER_TYPE_ID: 'string',
            XML_ID: code,
            EDIT_FORM_LABEL: label,
            LIST_COLUMN_LABEL: label,
            LIST_FILTER_LABEL: label,
            SHOW_FILTER: 'Y',
          },
        });
        io.out(`${entity} ${code}: created (${label})`);
      }
    }
  } catch (e) {
    io.err(
      `could not create the fields in Bitrix24: ${errorMessage(e)}${isAppError(e) ? ` [${e.code}]` : ''}`,
    );
    return 1;
  }
  io.out(
    'Fill them from the site: docs/bitrix24.md (a CRM form, or POST /leads with the form snippet).',
  );
  return 0;
}
