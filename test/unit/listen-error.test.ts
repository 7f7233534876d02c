/**
 * Why `closeloop start` could not listen, in words a person acts on. The port-in-use and bad-host
 * cases also run for real in test/integration/cli-listen.test.ts; EACCES only here, since the tests
 * may run as root, which may listen below 1024.
 */
import assert from 'node:assert/strict';
import { describeListenError } from '../../src/cli/start';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`listen ${code}`), { code, syscall: 'listen' });
}

describe('describeListenError', () => {
  it('says which port is taken and how to choose another', () => {
    assert.equal(
      describeListenError(errno('EADDRINUSE'), { host: '0.0.0.0', port: 3000 }),
      'port 3000 is in use (another closeloop, or another program). Fix: stop it, or set PORT to a free port, e.g. PORT=3001',
    );
    assert.match(
      describeListenError(errno('EADDRINUSE'), { host: '127.0.0.1', port: 65535 }) ?? '',
      /^port 65535 on 127\.0\.0\.1 is in use .* e\.g\. PORT=3001$/,
    );
  });

  it('says a port below 1024 needs rights, and what to do instead', () => {
    assert.equal(
      describeListenError(errno('EACCES'), { host: '0.0.0.0', port: 80 }),
      "port 80 needs administrator rights (ports below 1024 do). Fix: set PORT to a port from 1024 up, e.g. PORT=3000, and let a proxy (nginx, Caddy) or the platform's router take port 80",
    );
    assert.match(
      describeListenError(errno('EACCES'), { host: '0.0.0.0', port: 8080 }) ?? '',
      /does not let closeloop listen on port 8080 \(EACCES\)\. Fix: set PORT to another port, e\.g\. PORT=8081/,
    );
  });

  it('says which HOST is wrong and which ones work', () => {
    assert.match(
      describeListenError(errno('EADDRNOTAVAIL'), { host: '192.0.2.1', port: 3000 }) ?? '',
      /^HOST=192\.0\.2\.1 is not an address of this machine.*Fix: set HOST to one of its addresses, or to 0\.0\.0\.0/,
    );
    for (const code of ['ENOTFOUND', 'EAI_AGAIN']) {
      assert.match(
        describeListenError(errno(code), { host: 'closeloop.invalid', port: 3000 }) ?? '',
        /^HOST=closeloop\.invalid is not a host name this machine can resolve.*127\.0\.0\.1/,
      );
    }
  });

  it('leaves other errors alone', () => {
    assert.equal(describeListenError(errno('EMFILE'), { host: '0.0.0.0', port: 3000 }), null);
    assert.equal(describeListenError(new Error('boom'), { host: '0.0.0.0', port: 3000 }), null);
    assert.equal(describeListenError(null, { host: '0.0.0.0', port: 3000 }), null);
  });
});
