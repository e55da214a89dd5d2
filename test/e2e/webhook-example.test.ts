import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, startReflexProcess, type ReflexProcess } from '../support/reflex-process.js';
import { eventually } from '../support/webhook-receiver.js';

/** The README's webhook walk-through, as written: examples/webhooks/receiver.mjs and reflex.yaml. */
describe('examples/webhooks', () => {
  let receiver: ChildProcess | undefined;
  let reflex: ReflexProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'reflex-webhook-example-'));
  afterAll(async () => {
    await reflex?.stop();
    receiver?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers the shop session\'s order and payment events to the example receiver, which verifies each', async () => {
    const secret = 'whsec_' + randomBytes(24).toString('base64');
    receiver = spawn(process.execPath, [join(ROOT, 'examples/webhooks/receiver.mjs'), '0'], { env: { ...process.env, REFLEX_WEBHOOK_SECRET: secret } });
    let out = '';
    let err = '';
    receiver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    receiver.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await eventually(() => /127\.0\.0\.1:(\d+)/.test(err), 10_000, 'the receiver to listen');
    const port = /127\.0\.0\.1:(\d+)/.exec(err)![1]!;

    reflex = await startReflexProcess(['--config', join(ROOT, 'examples/webhooks/reflex.yaml'), '--data', dir], {
      REFLEX_WEBHOOK_SECRET: secret, REFLEX_WEBHOOK_PORT: port,
    });
    const expected = readFileSync(join(ROOT, 'examples/shop/expected-events.ndjson'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as { stream: string; value: { id: string; type: string } })
      .filter((r) => r.stream === 'orders' || r.stream === 'payments');
    await eventually(() => out.trim().split('\n').filter(Boolean).length === expected.length, 15_000, `${expected.length} events at the receiver`);
    const received = out.trim().split('\n').map((l) => JSON.parse(l) as { id: string; type: string });
    expect(received.map((r) => r.id).sort()).toEqual(expected.map((r) => r.value.id).sort());
    expect(err).not.toContain('rejected');
  });
});
