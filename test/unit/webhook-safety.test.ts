import { Webhook } from 'standardwebhooks';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { guardedLookup, isForbiddenAddress, urlProblem } from '../../connectors/sinks/webhook/address-guard.js';
import { EndpointClient } from '../../connectors/sinks/webhook/http-client.js';
import { generateSecret, secretProblem, signatureHeader } from '../../connectors/sinks/webhook/signing.js';

describe('webhook address guard', () => {
  it.each([
    ['127.0.0.1', true], ['127.8.9.10', true], ['10.0.0.1', true], ['172.16.5.4', true], ['172.31.255.255', true],
    ['192.168.1.1', true], ['169.254.169.254', true], ['100.64.0.1', true], ['0.0.0.0', true], ['224.0.0.1', true],
    ['::1', true], ['::', true], ['fe80::1', true], ['fd12:3456::1', true], ['::ffff:127.0.0.1', true], ['::ffff:10.0.0.1', true],
    ['8.8.8.8', false], ['172.32.0.1', false], ['93.184.216.34', false], ['2606:4700::1111', false], ['::ffff:8.8.8.8', false],
  ])('%s forbidden: %s', (address, forbidden) => {
    expect(isForbiddenAddress(address)).toBe(forbidden);
  });

  it.each([
    // IPv4-compatible, IPv4-mapped in hex, SIIT, NAT64 and 6to4 forms of private addresses
    ['::7f00:1', true], ['::a00:1', true], ['::ffff:7f00:1', true], ['::ffff:0:a00:1', true],
    ['64:ff9b::a00:1', true], ['64:ff9b::7f00:1', true], ['64:ff9b:1::808:808', true], ['2002:c0a8:101::1', true], ['2002:7f00:1::', true],
    // Teredo with a private server address; reserved (documentation) ranges
    ['2001:0:a00:1::', true], ['192.0.2.7', true], ['2001:db8::1', true], ['fec0::1', true],
    // the same forms of public addresses stay allowed
    ['64:ff9b::808:808', false], ['2002:808:808::1', false], ['::808:808', false],
  ])('%s (an embedded or reserved address) forbidden: %s', (address, forbidden) => {
    expect(isForbiddenAddress(address, {})).toBe(forbidden);
  });

  it("refuses this machine's own addresses, public ones included", () => {
    const own = Object.values(networkInterfaces()).flat().filter((i) => i !== undefined);
    expect(own.length).toBeGreaterThan(0);
    for (const i of own) expect(isForbiddenAddress(i.address), i.address).toBe(true);
    // A public address is forbidden when an interface of this machine carries it, in every form.
    const eth0 = [{ address: '93.184.216.34', netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: '93.184.216.34/24' }] as const;
    expect(isForbiddenAddress('93.184.216.34', { eth0: [...eth0] })).toBe(true);
    expect(isForbiddenAddress('::ffff:93.184.216.34', { eth0: [...eth0] })).toBe(true);
    expect(isForbiddenAddress('2002:5db8:d822::1', { eth0: [...eth0] })).toBe(true);
    expect(isForbiddenAddress('93.184.216.34', {})).toBe(false);
    expect(urlProblem(`http://${own.find((i) => !i.internal && i.family === 'IPv4')?.address ?? '127.0.0.1'}:8080/x`, false)).toContain('allowPrivateAddresses');
  });

  it('explains what is wrong with a URL', () => {
    expect(urlProblem('not a url', false)).toContain('is not a URL');
    expect(urlProblem('file:///etc/passwd', false)).toContain('http or https');
    expect(urlProblem('https://user:pw@hooks.example/x', false)).toContain('credentials');
    expect(urlProblem('http://127.0.0.1:8080/x', false)).toContain('allowPrivateAddresses');
    expect(urlProblem('http://127.0.0.1:8080/x', true)).toBeNull();
    expect(urlProblem('https://hooks.example/x', false)).toBeNull();
    // A trailing dot names the same host; URL literals in other spellings are the same address.
    for (const url of ['http://localhost./x', 'http://api.localhost../x', 'http://127.0.0.1./x', 'http://0x7f.1/x', 'http://[::ffff:127.0.0.1]/x', 'http://[::127.0.0.1]/x', 'http://[64:ff9b::10.0.0.1]/x']) {
      expect(urlProblem(url, false), url).toContain('allowPrivateAddresses');
      expect(urlProblem(url, true), url).toBeNull();
    }
  });

  it("does not connect to this machine's own non-loopback address (where 0.0.0.0 services listen)", async () => {
    const external = Object.values(networkInterfaces()).flat().find((i) => i && !i.internal && i.family === 'IPv4');
    expect(external, 'this test needs a non-loopback IPv4 interface').toBeDefined();
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const url = new URL(`http://${external!.address}:${(server.address() as AddressInfo).port}/hook`);
    const options = { timeoutMs: 2000, maxResponseBytes: 100, connections: 1 };
    const guarded = new EndpointClient({ ...options, allowPrivateAddresses: false });
    const open = new EndpointClient({ ...options, allowPrivateAddresses: true });
    try {
      const refused = await guarded.post(url, {}, '{}');
      expect(refused.kind).toBe('address-refused');
      expect(refused.kind === 'address-refused' && refused.error).toContain('allowPrivateAddresses');
      expect(hits).toBe(0);
      // The same request goes through when private addresses are allowed: the guard, not the network, refused.
      expect(await open.post(url, {}, '{}')).toMatchObject({ kind: 'delivered', status: 200 });
      expect(hits).toBe(1);
    } finally {
      await Promise.all([guarded.close(), open.close()]);
      server.close();
    }
  });

  it('refuses, at lookup time, a name that resolves to loopback', async () => {
    const result = await new Promise<{ err: Error | null }>((resolve) => guardedLookup('localhost', { all: true }, (err) => resolve({ err })));
    expect(result.err?.message).toMatch(/localhost resolves to (127\.0\.0\.1|::1)/);
  });
});

describe('Standard Webhooks signatures', () => {
  it('generates secrets that the reference library accepts, and signatures it verifies', () => {
    const secret = generateSecret();
    expect(secretProblem(secret)).toBeNull();
    const body = JSON.stringify({ specversion: '1.0', id: 'evt_1', data: { a: 'ü' } });
    const ts = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(ts), 'webhook-signature': signatureHeader([secret], 'evt_1', ts, body) };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    // A changed body, id or timestamp fails.
    expect(() => new Webhook(secret).verify(body.replace('ü', 'u'), headers)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_2' })).toThrow();
  });

  it('signs with every given secret, space separated', () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const header = signatureHeader([a, b], 'id', 1, '{}');
    expect(header.split(' ')).toHaveLength(2);
    expect(header.split(' ').every((s) => s.startsWith('v1,'))).toBe(true);
  });

  it('rejects secrets that are not whsec_ + base64 of 24 to 64 bytes', () => {
    expect(secretProblem('hunter2')).toContain('whsec_');
    expect(secretProblem('whsec_' + Buffer.alloc(8).toString('base64'))).toContain('24 to 64 bytes');
  });
});
