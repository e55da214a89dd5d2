import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files made with the openssl CLI: `ca`, `server` (localhost, 127.0.0.1), `client` (signed by ca), `other` (a CA of its own). */
export interface TestCerts {
  dir: string;
  /** `<dir>/<name>.pem` / `<dir>/<name>.key`. */
  pem(name: string): string;
  key(name: string): string;
  remove(): void;
}

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-certs-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const selfSigned = (name: string, cn: string) => openssl('req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`);
  const issue = (name: string, cn: string, ext: string) => {
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  };
  selfSigned('ca', 'reflex test CA');
  issue('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  issue('client', 'envoy-1', 'extendedKeyUsage=clientAuth\n');
  selfSigned('other', 'other');
  return {
    dir,
    pem: (name) => join(dir, `${name}.pem`),
    key: (name) => join(dir, `${name}.key`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
