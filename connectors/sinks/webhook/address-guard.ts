import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';

/**
 * Server-side request forgery protection: webhook URLs come from API callers, so by default reflex
 * refuses to connect to loopback, private, link-local and other non-public addresses, and to this
 * machine's own addresses (which reach every service bound to 0.0.0.0). The check runs on the
 * addresses DNS returns, at connect time, so a hostname cannot smuggle them in.
 */
const FORBIDDEN_V4 = new Set(['unspecified', 'broadcast', 'multicast', 'linkLocal', 'loopback', 'carrierGradeNat', 'private', 'reserved']);
// rfc6052 is NAT64: the well-known prefix 64:ff9b::/96 is judged by the IPv4 address it carries
// (below); the local-use prefix 64:ff9b:1::/48 translates into the operator's own network.
const FORBIDDEN_V6 = new Set(['unspecified', 'linkLocal', 'multicast', 'loopback', 'uniqueLocal', 'deprecatedSiteLocal', 'discard', 'reserved']);
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

type Interfaces = ReturnType<typeof networkInterfaces>;

/**
 * True when `address` (an IP literal) is not a public unicast address, or is one of this machine's
 * own addresses (`interfaces`, read afresh by default since addresses change). IPv6 forms that
 * carry an IPv4 address (IPv4-mapped and -compatible, NAT64, 6to4, Teredo) are judged by it too.
 */
export function isForbiddenAddress(address: string, interfaces: Interfaces = networkInterfaces()): boolean {
  if (!isIP(address)) return true;
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address);
  } catch {
    return true;
  }
  const own = ownAddresses(interfaces);
  return [ip, ...(ip.kind() === 'ipv6' ? carriedIPv4(ip as ipaddr.IPv6) : [])].some((a) =>
    own.has(key(a)) || (a.kind() === 'ipv4' ? FORBIDDEN_V4 : FORBIDDEN_V6).has(a.range()) || isLocalNat64(a));
}

const key = (ip: ipaddr.IPv4 | ipaddr.IPv6) => ip.toByteArray().join('.');

function ownAddresses(interfaces: Interfaces): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(interfaces)) {
    for (const i of list ?? []) {
      try {
        out.add(key(ipaddr.parse(i.address)));
      } catch {
        // an address the OS lists but ipaddr cannot read is nobody's webhook target
      }
    }
  }
  return out;
}

const isLocalNat64 = (ip: ipaddr.IPv4 | ipaddr.IPv6) => ip.kind() === 'ipv6' && ip.range() === 'rfc6052' && !ip.match(NAT64_WELL_KNOWN);

const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);

/** The IPv4 addresses an IPv6 address stands for, where its form carries one. */
function carriedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4[] {
  const p = ip.parts;
  switch (ip.range()) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
    case 'rfc6052': // 64:ff9b::a.b.c.d
      return [v4(p[6]!, p[7]!)];
    case '6to4': // 2002:aabb:ccdd::/48
      return [v4(p[1]!, p[2]!)];
    case 'teredo': // 2001:0:<server>:<flags>:<port>:<client, inverted>
      return [v4(p[2]!, p[3]!), v4(~p[6]! & 0xffff, ~p[7]! & 0xffff)];
    default:
      // IPv4-compatible (::a.b.c.d, deprecated but still parsed and routed by some stacks)
      return p.slice(0, 6).every((x) => x === 0) ? [v4(p[6]!, p[7]!)] : [];
  }
}

export class ForbiddenAddressError extends Error {
  readonly code = 'EFORBIDDENADDRESS';
  constructor(host: string, address: string) {
    super(`${host} resolves to ${address}, a private, loopback or link-local address or one of this machine's own; set webhooks.allowPrivateAddresses to deliver there`);
    this.name = 'ForbiddenAddressError';
  }
}

/** Why a webhook URL cannot be used (scheme, credentials, literal private address), or null. */
export function urlProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `'${raw}' is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `webhook URLs must be http or https, not ${url.protocol.replace(':', '')}`;
  if (url.username || url.password) return 'webhook URLs must not carry credentials; the signature authenticates reflex';
  if (allowPrivate) return null;
  // `localhost.` is the same name as `localhost` (a fully qualified one).
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.+$/, '');
  if (isIP(host) && isForbiddenAddress(host)) return new ForbiddenAddressError(host, host).message;
  if (host === 'localhost' || host.endsWith('.localhost')) return new ForbiddenAddressError(url.hostname, 'loopback').message;
  return null;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net.connect that fails when any resolved address is forbidden. */
export function guardedLookup(hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const interfaces = networkInterfaces();
    const bad = addresses.find((a) => isForbiddenAddress(a.address, interfaces));
    if (bad) return callback(new ForbiddenAddressError(hostname, bad.address), []);
    if ((options as LookupAllOptions).all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
    callback(null, first.address, first.family);
  });
}
