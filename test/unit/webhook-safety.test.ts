import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { guardedLookup, isForbiddenAddress, urlProblem } from '../../src/webhooks/address-guard.js';
import { generateSecret, secretProblem, signatureHeader } from '../../src/webhooks/signing.js';

describe('webhook address guard', () => {
  it.each([
    ['127.0.0.1', true], ['127.8.9.10', true], ['10.0.0.1', true], ['172.16.5.4', true], ['172.31.255.255', true],
    ['192.168.1.1', true], ['169.254.169.254', true], ['100.64.0.1', true], ['0.0.0.0', true], ['224.0.0.1', true],
    ['::1', true], ['::', true], ['fe80::1', true], ['fd12:3456::1', true], ['::ffff:127.0.0.1', true], ['::ffff:10.0.0.1', true],
    ['8.8.8.8', false], ['172.32.0.1', false], ['93.184.216.34', false], ['2606:4700::1111', false], ['::ffff:8.8.8.8', false],
  ])('%s forbidden: %s', (address, forbidden) => {
    expect(isForbiddenAddress(address)).toBe(forbidden);
  });

  it('explains what is wrong with a URL', () => {
    expect(urlProblem('not a url', false)).toContain('is not a URL');
    expect(urlProblem('file:///etc/passwd', false)).toContain('http or https');
    expect(urlProblem('https://user:pw@hooks.example/x', false)).toContain('credentials');
    expect(urlProblem('http://127.0.0.1:8080/x', false)).toContain('allowPrivateAddresses');
    expect(urlProblem('http://127.0.0.1:8080/x', true)).toBeNull();
    expect(urlProblem('https://hooks.example/x', false)).toBeNull();
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
