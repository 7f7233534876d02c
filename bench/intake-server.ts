/**
 * One server for the intake benchmark, in its own process:
 * - `bare`: node:http reading the body and parsing it with the same webhook parser, storing nothing
 *   (the ceiling);
 * - `durable`: closeloop's real app and embedded store (synchronous=FULL, group commit), worker off,
 *   so that what is measured is intake: parse, store durably, answer.
 * Prints `READY <port>` when listening; on SIGTERM prints `STORED <n>` (durable mode) and exits.
 */
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseWebhook } from '../src/adapters/crm/amocrm/parse-webhook';
import { createApp } from '../src/http/create-app';
import { createSqliteStore } from '../src/adapters/store/sqlite';
import type { InboundJobPayload } from '../src/ports/job-payloads';
import { AmocrmWebhookIntake } from '../src/adapters/crm/amocrm/amocrm-webhook-intake';

const SECRET = 'bench-webhook-secret-0123456789';
const mode = process.argv[2];
const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: (m: string) => console.error(m),
};

if (mode === 'bare') {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const parsed = parseWebhook(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, stored: parsed.events.length }));
      } catch {
        res.writeHead(400);
        res.end();
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () =>
    console.log(`READY ${(server.address() as AddressInfo).port}`),
  );
  process.on('SIGTERM', () => process.exit(0));
} else if (mode === 'durable') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-bench-'));
  const store = createSqliteStore({ dataDir: dir, deliveryLogMaxRows: 100_000 });
  const app = createApp({
    logger: quiet,
    webhooks: {
      routes: [{ account: 'default', secret: SECRET, intake: new AmocrmWebhookIntake() }],
      maxBodyBytes: 1024 * 1024,
      ingest: (account, events, receivedAt) =>
        store.queue.add<InboundJobPayload>(
          'inbound',
          events.map((event) => ({ payload: { v: 2, account, event, receivedAt } })),
        ),
    },
    health: () => Promise.resolve({}),
  });
  const server = http
    .createServer(app)
    .listen(0, '127.0.0.1', () => console.log(`READY ${(server.address() as AddressInfo).port}`));
  server.keepAliveTimeout = 65_000;
  process.on('SIGTERM', () => {
    void store.queue.counts('inbound').then(async (c) => {
      console.log(`STORED ${c.waiting}`);
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  });
} else {
  console.error('usage: intake-server bare|durable');
  process.exit(2);
}
