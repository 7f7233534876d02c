/**
 * Root hooks for every test: no real network except loopback, and a test that leaves a nock
 * interceptor unused fails (model: segmentio/action-destinations test/setup-after-env.ts).
 */
import nock from 'nock';

export const mochaHooks = {
  beforeAll(): void {
    nock.disableNetConnect();
    nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/);
  },
  afterEach(this: Mocha.Context): void {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    if (pending.length > 0 && this.currentTest?.state === 'passed') {
      throw new Error(`nock interceptors left unused: ${pending.join(', ')}`);
    }
  },
};
