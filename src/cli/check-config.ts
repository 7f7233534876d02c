/**
 * `closeloop check-config [path]`: load the config the way `start` would and say, in plain words,
 * what closeloop will do with it, or list every problem with its line and fix.
 * Secrets (the GA4 api_secret, the webhook secret) are never printed: only `set` / `not set`.
 */
import type { Command } from 'commander';
import type { CloseloopConfig } from '../config/config-types';
import { toCatalog } from '../adapters/crm/amocrm/amocrm-catalog';
import { Bitrix24Catalog, withStageIdsAsNames } from '../adapters/crm/bitrix24/bitrix24-catalog';
import type { CatalogPipeline } from '../ports/crm-catalog';
import { bitrix24ClientOf } from './bitrix24-client-beside-service';
import { formatConfigProblems } from '../core/errors';
import { errorMessage } from '../core/error-message';
import { hasRuleNames, resolveRuleNames } from '../core/resolve-rule-names';
import { openAmocrmClientBesideService } from './amocrm-client-beside-service';

import type { CliRun } from './cli-run';
import { CONFIG_ARGUMENT, loadConfigOrReport } from './load-config-or-report';
import { describeConfig } from '../config/describe-config';

export function checkConfigCommand(run: CliRun): Command {
  return run
    .command('check-config')
    .summary('check the config and say what closeloop will do with it')
    .description(
      'Loads the config as `closeloop start` would and prints what closeloop will do with it, or every ' +
        'problem with its file, line, key and fix (exit 1). Pipeline and status names in the rules are ' +
        'looked up in amoCRM when API access is configured. Secrets are never printed, only set / not set.',
    )
    .argument('[config]', CONFIG_ARGUMENT)
    .action(
      run.action('check-config', (configPath: string | undefined) => checkConfig(configPath, run)),
    );
}

async function checkConfig(configPath: string | undefined, run: CliRun): Promise<number> {
  const { io, env, cwd } = run;
  let config: CloseloopConfig | null = loadConfigOrReport(io, env, cwd, configPath);
  if (config === null) return 1;
  if (hasRuleNames(config) && (config.amocrm.api !== null || config.bitrix24.rest !== null)) {
    // Names are looked up the way `start` does, so a typo is found before the service refuses to start.
    const pipelines: CatalogPipeline[] = [];
    const crms: string[] = [];
    try {
      if (config.amocrm.api !== null) {
        crms.push('amoCRM');
        const amocrm = await openAmocrmClientBesideService(config.amocrm.api, run, configPath, {
          info: () => undefined,
          warn: () => undefined,
          error: () => undefined,
        });
        try {
          pipelines.push(...toCatalog(await amocrm.client.getPipelines()));
        } finally {
          await amocrm.close();
        }
      }
      if (config.bitrix24.rest !== null) {
        crms.push('Bitrix24');
        const catalog = new Bitrix24Catalog(bitrix24ClientOf(config.bitrix24.rest, io, null));
        pipelines.push(...withStageIdsAsNames(await catalog.pipelines()));
      }
    } catch (e) {
      io.err(
        `The rules name pipelines or statuses, and closeloop could not read them from ${crms.at(-1) ?? 'the CRM'} to check them: ${errorMessage(e)}`,
      );
      return 1;
    }
    const resolved = resolveRuleNames(config, pipelines, crms.join(' and '));
    if (resolved.problems.length > 0) {
      io.err(formatConfigProblems(resolved.problems));
      return 1;
    }
    config = { ...config, rules: resolved.rules };
  }
  describeConfig(config).forEach((line) => io.out(line));
  return 0;
}
