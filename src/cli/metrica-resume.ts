/**
 * `closeloop metrica resume [--counter <id>]`: lifts the stop of a counter's upload queue (or of
 * every stopped one) after a permanent refusal was fixed, queuing the refused batch's conversions
 * again (metrica-resume.ts). Reads the store the service uses, beside it (running or not).
 */
import type { Command } from 'commander';
import { resumeMetricaQueues } from '../adapters/destinations/metrica/metrica-resume';
import type { CliRun } from './cli-run';
import { openStoreBesideService, STORE_HELP } from './open-store-beside-service';

export function metricaResumeCommand(
  run: CliRun,
  parseCounter: (value: string) => string,
): Command {
  return run
    .command('resume')
    .summary("resume a counter's stopped upload queue")
    .description(
      'A refusal only a person can fix (401, 403, 404, or a file Metrica would not read) stops ' +
        "the counter's upload queue, and a restart does not lift it. Once the token, its " +
        'scopes or the counter id is fixed (and the service restarted if its settings ' +
        "changed), this lifts the stop: the refused batch's conversions, which Metrica never " +
        'counted, are queued again, and a running service uploads them at its next look. ' +
        'Without --counter, every stopped queue is resumed. Stopped queues are listed by ' +
        'closeloop deliveries and /healthz.',
    )
    .option('--counter <id>', 'only the queue of this counter', run.value(parseCounter))
    .addHelpText('after', STORE_HELP)
    .action(
      run.action('metrica resume', async (o: { counter?: string }) => {
        const { store } = await openStoreBesideService({ env: run.env, cwd: run.cwd });
        try {
          const resumed = await resumeMetricaQueues(
            { outbox: store.outbox, deliveryLog: store.deliveryLog, now: Date.now },
            o.counter,
          );
          if (resumed.length === 0) {
            run.io.out(
              o.counter === undefined
                ? 'No Metrica upload queue is stopped; nothing to resume.'
                : `The upload queue of counter ${o.counter} is not stopped; nothing to resume.`,
            );
            return 0;
          }
          for (const r of resumed) {
            run.io.out(
              `resumed: counter ${r.target} (${r.queue}), stopped since ${new Date(r.at).toISOString()}: ${r.reason}`,
            );
            if (r.requeued > 0) {
              run.io.out(`  ${r.requeued} conversions of the refused batch are queued again.`);
            }
          }
          return 0;
        } finally {
          await store.close();
        }
      }),
    );
}
