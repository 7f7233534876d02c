/**
 * The console's actions and setup facts, from what the composition root built: the config, the
 * accounts (destinations, change feeds, CRM catalogs, webhook routes) and the store. Every answer
 * passes the service's redactor, so no secret it knows (API secrets, tokens, webhook secrets) is
 * ever rendered; webhook URLs are shown with the secret as a placeholder and where to find it.
 */
import path from 'node:path';
import type winston from 'winston';
import { errorMessage } from '../core/error-message';
import { isAppError } from '../core/errors';
import type { CloseloopConfig } from '../config/config-types';
import type { Redactor } from '../adapters/log/redactor';
import type { Store } from '../ports/store';
import type { BuiltAccount } from '../accounts';
import { describeConfig } from '../config/describe-config';
import { Reconciler } from '../worker/reconciler';
import { withTimeout } from '../adapters/with-timeout';
import { sendGa4TestEvent } from '../adapters/destinations/ga4/send-test-event';
import { AppError } from '../core/errors';
import type { ConsoleActions } from './api-router';
import { redactForDisplay } from './payload-facts';

export interface ConsoleActionDeps {
  config: CloseloopConfig;
  accounts: readonly BuiltAccount[];
  store: Store;
  redactor: Redactor;
  logger: winston.Logger;
  /** Where the default account's generated webhook secret is kept, for the setup page's hint. */
  secretHint: string;
  now: () => number;
}

/** How long the setup page waits for a CRM's pipelines. */
const CATALOG_TIMEOUT_MS = 8000;

export function createConsoleActions(deps: ConsoleActionDeps): ConsoleActions {
  const { config, accounts, store, redactor } = deps;
  const safe = <T>(value: T): T => redactor.redact(redactForDisplay(value) as T);
  return {
    currency: config.currency,

    sendTest: async (event) => {
      // GA4's validation server checks GA4 requests; it is the default account's GA4.
      const result = await sendGa4TestEvent(config.ga4, { event, nowMs: deps.now() });
      if (!result.reached)
        deps.logger.warn('send-test: GA4’s validation server did not answer', {
          messages: safe(result.messages),
        });
      return safe({ destination: 'ga4', ...result });
    },

    reconcile: async () => {
      const passes: Array<Record<string, unknown>> = [];
      for (const a of accounts) {
        for (const f of a.feeds) {
          const reconciler = new Reconciler({
            feed: f.feed,
            account: a.config.name,
            queue: store.queue,
            settings: store,
            intervalMs: f.intervalMs,
            logger: deps.logger,
            now: deps.now,
          });
          try {
            const run = await reconciler.runOnce();
            passes.push({
              account: a.config.name,
              crm: f.feed.name,
              read: run.leads,
              queued: run.enqueued,
              found: run.found.slice(0, 100),
            });
          } catch (e) {
            passes.push({
              account: a.config.name,
              crm: f.feed.name,
              error: errorMessage(e),
              code: isAppError(e) ? e.code : null,
            });
          }
        }
      }
      if (passes.length === 0) {
        return {
          started: false,
          reason:
            'no CRM with reconciliation: set AMOCRM_SUBDOMAIN and AMOCRM_TOKEN (amoCRM) or BITRIX24_WEBHOOK_URL (Bitrix24)',
          passes,
        };
      }
      return safe({ started: true, passes });
    },

    setup: async (origin) => {
      const problems: Array<{ path: string; message: string; fix: string }> = [];
      for (const a of accounts) {
        for (const d of a.destinations) {
          if (d.dryRun) {
            problems.push({
              path:
                a.config.name === 'default' ? `${d.name}` : `accounts.${a.config.name}.${d.name}`,
              message: `${d.label}: dry run, nothing is sent (${d.dryRunReason ?? 'dry_run is on'})`,
              fix:
                d.name === 'ga4'
                  ? 'set GA4_MEASUREMENT_ID and GA4_API_SECRET (or ga4.measurement_id and ga4.api_secret), then restart'
                  : `set the ${d.label} credentials, then restart`,
            });
          }
        }
      }
      if (config.rules.length === 0) {
        problems.push({
          path: 'rules',
          message: 'no rules: nothing will be sent',
          fix: 'add rules under rules:, see config/closeloop.example.yaml',
        });
      }
      const webhookUrls = accounts.flatMap((a) =>
        a.routes.map((r) => ({
          account: a.config.name,
          crm: r.intake.source,
          url: `${origin}/webhooks/${r.intake.source}/<webhook secret>`,
          secret:
            a.config.name !== 'default'
              ? `the webhook_secret of accounts.${a.config.name}`
              : config.webhook.secret !== null
                ? 'the value of CLOSELOOP_WEBHOOK_SECRET'
                : deps.secretHint,
        })),
      );
      const pipelines: Array<Record<string, unknown>> = [];
      for (const a of accounts) {
        for (const c of a.catalogs) {
          try {
            const list = await withTimeout(
              c.pipelines(),
              CATALOG_TIMEOUT_MS,
              () =>
                new AppError(
                  'STORE_UNAVAILABLE',
                  `${c.name} did not answer within ${CATALOG_TIMEOUT_MS / 1000} s`,
                ),
            );
            for (const p of list) {
              pipelines.push({
                account: a.config.name,
                crm: c.name,
                id: p.id,
                name: p.name,
                statuses: p.stages.map((s) => ({ id: s.id, name: s.name, outcome: s.outcome })),
              });
            }
          } catch (e) {
            problems.push({
              path: c.name,
              message: `could not read the pipelines: ${errorMessage(e)}`,
              fix: 'check the CRM API credentials (closeloop statuses says more)',
            });
          }
        }
      }
      return safe({
        config: { file: path.basename(config.file), summary: describeConfig(config) },
        problems,
        webhookUrls,
        pipelines,
        snippetTag: `<script src="${origin}/snippet.js" defer></script>`,
      });
    },
  };
}
