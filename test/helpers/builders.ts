/**
 * Small builders for tests: an amoCRM lead event, a deal event, a rule and a config, with just the
 * parts a test cares about.
 */
import {
  DEFAULT_REVENUE_SETTINGS,
  LEAD_INTAKE_DISABLED,
  type Rule,
} from '../../src/core/config-types';
import type { CloseloopConfig } from '../../src/config/config-types';
import type { DealEvent, DealSnapshot } from '../../src/core/deal';
import { NO_IDENTITIES } from '../../src/core/deal';
import type {
  CustomField,
  LeadEvent,
  LeadSnapshot,
} from '../../src/adapters/crm/amocrm/amocrm-lead';
import type { ServiceOptions } from '../../src/main';
import type { CrmSource } from '../../src/ports/crm-source';
import type { Destination } from '../../src/ports/destination';
import type { AccountRuntime } from '../../src/worker/process-inbound';
import { Ga4Destination } from '../../src/adapters/destinations/ga4';
import { BITRIX24_OFF } from '../../src/adapters/crm/bitrix24/config';

export function field(
  code: string | null,
  value: string,
  extra: Partial<CustomField> = {},
): CustomField {
  return {
    id: extra.id ?? null,
    name: extra.name ?? code?.toLowerCase() ?? null,
    code,
    values: [{ value, enumId: null }],
  };
}

export function leadEvent(
  overrides: Partial<Omit<LeadEvent, 'lead'>> & { lead?: Partial<LeadSnapshot> } = {},
): LeadEvent {
  const { lead, ...rest } = overrides;
  return {
    crm: 'amocrm',
    accountId: '29638927',
    subdomain: 'example',
    action: 'status',
    oldStatusId: 41893093,
    oldPipelineId: null,
    occurredAt: 1_700_000_000,
    ...rest,
    lead: {
      id: 30307415,
      statusId: 142,
      pipelineId: 4542166,
      price: '150000',
      responsibleUserId: 8744098,
      createdAt: 1_699_990_000,
      updatedAt: 1_700_000_000,
      customFields: [field('GCLIENTID', 'GA1.1.1234567890.1700000000')],
      tags: [],
      ...lead,
    },
  };
}

/** A deal event as the amoCRM adapter makes one: a won deal with its GA client ID. */
export function dealEvent(
  overrides: Partial<Omit<DealEvent, 'deal'>> & { deal?: Partial<DealSnapshot> } = {},
): DealEvent {
  const { deal, ...rest } = overrides;
  return {
    source: 'amocrm',
    account: '29638927',
    kind: 'stage_changed',
    previous: { pipelineId: null, stageId: '41893093' },
    occurredAt: 1_700_000_000,
    ...rest,
    deal: {
      id: '30307415',
      pipelineId: '4542166',
      stageId: '142',
      outcome: 'won',
      amount: { amount: '150000', currency: null },
      responsibleUserId: '8744098',
      createdAt: 1_699_990_000,
      updatedAt: 1_700_000_000,
      identities: { ...NO_IDENTITIES, gaClientId: 'GA1.1.1234567890.1700000000' },
      fields: [field('GCLIENTID', 'GA1.1.1234567890.1700000000')],
      tags: [],
      ...deal,
    },
  };
}

/** A rule with the given parts; any pipeline, stage, outcome and source. */
export function rule(over: Partial<Rule> & Pick<Rule, 'name' | 'on' | 'send'>): Rule {
  return {
    pipelines: null,
    statuses: null,
    fromStatuses: null,
    outcomes: null,
    sources: null,
    ...over,
  };
}

export const DEFAULT_RULES: Rule[] = [
  {
    name: 'New lead',
    on: 'lead_added',
    pipelines: null,
    statuses: null,
    fromStatuses: null,
    outcomes: null,
    sources: null,
    send: [{ name: 'generate_lead', params: {} }],
  },
  {
    name: 'Deal won',
    on: 'status_changed',
    pipelines: null,
    statuses: ['142'],
    outcomes: null,
    sources: null,
    fromStatuses: null,
    send: [
      {
        name: 'close_convert_lead',
        params: { value: { kind: 'deal', attribute: 'amount', required: false } },
      },
      {
        name: 'purchase',
        params: {
          value: { kind: 'deal', attribute: 'amount', required: true },
          transaction_id: { kind: 'deal', attribute: 'id', required: false },
        },
      },
    ],
  },
  {
    name: 'Deal lost',
    on: 'status_changed',
    pipelines: null,
    statuses: ['143'],
    outcomes: null,
    sources: null,
    fromStatuses: null,
    send: [{ name: 'close_unconvert_lead', params: {} }],
  },
];

export function testConfig(overrides: Partial<CloseloopConfig> = {}): CloseloopConfig {
  return {
    file: 'test-config.yaml',
    sources: [],
    currency: 'RUB',
    generic: null,
    accounts: [],
    bitrix24: BITRIX24_OFF,
    amocrm: {
      subdomain: null,
      api: null,
      fields: { clientId: { code: 'GCLIENTID' }, sessionId: { name: 'ga_session_id' } },
    },
    ga4: {
      measurementId: 'G-TEST123',
      apiSecret: 'test-api-secret-value',
      endpoint: 'http://127.0.0.1:9',
      timeoutMs: 2000,
      dryRun: false,
    },
    webhook: { secret: 'test-webhook-secret-0123456789', maxBodyBytes: 1024 * 1024 },
    delivery: {
      retryWindowMs: 72 * 3600_000,
      retryBaseMs: 50,
      retryMaxDelayMs: 200,
      concurrency: 4,
      resendUncertain: ['purchase', 'refund'],
      maxValue: 1_000_000_000,
    },
    revenue: DEFAULT_REVENUE_SETTINGS,
    deliveryLogMaxRows: 10_000,
    deliveryLogMaxAgeMs: 90 * 86_400_000,
    leadIntake: LEAD_INTAKE_DISABLED,
    rules: DEFAULT_RULES,
    ...overrides,
  };
}

/**
 * What an in-process service under test is started with: a free port on loopback, a quick poll
 * for delayed jobs, a captured logger (test/helpers/capture-logger.ts); `extra` on top.
 */
export function loopbackService(
  config: CloseloopConfig,
  log: { logger: ServiceOptions['logger']; redactor: ServiceOptions['redactor'] },
  dataDir: string,
  extra: Partial<ServiceOptions> = {},
): ServiceOptions {
  return {
    config,
    logger: log.logger,
    redactor: log.redactor,
    dataDir,
    port: 0,
    host: '127.0.0.1',
    pollIntervalMs: 20,
    ...extra,
  };
}

/** The `accounts` of an inbound handler: the default account, with the default rules. */
export function defaultAccount(
  source: CrmSource,
  destinations: Destination[] = [new Ga4Destination(testConfig().ga4)],
): Map<string, AccountRuntime> {
  return new Map([
    [
      'default',
      {
        name: 'default',
        mapping: { rules: DEFAULT_RULES, currency: 'RUB' },
        sources: new Map([[source.name, source]]),
        destinations,
      },
    ],
  ]);
}
