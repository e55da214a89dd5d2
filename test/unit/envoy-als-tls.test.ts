import { readFileSync } from 'node:fs';
import { credentials } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEnvoyAlsSource, type EnvoyAlsSource } from '../../connectors/sources/envoy-als/source.js';
import type { EnvoyAlsConfig } from '../../connectors/sources/envoy-als/schema.js';
import { createLogger } from '../../src/logger.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { fakeContext, httpEntry, identifier, message, openStream, until, type AlsCall, type FakeContext } from '../support/envoy-als.js';

// A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl CLI.
let certs: TestCerts;
const pem = (name: string) => readFileSync(certs.pem(name));
const key = (name: string) => readFileSync(certs.key(name));
const sources: EnvoyAlsSource[] = [];
const calls: AlsCall[] = [];

beforeAll(() => {
  certs = makeCerts();
});
afterAll(() => certs?.remove());
afterEach(async () => {
  for (const c of calls.splice(0)) c.close();
  for (const s of sources.splice(0)) await s.stop();
});

async function start(tls: EnvoyAlsConfig['tls'], ctx: FakeContext): Promise<string> {
  const source = createEnvoyAlsSource({ host: '127.0.0.1', port: 0, tls }, ctx);
  await source.start();
  sources.push(source);
  return `127.0.0.1:${source.address()!.port}`;
}

const serverTls = () => ({ cert: certs.pem('server'), key: certs.key('server') });
const withClientCert = (name = 'client') => credentials.createSsl(pem('ca'), key(name), pem(name));

async function send(address: string, creds: ReturnType<typeof credentials.createInsecure>) {
  // The certificate names localhost (SNI must not be an IP address).
  const c = openStream(address, creds, { 'grpc.ssl_target_name_override': 'localhost' });
  calls.push(c);
  c.call.write(message([httpEntry({ id: 'tls-1' })], identifier('edge-1')));
  c.call.end();
  return (await c.done).error;
}

describe('envoy-als over TLS', () => {
  it('accepts Envoy presenting a client certificate signed by the configured CA', async () => {
    const lines: string[] = [];
    const ctx = fakeContext(undefined, createLogger({ write: (l) => lines.push(l) }));
    const address = await start({ ...serverTls(), ca: certs.pem('ca'), requireClientCert: true }, ctx);
    expect(await send(address, withClientCert())).toBeNull();
    await until('1 exchange', () => ctx.exchanges().length, (n) => n === 1);
    expect(lines.join('\n')).toMatch(/Envoy ALS gRPC server listening host=127\.0\.0\.1 .*tls=client certificates required/);
  });

  it('refuses a client without certificate, with one from another CA, and a plaintext client', async () => {
    const ctx = fakeContext();
    const address = await start({ ...serverTls(), ca: certs.pem('ca'), requireClientCert: true }, ctx);
    expect(await send(address, credentials.createSsl(pem('ca')))).not.toBeNull();
    expect(await send(address, withClientCert('other'))).not.toBeNull();
    expect(await send(address, credentials.createInsecure())).not.toBeNull();
    expect(ctx.batches).toHaveLength(0);
  });

  it('with a server certificate only, takes any TLS client and still refuses plaintext', async () => {
    const ctx = fakeContext();
    const address = await start(serverTls(), ctx);
    expect(await send(address, credentials.createSsl(pem('ca')))).toBeNull();
    expect(await send(address, credentials.createInsecure())).not.toBeNull();
    expect(ctx.exchanges()).toHaveLength(1);
  });

  it('names the file it cannot read', () => {
    expect(() => createEnvoyAlsSource({ tls: { cert: `${certs.dir}/missing.pem`, key: certs.key('server') } }, fakeContext())).toThrow(/tls\.cert: cannot read/);
  });
});
