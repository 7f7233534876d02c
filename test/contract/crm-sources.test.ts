/**
 * The CrmSource contract (crm-source.contract.ts) for each source: amoCRM, Bitrix24 (through its
 * REST fake) and the signed intake.
 */
import { signBody } from '../../src/adapters/crm/generic/generic-webhook-intake';
import {
  outgoingWebhook,
  STAGES,
  startBitrix24StandIn,
  type Bitrix24StandIn,
} from '../helpers/bitrix24-stand-in';
import {
  CONTRACT_INTAKE_SECRET,
  describeSourceContract,
  type DealFacts,
  type WireRequest,
} from './crm-source.contract';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** An amoCRM webhook as amoCRM writes it: bracket keys, the GCLIENTID tracking field. */
function amocrmBody(action: 'add' | 'status', deal: DealFacts, statusId: number): string {
  const p = new URLSearchParams();
  p.set('account[subdomain]', 'example');
  p.set('account[id]', '29638927');
  const k = `leads[${action}][0]`;
  p.set(`${k}[id]`, deal.id.replace(/\D/g, ''));
  p.set(`${k}[status_id]`, String(statusId));
  if (action === 'status') p.set(`${k}[old_status_id]`, '41893093');
  p.set(`${k}[price]`, deal.amount);
  p.set(`${k}[pipeline_id]`, '4542166');
  if (deal.clientId !== null) {
    p.set(`${k}[custom_fields][0][id]`, '610955');
    p.set(`${k}[custom_fields][0][name]`, 'gclientid');
    p.set(`${k}[custom_fields][0][code]`, 'GCLIENTID');
    p.set(`${k}[custom_fields][0][values][0][value]`, `GA1.1.${deal.clientId}`);
  }
  return p.toString();
}

// amoCRM's deal ids are numbers: the contract's `C-1001` is deal 1001 there.
const amocrmId = (deal: DealFacts): DealFacts => ({ ...deal, id: deal.id.replace(/\D/g, '') });

describeSourceContract({
  source: 'amocrm',
  stageChanged: (outcome, deal, paths): WireRequest => ({
    path: paths.amocrm!,
    headers: FORM,
    body: amocrmBody('status', amocrmId(deal), outcome === 'won' ? 142 : 143),
  }),
  created: (deal, paths) => ({
    path: paths.amocrm!,
    headers: FORM,
    body: amocrmBody('add', amocrmId(deal), 555),
  }),
  forged: (deal) => ({
    path: '/webhooks/amocrm/a-guessed-secret-0123456789',
    headers: FORM,
    body: amocrmBody('status', amocrmId(deal), 142),
  }),
  refusedWith: 404,
  malformed: (paths) => ({ path: paths.amocrm!, headers: FORM, body: 'hello=world' }),
  // amoCRM's ids are numbers; the contract's ids carry a prefix the driver strips.
  dealId: (deal) => deal.id.replace(/\D/g, ''),
});

function genericEvent(deal: DealFacts, extra: Record<string, unknown>): string {
  return JSON.stringify({
    account: 'shop',
    deal_id: deal.id,
    amount: deal.amount,
    currency: 'RUB',
    occurred_at: new Date().toISOString(),
    ...(deal.clientId === null ? {} : { identities: { ga_client_id: deal.clientId } }),
    ...extra,
  });
}

function signed(path: string, body: string, secret = CONTRACT_INTAKE_SECRET): WireRequest {
  return {
    path,
    headers: {
      'content-type': 'application/json',
      'x-closeloop-signature': signBody(secret, body),
    },
    body,
  };
}

describeSourceContract({
  source: 'generic',
  stageChanged: (outcome, deal, paths) =>
    signed(
      paths.generic!,
      genericEvent(deal, { stage: outcome === 'won' ? 'complete' : 'cancel', outcome }),
    ),
  created: (deal, paths) =>
    signed(paths.generic!, genericEvent(deal, { event: 'created', stage: 'new', outcome: 'open' })),
  forged: (deal, paths) =>
    signed(
      paths.generic!,
      genericEvent(deal, { outcome: 'won' }),
      'not-the-intake-secret-0123456789',
    ),
  refusedWith: 401,
  malformed: (paths) => signed(paths.generic!, JSON.stringify({ account: 'shop', amount: 'lots' })),
  dealId: (deal) => deal.id,
});

// Bitrix24: the webhook is only a trigger (its id), the deal is read from the REST fake, where the
// driver first puts it in the stage the test names.
const B24_TOKEN = 'contract-b24-application-token-0123';
let portal: Bitrix24StandIn | null = null;
const b24Id = (deal: DealFacts): string => deal.id.replace(/\D/g, '');
function b24Deal(deal: DealFacts, stage: (typeof STAGES)[keyof typeof STAGES]): void {
  portal!.moveDeal(b24Id(deal), stage, {
    OPPORTUNITY: deal.amount,
    CURRENCY_ID: 'RUB',
    UF_CRM_GA_CLIENT_ID: deal.clientId === null ? false : `GA1.1.${deal.clientId}`,
  });
}

describeSourceContract({
  source: 'bitrix24',
  setUp: async () => {
    portal = await startBitrix24StandIn();
    const started = portal;
    return {
      env: { BITRIX24_WEBHOOK_URL: started.webhookUrl, BITRIX24_APPLICATION_TOKEN: B24_TOKEN },
      tearDown: () => started.close(),
    };
  },
  stageChanged: (outcome, deal, paths) => {
    b24Deal(deal, outcome === 'won' ? STAGES.won : STAGES.lost);
    return {
      path: paths.bitrix24!,
      headers: FORM,
      body: outgoingWebhook('ONCRMDEALUPDATE', b24Id(deal), B24_TOKEN),
    };
  },
  created: (deal, paths) => {
    b24Deal(deal, STAGES.newDeal);
    return {
      path: paths.bitrix24!,
      headers: FORM,
      body: outgoingWebhook('ONCRMDEALADD', b24Id(deal), B24_TOKEN),
    };
  },
  forged: (deal, paths) => ({
    path: paths.bitrix24!,
    headers: FORM,
    body: outgoingWebhook('ONCRMDEALUPDATE', b24Id(deal), 'not-the-application-token-42'),
  }),
  refusedWith: 401,
  malformed: (paths) => ({ path: paths.bitrix24!, headers: FORM, body: 'hello=world' }),
  dealId: b24Id,
  repeatLeaves: 'skipped',
});
