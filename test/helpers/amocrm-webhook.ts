/** Builds real-shaped amoCRM webhook bodies (form-encoded, bracket keys) for integration tests. */
export interface WebhookLead {
  id: number;
  statusId?: number;
  oldStatusId?: number;
  pipelineId?: number;
  price?: number | null;
  clientId?: string | null;
  sessionId?: string | null;
  updatedAt?: number;
}

export function webhookBody(action: 'add' | 'status' | 'update', leads: WebhookLead[]): string {
  const p = new URLSearchParams();
  p.set('account[subdomain]', 'example');
  p.set('account[id]', '29638927');
  p.set('account[_links][self]', 'https://example.amocrm.ru');
  leads.forEach((lead, i) => {
    const k = `leads[${action}][${i}]`;
    p.set(`${k}[id]`, String(lead.id));
    p.set(`${k}[name]`, 'Новая заявка с сайта');
    p.set(`${k}[status_id]`, String(lead.statusId ?? 142));
    if (action === 'status') p.set(`${k}[old_status_id]`, String(lead.oldStatusId ?? 41893093));
    if (lead.price !== null) p.set(`${k}[price]`, String(lead.price ?? 150000));
    p.set(`${k}[responsible_user_id]`, '8744098');
    const updated = String(lead.updatedAt ?? Math.floor(Date.now() / 1000) - 60);
    p.set(`${k}[last_modified]`, updated);
    p.set(`${k}[pipeline_id]`, String(lead.pipelineId ?? 4542166));
    p.set(`${k}[account_id]`, '29638927');
    let f = 0;
    if (lead.clientId !== null) {
      p.set(`${k}[custom_fields][${f}][id]`, '610955');
      p.set(`${k}[custom_fields][${f}][name]`, 'gclientid');
      p.set(
        `${k}[custom_fields][${f}][values][0][value]`,
        lead.clientId ?? 'GA1.1.1234567890.1700000000',
      );
      p.set(`${k}[custom_fields][${f}][code]`, 'GCLIENTID');
      f++;
    }
    if (lead.sessionId) {
      p.set(`${k}[custom_fields][${f}][id]`, '700001');
      p.set(`${k}[custom_fields][${f}][name]`, 'ga_session_id');
      p.set(`${k}[custom_fields][${f}][values][0][value]`, lead.sessionId);
      f++;
    }
    p.set(`${k}[custom_fields][${f}][id]`, '644897');
    p.set(`${k}[custom_fields][${f}][name]`, 'Тип программы');
    p.set(`${k}[custom_fields][${f}][values][0][value]`, 'MBA &amp; Executive');
    p.set(`${k}[custom_fields][${f}][values][0][enum]`, '853027');
    p.set(`${k}[created_at]`, String(Number(updated) - 3600));
    p.set(`${k}[updated_at]`, updated);
  });
  return p.toString();
}

/**
 * A Digital Pipeline hook's body: lead ids and their move only, no fields, so closeloop reads each
 * lead from the API. Every lead moved from the first status of the sales pipeline to 142 (won),
 * unless `statusId` says otherwise.
 */
export function digitalPipelineBody(
  leads: ReadonlyArray<{ id: number; statusId?: number }>,
): string {
  const p = new URLSearchParams();
  leads.forEach((l, i) => {
    p.set(`leads[status][${i}][id]`, String(l.id));
    p.set(`leads[status][${i}][status_id]`, String(l.statusId ?? 142));
    p.set(`leads[status][${i}][pipeline_id]`, '4542166');
    p.set(`leads[status][${i}][old_status_id]`, '41893093');
    p.set(`leads[status][${i}][old_pipeline_id]`, '4542166');
  });
  p.set('account[id]', '29638927');
  p.set('account[subdomain]', 'example');
  return p.toString();
}
