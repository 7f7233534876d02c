/** The CrmSource contract (crm-source.contract.ts) for each source: amoCRM and the signed intake. */
import { signBody } from '../../src/adapters/crm/generic/generic-webhook-intake';
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
