/**
 * `closeloop statuses`: every pipeline of the account's CRMs (amoCRM, Bitrix24) and its stages
 * with ids and what each means, as a table, so a marketer can write rules by id or check the names
 * they use.
 */
import type { Command } from 'commander';
import { isAppError } from '../core/errors';
import { errorMessage } from '../core/error-message';
import type { CatalogPipeline } from '../ports/crm-catalog';
import { toCatalog } from '../adapters/crm/amocrm/amocrm-catalog';
import { parseAccountName } from './cli-values';
import type { CliRun } from './cli-run';
import { openAmocrmClientBesideService } from './amocrm-client-beside-service';
import { CONFIG_ARGUMENT, loadAccountOrReport } from './load-config-or-report';
import { Bitrix24Catalog } from '../adapters/crm/bitrix24/bitrix24-catalog';
import { bitrix24ClientOf } from './bitrix24-client-beside-service';

export function statusesCommand(run: CliRun): Command {
  return run
    .command('statuses')
    .summary('the CRM’s pipelines and their stages, with ids (amoCRM, Bitrix24)')
    .description(
      'Prints every pipeline of the account’s CRM with its stages, their ids and what each means (won, ' +
        'lost), to write rules by id or to check the names they use. amoCRM needs API access: ' +
        'AMOCRM_SUBDOMAIN and AMOCRM_TOKEN (a long-lived token), or amocrm.oauth in the config and ' +
        '`closeloop auth` once. Bitrix24 needs BITRIX24_WEBHOOK_URL (its incoming webhook).',
    )
    .argument('[config]', CONFIG_ARGUMENT)
    .option(
      '--account <name>',
      'the account whose CRM to list (default, or one under accounts:)',
      run.value(parseAccountName),
    )
    .action(
      run.action('statuses', (configPath: string | undefined, options: { account?: string }) =>
        statuses(configPath, options.account ?? 'default', run),
      ),
    );
}

async function statuses(
  configPath: string | undefined,
  accountName: string,
  run: CliRun,
): Promise<number> {
  const { io, env, cwd } = run;
  const loaded = loadAccountOrReport(io, env, cwd, configPath, accountName);
  if (loaded === null) return 1;
  const { account } = loaded;
  const api = account.amocrm.api;
  const rest = account.bitrix24.rest;
  if (api === null && rest === null) {
    io.err(
      'closeloop statuses needs amoCRM API access or Bitrix24’s incoming webhook: for amoCRM set AMOCRM_SUBDOMAIN (example for example.amocrm.ru) and AMOCRM_TOKEN (a long-lived token), or configure amocrm.oauth; for Bitrix24 set BITRIX24_WEBHOOK_URL.',
    );
    return 1;
  }
  let code = 0;
  if (api !== null) {
    const amocrm = await openAmocrmClientBesideService(api, run, configPath, {
      warn: (m) => io.err(m),
      error: (m) => io.err(m),
      info: () => undefined,
    });
    try {
      if (rest !== null) io.out('amoCRM');
      const pipelines = toCatalog(await amocrm.client.getPipelines());
      for (const line of formatPipelines(pipelines)) io.out(line);
    } catch (e) {
      io.err(
        `could not read the pipelines from amoCRM: ${errorMessage(e)}${isAppError(e) ? ` [${e.code}]` : ''}`,
      );
      code = 1;
    } finally {
      await amocrm.close();
    }
  }
  if (rest !== null) {
    try {
      const pipelines = await new Bitrix24Catalog(bitrix24ClientOf(rest, io, null)).pipelines();
      if (api !== null) io.out('Bitrix24');
      for (const line of formatPipelines(pipelines, 'status: C1:WON, or status: Оплачено')) {
        io.out(line);
      }
    } catch (e) {
      io.err(
        `could not read the pipelines from Bitrix24: ${errorMessage(e)}${isAppError(e) ? ` [${e.code}]` : ''}`,
      );
      code = 1;
    }
  }
  return code;
}

/** A readable table: one block per pipeline, ids right-aligned. Pure. */
export function formatPipelines(
  pipelines: readonly CatalogPipeline[],
  example = 'status: 142, or status: Квалифицирован',
): string[] {
  if (pipelines.length === 0) return ['The account has no pipelines.'];
  const width = Math.max(...pipelines.flatMap((p) => p.stages.map((s) => s.id.length)), 2);
  const lines: string[] = [];
  for (const p of pipelines) {
    const tags = [p.isMain ? 'main' : null, p.isArchive ? 'archived' : null].filter(Boolean);
    lines.push(`Pipeline "${p.name}"  id ${p.id}${tags.length ? `  (${tags.join(', ')})` : ''}`);
    for (const s of p.stages) {
      lines.push(`  ${s.id.padStart(width)}  ${s.name}${s.note ? `  (${s.note})` : ''}`);
    }
    lines.push('');
  }
  lines.push(`Use the ids or the names in rules: ${example}; or outcome: won for every won stage.`);
  return lines;
}
