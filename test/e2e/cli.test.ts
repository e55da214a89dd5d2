import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    expect(stderr).toContain('unmatched: 1 × GET /shop/v1/healthcheck (kong/shop-api)');
    // Which paths were tried against which base paths, so the fix is visible at once.
    expect(stderr).toContain('  tried: GET /shop/v1/healthcheck (client) → not under base path /v1 ; GET /v1/healthcheck (upstream, under base path /v1) → no operation');
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

  it('--explain shows, for one entry, the paths tried, the operation and what each rule gave', async () => {
    const { code, stdout } = await runCli(['test', SHOP, '--logs', LOGS, '--explain', '7c1e9a074f0b4d2e9a4b1c8e5f6a7b07']);
    expect(code).toBe(0);
    expect(stdout).toContain('request 7c1e9a074f0b4d2e9a4b1c8e5f6a7b07: PATCH /shop/v1/orders/ord_5001, upstream /v1/orders/ord_5001');
    expect(stdout).toContain('  PATCH /shop/v1/orders/ord_5001 (client) → not under base path /v1');
    expect(stdout).toContain('  PATCH /v1/orders/ord_5001 (upstream, under base path /v1) → updateOrder (/orders/{orderId} in examples/shop/openapi.yaml)');
    expect(stdout).toContain('operation: updateOrder (PATCH /orders/{orderId}) params {"orderId":"ord_5001"}');
    expect(stdout).toMatch(/rule 0 OrderCancelled → stream orders \(examples\/shop\/openapi\.yaml:\d+:\d+\)\n {2}when .*response\.status == 200.* {2}= false\n {2}→ no event/);
    expect(stdout).toMatch(/rule 1 OrderUpdated → stream orders .*\n {2}when .* {2}= true\n {2}data = \{"id":"ord_5001".*"note":"leave at the door"\}\n {2}key {2}= "ord_5001"\n {2}→ event/);
    expect(stdout).toMatch(/change: orders\/ord_5001 op u after \{/);

    const missing = await runCli(['test', SHOP, '--logs', LOGS, '--explain', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no entry with request id 'nope' in examples/shop/kong-session.ndjson (15 entries)");
  });

  it('ends quietly when the reader closes the pipe (reflex test … | head)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-cli-'));
    try {
      // Enough output to fill the pipe after head has gone.
      const lines = readFileSync(`${ROOT}${LOGS}`, 'utf8').trim().split('\n');
      const many: string[] = [];
      for (let i = 0; i < 400; i++) for (const l of lines) many.push(l.replaceAll('7c1e9a0', `r${i}x`));
      writeFileSync(join(dir, 'many.ndjson'), many.join('\n') + '\n');
      const child = spawn('bash', ['-c', `node dist/bin/reflex.js test ${SHOP} --logs ${join(dir, 'many.ndjson')} 2>${join(dir, 'err.txt')} | head -n 1`], { cwd: ROOT });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      const exit = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(exit).toBe(0);
      expect(out.trim().split('\n')).toHaveLength(1);
      const err = readFileSync(join(dir, 'err.txt'), 'utf8');
      expect(err).not.toMatch(/EPIPE|Error|at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--allow-refs lets lint and test read $refs outside the spec\'s folder tree, which are refused without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-cli-'));
    try {
      mkdirSync(join(dir, 'api'));
      mkdirSync(join(dir, 'shared'));
      writeFileSync(join(dir, 'shared', 'order.yaml'), 'type: object\nproperties: { id: { type: string } }\n');
      writeFileSync(join(dir, 'api', 'spec.yaml'), [
        'openapi: 3.1.0',
        "info: { title: t, version: '1' }",
        'paths:',
        '  /orders:',
        '    post:',
        "      responses: { '201': { description: ok, content: { application/json: { schema: { $ref: '../shared/order.yaml' } } } } }",
        '      x-reflex-events: [{ type: OrderPlaced }]',
        '',
      ].join('\n'));
      writeFileSync(join(dir, 'logs.ndjson'), '');
      const spec = join(dir, 'api', 'spec.yaml');
      const refused = await runCli(['lint', spec]);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(/RX007/);
      expect((await runCli(['test', spec, '--logs', join(dir, 'logs.ndjson')])).stderr).toMatch(/RX007/);
      expect((await runCli(['lint', spec, '--allow-refs', join(dir, 'shared')])).code).toBe(0);
      const tested = await runCli(['test', spec, '--logs', join(dir, 'logs.ndjson'), '--allow-refs', join(dir, 'shared')]);
      expect(tested.code).toBe(0);
      expect(tested.stderr).toContain('0 entries');
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
