/**
 * Skips the running test and prints why, so no pending test in `npm test`'s output goes without
 * its reason (mocha itself prints only the title).
 */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  console.log(`      skipped: ${ctx.test?.title ?? 'test'} (${reason})`);
  ctx.skip();
}
