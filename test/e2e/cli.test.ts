import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../support/reflex-process.js';

const SHOP = 'examples/shop/openapi.yaml';
const LOGS = 'examples/shop/kong-session.ndjson';

describe('reflex test (dry run for users\' CI)', () => {
  it('prints the records the example session produces, equal to the checked-in expectation', async () => {
    const { code, stdout, stderr } = await runCli(['test', SHOP, '--logs', LOGS]);
    expect(code).toBe(0);
    expect(stdout).toBe(readFileSync(`${ROOT}examples/shop/expected-events.ndjson`, 'utf8'));
    expect(stderr).toContain('unmatched: 1 × GET /v1/healthcheck (kong/shop-api)');
    expect(stderr).toContain('15 entries: 10 events, 7 change records (0 late), 0 dead letters, 1 unmatched, 1 duplicates');
  });

  it('passes with --expect when equal, and prints a readable diff and exits 1 when not', async () => {
    const ok = await runCli(['test', SHOP, '--logs', LOGS, '--expect', 'examples/shop/expected-events.ndjson']);
    expect(ok.code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'reflex-cli-'));
    try {
      const lines = readFileSync(`${ROOT}examples/shop/expected-events.ndjson`, 'utf8').trim().split('\n');
      lines[2] = lines[2]!.replace('"total":89.7', '"total":90');
      lines.pop();
      writeFileSync(join(dir, 'wrong.ndjson'), lines.join('\n') + '\n');
      const bad = await runCli(['test', SHOP, '--logs', LOGS, '--expect', join(dir, 'wrong.ndjson')]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain('record 3 (orders com.shop.OrderPlaced): /value/data/total expected 90, got 89.7');
      expect(bad.stdout).toMatch(/record 17 \(customers\.changelog op=d\): unexpected \{"stream":"customers\.changelog","key":"cus_1001"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a malformed log file with its line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-cli-'));
    try {
      const lines = readFileSync(`${ROOT}${LOGS}`, 'utf8').split('\n');
      lines[3] = '{"request": ';
      writeFileSync(join(dir, 'bad.ndjson'), lines.join('\n'));
      const { code, stderr } = await runCli(['test', SHOP, '--logs', join(dir, 'bad.ndjson')]);
      expect(code).toBe(1);
      expect(stderr).toMatch(/bad\.ndjson:4:\d+ - error RX300: malformed JSON on line 4/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('reflex lint and usage', () => {
  it('passes the example spec and fails a broken one with file:line:column', async () => {
    expect((await runCli(['lint', SHOP])).code).toBe(0);
    const broken = await runCli(['lint', 'test/e2e/fixtures/broken.yaml']);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/test\/e2e\/fixtures\/broken\.yaml:15:\d+ - error RX120/);
  });

  it('explains usage errors with exit code 2', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect((await runCli(['test', SHOP])).stderr).toContain('test needs --logs <file>');
  });
});

describe('npm start', () => {
  it('serves the shop example and prints its events as the example logs flow in', async () => {
    const child = spawn(process.execPath, ['dist/bin/reflex.js', 'serve', '--config', 'examples/shop/reflex.yaml', '--port', '0', '--data', mkdtempSync(join(tmpdir(), 'reflex-start-'))], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      for (let i = 0; i < 200 && out.split('\n').length <= 10; i++) await new Promise((r) => setTimeout(r, 50));
      const lines = out.trim().split('\n');
      expect(lines).toHaveLength(10);
      expect(lines).toContainEqual(expect.stringMatching(/^customers#1 com\.shop\.CustomerRegistered \[cus_1001\] \{"customerId":"cus_1001"/));
      expect(lines.filter((l) => l.startsWith('orders#'))).toEqual([
        expect.stringMatching(/^orders#1 com\.shop\.OrderPlaced \[ord_5001\]/),
        expect.stringMatching(/^orders#2 com\.shop\.OrderUpdated \[ord_5001\]/),
        expect.stringMatching(/^orders#3 com\.shop\.OrderPlaced \[ord_5002\]/),
        expect.stringMatching(/^orders#4 com\.shop\.OrderCancelled \[ord_5002\]/),
      ]);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
