/**
 * `closeloop send-test [config] [--event <name>]`: one test event through GA4's validation server
 * (`/debug/mp/collect`), with every message it and closeloop's own checks give. Nothing is counted
 * in GA4. Exit 0 when valid, 1 otherwise.
 */
import type { Command } from 'commander';
import { sendGa4TestEvent } from '../adapters/destinations/ga4/send-test-event';
import type { CliRun } from './cli-run';
import { CONFIG_ARGUMENT, loadConfigOrReport } from './load-config-or-report';

export function sendTestCommand(run: CliRun): Command {
  return run
    .command('send-test')
    .summary('send one test event through GA4’s validation server and print its messages')
    .description(
      'Sends one test event with the configured measurement ID and API secret to GA4’s validation ' +
        'server (/debug/mp/collect, at GA4_ENDPOINT), which checks it and counts nothing, and prints ' +
        'its validation messages and closeloop’s own checks. The API secret is never printed.',
    )
    .argument('[config]', CONFIG_ARGUMENT)
    .option('--event <name>', 'the event name to test (default closeloop_test)')
    .action(
      run.action('send-test', (configPath: string | undefined, options: { event?: string }) =>
        sendTest(configPath, options.event, run),
      ),
    );
}

async function sendTest(
  configPath: string | undefined,
  event: string | undefined,
  { io, env, cwd }: CliRun,
): Promise<number> {
  const config = loadConfigOrReport(io, env, cwd, configPath);
  if (config === null) return 1;
  const result = await sendGa4TestEvent(config.ga4, { event, nowMs: Date.now() });
  io.out(`POST ${result.url}`);
  io.out(JSON.stringify(result.payload));
  if (result.valid) {
    io.out('Valid: GA4’s validation server found nothing wrong.');
    io.out(
      'It does not check that the measurement ID and the API secret belong together: look for the event in GA4’s Realtime report after a real send.',
    );
    return 0;
  }
  io.out(`${result.messages.length} problem${result.messages.length === 1 ? '' : 's'}:`);
  for (const m of result.messages) {
    io.out(
      `  [${m.from}] ${m.validationCode}${m.fieldPath ? ` at ${m.fieldPath}` : ''}: ${m.description}`,
    );
  }
  return 1;
}
