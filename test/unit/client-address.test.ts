/**
 * The client's address behind the trusted proxies (CLOSELOOP_TRUSTED_PROXIES): X-Forwarded-For is
 * believed only from a trusted peer, read from the right, trusted hops skipped.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import {
  clientAddress,
  parseTrustedProxies,
  type TrustedProxies,
} from '../../src/http/client-address';

function req(peer: string, xff?: string | string[]): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  } as unknown as IncomingMessage;
}

function trusted(...entries: string[]): TrustedProxies {
  const t = parseTrustedProxies(entries);
  if (typeof t === 'string') assert.fail(t);
  return t;
}

describe('clientAddress', () => {
  const loopback = trusted('loopback');

  it('is the peer when the peer is not a trusted proxy, whatever it claims', () => {
    assert.equal(clientAddress(req('203.0.113.7', '10.1.1.1'), loopback), '203.0.113.7');
    assert.equal(clientAddress(req('::ffff:203.0.113.7'), loopback), '203.0.113.7');
  });

  it('reads X-Forwarded-For from the right behind loopback (the default), as before', () => {
    assert.equal(clientAddress(req('127.0.0.1', '203.0.113.7'), loopback), '203.0.113.7');
    // A client-sent entry in front of the proxy's own changes nothing.
    assert.equal(clientAddress(req('::1', '10.9.9.9, 203.0.113.7'), loopback), '203.0.113.7');
    assert.equal(clientAddress(req('127.0.0.1'), loopback), '127.0.0.1');
  });

  it('believes only the configured proxies: behind a load balancer at 10.0.0.5', () => {
    const lb = trusted('10.0.0.0/24');
    assert.equal(clientAddress(req('10.0.0.5', '198.51.100.20'), lb), '198.51.100.20');
    // Two proxies of ours (an edge at 10.0.0.9 in front of the balancer): both skipped.
    assert.equal(
      clientAddress(req('10.0.0.5', '6.6.6.6, 198.51.100.20, 10.0.0.9'), lb),
      '198.51.100.20',
    );
    // Loopback is not trusted unless listed: a local process's header is not believed.
    assert.equal(clientAddress(req('127.0.0.1', '198.51.100.20'), lb), '127.0.0.1');
    assert.equal(clientAddress(req('10.0.1.5', '198.51.100.20'), lb), '10.0.1.5');
  });

  it('takes IPv6 ranges and several headers; stops at an entry that is not an address', () => {
    const v6 = trusted('2001:db8::/32', '192.0.2.7');
    assert.equal(
      clientAddress(req('2001:db8::1', ['198.51.100.1', '192.0.2.7']), v6),
      '198.51.100.1',
    );
    assert.equal(clientAddress(req('2001:db8::1', 'garbage, 198.51.100.1'), v6), '198.51.100.1');
    assert.equal(clientAddress(req('2001:db8::1', '198.51.100.1, garbage'), v6), '2001:db8::1');
  });

  it('refuses entries that are not addresses or ranges, saying which', () => {
    const problem = (entry: string): string => {
      const t = parseTrustedProxies([entry]);
      return typeof t === 'string' ? t : 'accepted';
    };
    assert.match(problem('10.0.0.0/33'), /^"10\.0\.0\.0\/33" is not an IP/);
    assert.match(problem('10.0.0.0/x'), /is not an IP/);
    assert.match(problem('nginx'), /^"nginx" is not an IP/);
    assert.match(problem('::1/129'), /is not an IP/);
    assert.equal(problem('::1/128'), 'accepted');
  });
});
