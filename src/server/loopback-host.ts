import type { FastifyReply, FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import { API_CODES } from '../codes.js';

/**
 * True when a Host header names this machine's loopback interface: `localhost`, `*.localhost`,
 * 127.0.0.0/8 or [::1] (IPv4-mapped too), with or without a port and a trailing dot. `0.0.0.0` and
 * `[::]` count too: connecting to them reaches this machine, and no other site can be them (what
 * DNS rebinding needs is a name of the attacker's that the browser keeps sending as Host).
 */
export function isLoopbackHost(host: string | undefined): boolean {
  const m = host ? /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::\d{1,5})?$/i.exec(host) : null;
  if (!m) return false;
  if (m[1] !== undefined) {
    if (!ipaddr.IPv6.isValid(m[1])) return false;
    const ip = ipaddr.IPv6.parse(m[1]);
    return ip.range() === 'loopback' || ip.range() === 'unspecified' || (ip.isIPv4MappedAddress() && ip.toIPv4Address().range() === 'loopback');
  }
  const name = m[2]!.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return name === '0.0.0.0' || (ipaddr.IPv4.isValidFourPartDecimal(name) && ipaddr.IPv4.parse(name).range() === 'loopback');
}

/**
 * An onRequest hook for routes that trust loopback clients (no credential configured). A web page
 * on this machine can reach them through DNS rebinding (its own name, re-pointed at 127.0.0.1), but
 * the browser then still sends that name as Host: refusing foreign Hosts closes the hole.
 */
export function requireLoopbackHost(key: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const host = request.headers.host;
    if (isLoopbackHost(host)) return;
    return reply.code(403).send({
      error: `Host ${host === undefined ? '(none)' : `'${host}'`} is not a loopback name: without ${key} this route answers only requests addressed to localhost, 127.0.0.1 or [::1] (a guard against DNS rebinding). Call it by one of those names, or set ${key}`,
      code: API_CODES.hostNotLoopback,
    });
  };
}
