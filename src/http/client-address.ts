/**
 * The address of the client behind the proxies closeloop is told to believe
 * (`CLOSELOOP_TRUSTED_PROXIES`: addresses and CIDR ranges; `loopback` by default, as before the
 * variable existed). The peer of the socket is the client unless it is a trusted proxy; then the
 * proxy's `X-Forwarded-For` is read from the right, each trusted hop skipped, and the first
 * address that is not a trusted proxy is the client. A client cannot pick its address by sending
 * its own X-Forwarded-For: the proxy appends the real peer after it, and the walk stops there.
 * Model: express's `trust proxy` (proxy-addr), which reads the header the same way.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

export interface TrustedProxies {
  trusts(ip: string): boolean;
  /** The entries as given (`loopback`, `10.0.0.0/8`, …), for messages. */
  readonly entries: readonly string[];
}

/** Loopback: a proxy on this machine (nginx, Caddy beside closeloop). */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = ['loopback'];

/**
 * The trusted proxies from a list such as `loopback, 10.0.0.0/8, 2001:db8::/32, 192.0.2.7`;
 * a string says what is wrong with an entry and how to fix it.
 */
export function parseTrustedProxies(entries: readonly string[]): TrustedProxies | string {
  const list = new BlockList();
  for (const entry of entries) {
    if (entry === 'loopback') {
      list.addSubnet('127.0.0.0', 8, 'ipv4');
      list.addAddress('::1', 'ipv6');
      continue;
    }
    const [address = '', bits, ...more] = entry.split('/');
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (
      family === 0 ||
      more.length > 0 ||
      (bits !== undefined && !/^\d{1,3}$/.test(bits)) ||
      prefix > max
    ) {
      return `"${entry.slice(0, 60)}" is not an IP address, a CIDR range (10.0.0.0/8, 2001:db8::/32) or the word loopback`;
    }
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return {
    entries,
    trusts: (ip) => {
      const family = isIP(ip);
      return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) → `10.0.0.1`. */
export function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** The client's address for this request, seen through the trusted proxies. */
export function clientAddress(req: IncomingMessage, trusted: TrustedProxies): string {
  let client = plainIp(req.socket.remoteAddress ?? '');
  if (!trusted.trusts(client)) return client;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plainIp(hops[i]!.trim());
    if (hop === '') continue;
    // Not an address: written by whoever sent it, not by a proxy; the last proxy is the client.
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!trusted.trusts(hop)) return hop;
  }
  return client;
}
