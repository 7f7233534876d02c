/**
 * A webhook may carry at most 500 events (413 above, nothing stored): a 1 MB body of tiny entries
 * used to become 15,000+ jobs in one write and stall the event loop for a quarter of a second. The
 * amoCRM route counts `leads[<action>][<n>][id]` keys before parsing, so such a body is refused
 * without being parsed; what the count misses the parsed count catches. The real service on
 * loopback, the embedded store.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import { loopbackService, testConfig } from '../helpers/builders';
import { webhookBody } from '../helpers/amocrm-webhook';
import { captureLogger } from '../helpers/capture-logger';

describe('webhook limits: events per request', function () {
  this.timeout(20_000);
  let dir: string;
  let service: RunningService;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-limits-'));
    service = await startService(loopbackService(testConfig(), captureLogger(), dir));
  });
  after(async () => {
    await service.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function post(body: string): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${service.port}${service.webhookPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  const leads = (n: number, from = 1) =>
    Array.from({ length: n }, (_, i) => ({ id: from + i, price: 100 }));

  it('stores a webhook of 500 events', async () => {
    const answer = await post(webhookBody('update', leads(500)));
    assert.deepEqual(answer, { status: 200, json: { ok: true, stored: 500 } });
  });

  /** Lead events stored so far, by the service's own counter. */
  async function stored(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
    return Number(/^closeloop_lead_events_stored_total (\d+)$/m.exec(text)?.[1]);
  }

  it('refuses 501 events with 413 before parsing, and stores none of them', async () => {
    assert.equal(await stored(), 500);
    const answer = await post(webhookBody('update', leads(501, 10_000)));
    assert.equal(answer.status, 413);
    const error = answer.json.error as { code: string; message: string };
    assert.equal(error.code, 'WEBHOOK_TOO_MANY_EVENTS');
    assert.equal(
      error.message,
      'the webhook holds more than 500 events, over the limit of 500 per request; nothing was stored (send them in several requests)',
    );
    assert.equal(await stored(), 500);
  });

  it('refuses a 1 MB body of 30,000 tiny entries the same way', async () => {
    const parts = ['account[subdomain]=example', 'account[id]=1'];
    for (let i = 0, size = 40; size < 1024 * 1024 - 64; i++) {
      parts.push(`leads[delete][${i}][id]=${1_000_000 + i}`);
      size += parts[parts.length - 1]!.length + 1;
    }
    assert.ok(parts.length > 30_000);
    const answer = await post(parts.join('&'));
    assert.equal(answer.status, 413);
    assert.match(String((answer.json.error as { message: string }).message), /more than 500/);
    assert.equal(await stored(), 500);
  });

  it('counts again after parsing what the cheap count cannot see (an encoded section name)', async () => {
    const body = [
      'account[id]=1',
      ...Array.from({ length: 501 }, (_, i) => `%6Ceads[delete][${i}][id]=${i + 1}`),
    ].join('&');
    const answer = await post(body);
    assert.equal(answer.status, 413);
    assert.match(
      String((answer.json.error as { message: string }).message),
      /^the webhook holds 501 events, over the limit of 500/,
    );
    assert.equal(await stored(), 500);
  });
});
