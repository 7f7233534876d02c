import assert from 'node:assert/strict';
import { readProcessSettings } from '../../src/cli/start';

/** What every process gets unless its environment says otherwise. */
const HTTP_DEFAULTS = {
  metricsToken: null,
  serverBounds: { maxConnections: 1024 },
  trustedProxies: ['loopback'],
  console: null,
};

describe('readProcessSettings (PORT, CLOSELOOP_ROLE, REDIS_URL and friends)', () => {
  it('defaults to one process on the embedded store, port 3000', () => {
    assert.deepEqual(readProcessSettings({}), {
      role: 'all',
      port: 3000,
      host: '0.0.0.0',
      ...HTTP_DEFAULTS,
    });
    assert.deepEqual(readProcessSettings({ CLOSELOOP_ROLE: '', PORT: '', HOST: '' }), {
      role: 'all',
      port: 3000,
      host: '0.0.0.0',
      ...HTTP_DEFAULTS,
    });
  });

  it('reads the metrics token, the connection cap and the trusted proxies', () => {
    assert.deepEqual(
      readProcessSettings({
        CLOSELOOP_METRICS_TOKEN: ' metrics-token-0123456789 ',
        CLOSELOOP_MAX_CONNECTIONS: '256',
        CLOSELOOP_TRUSTED_PROXIES: 'loopback, 10.0.0.0/8 2001:db8::/32,192.0.2.7',
      }),
      {
        role: 'all',
        port: 3000,
        host: '0.0.0.0',
        metricsToken: 'metrics-token-0123456789',
        serverBounds: { maxConnections: 256 },
        trustedProxies: ['loopback', '10.0.0.0/8', '2001:db8::/32', '192.0.2.7'],
        console: null,
      },
    );
  });

  it('reads the Redis settings', () => {
    assert.deepEqual(
      readProcessSettings({
        REDIS_URL: 'redis://:pw@10.0.0.5:6380/2',
        CLOSELOOP_ROLE: 'web',
        CLOSELOOP_REDIS_PREFIX: 'shop-staging',
        CLOSELOOP_REDIS_LOCK_MS: '5000',
        PORT: '8080',
        HOST: '::',
      }),
      {
        role: 'web',
        port: 8080,
        host: '::',
        redis: { url: 'redis://:pw@10.0.0.5:6380/2', prefix: 'shop-staging', lockMs: 5000 },
        ...HTTP_DEFAULTS,
      },
    );
  });

  it('reads HOST: a name or an address, IPv4 or IPv6', () => {
    for (const host of ['127.0.0.1', '::', '::1', 'fe80::1%eth0', 'localhost', 'web-1.internal']) {
      assert.equal((readProcessSettings({ HOST: host }) as { host: unknown }).host, host);
    }
    assert.equal(
      (readProcessSettings({ HOST: ' 127.0.0.1 ' }) as { host: unknown }).host,
      '127.0.0.1',
    );
  });

  it('gives a worker no HTTP server unless PORT is set', () => {
    const env = { REDIS_URL: 'rediss://redis.example:6379', CLOSELOOP_ROLE: 'worker' };
    assert.equal((readProcessSettings(env) as { port: unknown }).port, null);
    assert.equal((readProcessSettings({ ...env, PORT: '0' }) as { port: unknown }).port, 0);
  });

  it('explains each bad value and how to fix it', () => {
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ CLOSELOOP_ROLE: 'Web' }, /CLOSELOOP_ROLE="Web" is not a role\. Fix: set it to web/],
      [{ CLOSELOOP_ROLE: 'worker' }, /CLOSELOOP_ROLE=worker needs REDIS_URL.*Fix: set REDIS_URL/],
      [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL must start with redis:\/\/ or rediss:\/\//],
      [
        { REDIS_URL: 'redis://h', CLOSELOOP_REDIS_PREFIX: 'a:b' },
        /CLOSELOOP_REDIS_PREFIX="a:b" may hold only/,
      ],
      [
        { REDIS_URL: 'redis://h', CLOSELOOP_REDIS_LOCK_MS: '500' },
        /CLOSELOOP_REDIS_LOCK_MS="500" is not a whole number of milliseconds from 1000/,
      ],
      [{ PORT: 'http' }, /PORT="http" is not a port number/],
      [{ PORT: '70000' }, /PORT="70000" is not a port number/],
      [
        { HOST: '   ' },
        /HOST=" {3}" is not a host name or an IP address\. Fix: set HOST=0\.0\.0\.0/,
      ],
      [{ HOST: 'my host' }, /HOST="my host" is not a host name or an IP address/],
      [{ HOST: 'http://localhost' }, /HOST="http:\/\/localhost" is not a host name/],
      [{ CLOSELOOP_MAX_CONNECTIONS: '10' }, /CLOSELOOP_MAX_CONNECTIONS="10" is not a whole number/],
      [{ CLOSELOOP_METRICS_TOKEN: 'short' }, /^CLOSELOOP_METRICS_TOKEN must be at least 16/],
      [
        { CLOSELOOP_TRUSTED_PROXIES: '10.0.0.0/33' },
        /^CLOSELOOP_TRUSTED_PROXIES: "10\.0\.0\.0\/33" is not an IP address, a CIDR range/,
      ],
      [{ CLOSELOOP_TRUSTED_PROXIES: 'proxy.local' }, /"proxy\.local" is not an IP address/],
    ];
    for (const [env, message] of cases) {
      const got = readProcessSettings(env);
      assert.equal(typeof got, 'string', JSON.stringify(env));
      assert.match(got as string, message);
    }
  });
});
