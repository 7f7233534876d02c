/**
 * The setup page: GET /api/v1/setup (the redacted config, check-config's problems, webhook URLs,
 * pipelines and statuses by name, the snippet tag) and two actions: a test event through GA4's
 * validation server (POST /api/v1/send-test) and a reconciliation now (POST /api/v1/reconcile).
 */

interface Setup {
  config: unknown;
  problems: Array<{ path: string; message: string; fix?: string | null }>;
  webhookUrls: Array<{ crm: string; url: string }>;
  pipelines: Array<{ name: string; statuses: Array<{ id: string | number; name: string }> }>;
  snippetTag: string;
}

/** GA4's validation messages ({ fieldPath, description, validationCode }) or plain text. */
type ValidationMessage =
  string | { description?: string; fieldPath?: string; validationCode?: string };

function copyRow(label: string, text: string): HTMLElement {
  return h(
    'li',
    {},
    h('span', { class: 'copy-label' }, label),
    h('code', { class: 'copy-text' }, text),
    copyButton(text),
  );
}

function showSetup(s: Setup): void {
  const problems = byId<HTMLTableElement>('table-problems');
  if (problems) {
    clearRows(problems);
    for (const p of s.problems) addRow(problems, [p.path, p.message, p.fix ?? '']);
    problems.hidden = s.problems.length === 0;
  }
  const none = byId('no-problems');
  if (none) none.hidden = s.problems.length > 0;

  byId('webhook-urls')?.append(...s.webhookUrls.map((w) => copyRow(w.crm, w.url)));
  byId('snippet-tag')?.append(h('pre', { class: 'code' }, s.snippetTag), copyButton(s.snippetTag));

  const list = byId('pipeline-list');
  for (const pipeline of s.pipelines) {
    const table = h(
      'table',
      {},
      h('caption', {}, pipeline.name),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, t('setup.col.status')),
          h('th', { scope: 'col' }, t('setup.col.id')),
        ),
      ),
      h('tbody'),
    ) as HTMLTableElement;
    for (const status of pipeline.statuses) addRow(table, [status.name, String(status.id)]);
    list?.append(h('div', { class: 'table-wrap' }, table));
  }
  const noPipelines = byId('no-pipelines');
  if (noPipelines) noPipelines.hidden = s.pipelines.length > 0;

  const config = byId('config-json');
  if (config) config.textContent = showDetail(s.config);
}

function describeMessage(m: ValidationMessage): string {
  if (typeof m === 'string') return m;
  return [m.validationCode, m.fieldPath, m.description].filter(Boolean).join(' · ');
}

/** Wires an action form: on submit, POSTs and shows the answer in its result box. */
function onAction<T>(
  formId: string,
  resultId: string,
  send: () => Promise<T>,
  show: (answer: T) => Node[],
): void {
  const form = byId<HTMLFormElement>(formId);
  const result = byId(resultId);
  form?.addEventListener('submit', (event) => {
    event.preventDefault();
    const button = form.querySelector('button');
    button?.setAttribute('disabled', '');
    if (result) result.textContent = t('common.loading');
    send()
      .then(
        (answer) => result?.replaceChildren(...show(answer)),
        (e: unknown) =>
          result?.replaceChildren(h('p', { class: 'status-error' }, describeFailure(e))),
      )
      .finally(() => button?.removeAttribute('disabled'));
  });
}

function startSetupPage(): void {
  setStatus(t('common.loading'));
  callApi<Setup>('GET', '/api/v1/setup').then(
    (s) => {
      setStatus('');
      showSetup(s);
    },
    (e: unknown) => setStatus(describeFailure(e), 'error'),
  );
  onAction(
    'send-test',
    'send-test-result',
    () => {
      const event = byId<HTMLInputElement>('f-test-event')?.value.trim();
      return callApi<{ valid: boolean; messages: ValidationMessage[] }>(
        'POST',
        '/api/v1/send-test',
        event ? { event } : {},
      );
    },
    (answer) => [
      h(
        'p',
        { class: answer.valid ? 'status-ok' : 'status-error', 'data-valid': String(answer.valid) },
        t(answer.valid ? 'setup.sendTestValid' : 'setup.sendTestInvalid'),
      ),
      h('ul', {}, ...answer.messages.map((m) => h('li', {}, describeMessage(m)))),
    ],
  );
  onAction(
    'reconcile',
    'reconcile-result',
    () => callApi<{ started: boolean } & Record<string, unknown>>('POST', '/api/v1/reconcile', {}),
    (answer) => [
      h(
        'p',
        { class: answer.started ? 'status-ok' : 'status-error' },
        t(answer.started ? 'setup.reconcileStarted' : 'setup.reconcileNotStarted'),
      ),
      h('pre', { class: 'code' }, showDetail(answer)),
    ],
  );
}
