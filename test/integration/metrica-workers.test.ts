/**
 * Metrica upload loops as several workers run them, on each store, against the strict stand-in
 * over loopback HTTP (test/helpers/metrica-uploader-rig.ts): two loops on two store connections
 * upload each conversion exactly once, interrupted batches included; the "not open yet" 400 parks
 * a batch without stopping the queue; a permanent refusal stops the queue durably until
 * `resumeMetricaQueues` (what `closeloop metrica resume` runs), which sends nothing twice.
 */
import assert from 'node:assert/strict';
import { resumeMetricaQueues } from '../../src/adapters/destinations/metrica/metrica-resume';
import { startMetricaStandIn, type MetricaStandIn } from '../helpers/metrica-stand-in';
import {
  RIG_COUNTER,
  RIG_TOKEN,
  uploaderRig,
  type UploaderRig,
} from '../helpers/metrica-uploader-rig';
import { describeOnEachStore } from '../helpers/redis-test-prefix';

describeOnEachStore('Metrica upload loops', (storeName, redisUrl) => {
  describe(`Metrica upload loops (${storeName})`, function () {
    this.timeout(20_000);
    let fake: MetricaStandIn;
    let rig: UploaderRig;

    async function start(latencyMs = 0, clock?: () => number): Promise<void> {
      fake = await startMetricaStandIn({
        tokens: { [RIG_TOKEN]: { scopes: ['metrika:read', 'metrika:offline_data'] } },
        counters: [RIG_COUNTER],
        latencyMs,
      });
      rig = await uploaderRig(redisUrl, fake.url, clock ?? (() => fake.now()));
    }
    afterEach(async () => {
      await rig?.close();
      await fake?.close();
    });

    /** How many times each visitor was uploaded. */
    function uploadsPerVisitor(): Map<string, number> {
      const seen = new Map<string, number>();
      for (const u of fake.uploads()) {
        for (const row of u.csv.trim().split('\n').slice(1)) {
          const id = row.split(',')[0]!;
          seen.set(id, (seen.get(id) ?? 0) + 1);
        }
      }
      return seen;
    }
    const posts = (): number => fake.requests.filter((r) => r.endpoint === 'upload').length;
    const rows = (outcome?: string) =>
      rig.store.deliveryLog
        .list({ destination: 'metrica', limit: 1000 })
        .then((l) => l.filter((r) => outcome === undefined || r.outcome === outcome));

    it('two loops on two store connections upload each conversion exactly once, interrupted batches too', async () => {
      await start(40);
      const [a, b] = [await rig.open(), await rig.open()];
      const outbox = rig.store.outbox;
      const now = fake.now();
      // A crashed worker left four batches mid-attempt, its claims lapsed.
      await outbox.add(rig.entries(1, 20));
      for (let i = 1; i <= 4; i++) {
        const id = `closeloop-crashed-${i}`;
        await outbox.cut('metrica', 'ClientId', id, 5, now);
        await outbox.claim(id, 'dead-worker', now - 1, now - 2);
        await outbox.update(id, { attempts: 1 }, now);
      }
      await outbox.add(rig.entries(21, 30));
      // One answer is lost after Metrica took the file: the comment lookup must find it.
      fake.setFault({ kind: 'drop' }, { endpoint: 'upload' });
      const deadline = Date.now() + 15_000;
      while ((await rows('sent')).length < 50 && Date.now() < deadline) {
        await Promise.all([a.uploader.tick(), b.uploader.tick(), a.uploader.tick()]);
      }
      const per = uploadsPerVisitor();
      assert.equal(per.size, 50, 'every conversion uploaded');
      assert.deepEqual(
        [...per].filter(([, n]) => n !== 1),
        [],
        'none uploaded twice',
      );
      assert.ok(fake.maxInFlight() <= 2, `at most 2 requests in flight (${fake.maxInFlight()})`);
      assert.equal(fake.requests.filter((r) => r.status === 429).length, 0);
      const sent = await rows('sent');
      assert.equal(sent.length, 50);
      assert.ok(sent.every((r) => /uploaded to Metrica as upload \d+/.test(r.reason ?? '')));
      assert.equal(sent.filter((r) => /found by its comment/.test(r.reason ?? '')).length, 5);
    });

    it('a 400 "not open yet" parks the batch until the date Metrica names, without stopping the queue', async () => {
      await start();
      const opensAt = fake.now() + 2 * 3_600_000;
      fake.setVisitJoinThreshold(RIG_COUNTER, opensAt);
      const { uploader } = await rig.open();
      await rig.store.outbox.add(rig.entries(1, 3));
      await uploader.tick();
      assert.equal(posts(), 1);
      assert.equal(fake.uploads().length, 0, 'Metrica took nothing');
      assert.equal(uploader.stopped, null, 'the queue is not stopped');
      assert.deepEqual(await rig.store.outbox.stops(), []);
      const [parked] = await rig.store.outbox.batches('metrica', ['sending']);
      const secondOf = Math.floor(opensAt / 1000) * 1000;
      assert.ok(
        parked!.nextAt >= secondOf + 60_000 && parked!.nextAt <= opensAt + 60_000 + 1000, // the time the answer took
        `parked until the named date and a minute (${parked!.nextAt - opensAt})`,
      );
      assert.match(parked!.error ?? '', /takes no offline conversions yet.*sent at/);
      assert.match(rig.logs(), /METRICA_NOT_OPEN_YET|not open|takes no offline conversions yet/);
      fake.advance(3_600_000);
      await uploader.tick();
      assert.equal(posts(), 1, 'nothing sent before the date');
      fake.advance(3_600_000 + 2 * 60_000);
      await uploader.tick();
      assert.equal(posts(), 2);
      assert.deepEqual([...uploadsPerVisitor().values()], [1, 1, 1]);
    });

    it('a 403 stops the queue durably; a new loop stays stopped; resume lifts it and the batch goes once', async () => {
      await start();
      fake.setFault(
        { kind: 'status', status: 403, errorType: 'access_denied', message: 'Access is denied' },
        { endpoint: 'upload' },
      );
      const first = await rig.open();
      await rig.store.outbox.add(rig.entries(1, 3));
      await first.uploader.tick();
      assert.match(first.uploader.stopped ?? '', /403 access_denied/);
      const [stop] = await rig.store.outbox.stops();
      assert.equal(stop?.target, RIG_COUNTER);
      assert.match(stop.reason, /closeloop metrica resume/);
      const waiting = await rows('retrying');
      assert.equal(waiting.length, 3);
      assert.equal(waiting[0]?.code, 'METRICA_QUEUE_STOPPED');
      // A restart (another loop, another connection) does not lift it.
      await first.uploader.stop();
      const second = await rig.open();
      await second.uploader.tick();
      assert.match(second.uploader.stopped ?? '', /403/);
      assert.equal(posts(), 1, 'nothing sent while stopped');
      assert.match(rig.logs(), /METRICA_QUEUE_STOPPED/);
      fake.advance(60_000); // past the refused attempt's own wait
      const resumed = await resumeMetricaQueues(
        {
          outbox: second.store.outbox,
          deliveryLog: second.store.deliveryLog,
          now: () => fake.now(),
        },
        RIG_COUNTER,
      );
      assert.deepEqual(
        resumed.map((r) => [r.queue, r.requeued]),
        [['metrica', 0]],
      );
      await second.uploader.tick();
      assert.equal(second.uploader.stopped, null);
      assert.deepEqual([...uploadsPerVisitor().values()], [1, 1, 1]);
      assert.equal((await rows('sent')).length, 3);
    });

    it('a file refused with 400 is queued again by resume, uploaded once; a second resume moves nothing', async () => {
      await start();
      fake.setFault(
        {
          kind: 'status',
          status: 400,
          errorType: 'invalid_uploading',
          message: 'Неверный формат данных, ошибка в строке номер 2',
        },
        { endpoint: 'upload' },
      );
      const { uploader, store } = await rig.open();
      await store.outbox.add(rig.entries(1, 3));
      await uploader.tick();
      assert.equal((await rows('failed')).length, 3);
      assert.deepEqual(
        (await store.outbox.batches('metrica', ['rejected'])).map((b) => b.keys.length),
        [3],
      );
      const deps = { outbox: store.outbox, deliveryLog: store.deliveryLog, now: () => fake.now() };
      assert.equal(
        (await resumeMetricaQueues(deps, '99999999')).length,
        0,
        'another counter is not touched',
      );
      const [resumed] = await resumeMetricaQueues(deps);
      assert.equal(resumed?.requeued, 3);
      const again = await rows('retrying');
      assert.equal(again.length, 3);
      assert.match(again[0]!.reason ?? '', /queued again by closeloop metrica resume/);
      assert.deepEqual(await resumeMetricaQueues(deps), []);
      await uploader.tick();
      await uploader.tick();
      assert.deepEqual([...uploadsPerVisitor().values()], [1, 1, 1]);
      assert.equal((await rows('sent')).length, 3);
      assert.deepEqual(
        (await store.outbox.batches('metrica', ['requeued'])).map((b) => b.keys.length),
        [0],
      );
    });
  });
});
