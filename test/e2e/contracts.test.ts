import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { Contracts } from '../../src/contracts/contracts.js';
import { runCli } from '../support/reflex-process.js';

const SHOP = 'examples/shop/openapi.yaml';

interface Output {
  stream: string;
  value: { type?: string; data?: unknown; op?: string };
}

describe('reflex schema', () => {
  it('prints schemas that every event and change record the shop example produces validates against', async () => {
    const schema = await runCli(['schema', SHOP]);
    expect(schema.code).toBe(0);
    const contracts = JSON.parse(schema.stdout) as Contracts;
    const run = await runCli(['test', SHOP, '--logs', 'examples/shop/kong-session.ndjson']);
    expect(run.code).toBe(0);
    const outputs = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Output);

    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const checked = new Set<string>();
    for (const out of outputs) {
      if (out.value.op !== undefined) {
        const resource = contracts.resources.find((r) => r.stream === out.stream);
        expect(resource, out.stream).toBeDefined();
        expect(ajv.validate(resource!.changeRecord, out.value), `${out.stream}: ${ajv.errorsText()}`).toBe(true);
        checked.add(out.stream);
        continue;
      }
      const event = contracts.events.find((e) => e.type === out.value.type);
      expect(event, out.value.type).toBeDefined();
      expect(event!.stream).toBe(out.stream);
      expect(ajv.validate(event!.schema, out.value.data), `${out.value.type}: ${ajv.errorsText()}`).toBe(true);
      checked.add(out.value.type!);
    }
    expect(checked.size).toBeGreaterThanOrEqual(8);

    // The schemas are narrow enough to refuse what the spec does not allow.
    const placed = contracts.events.find((e) => e.type === 'com.shop.OrderPlaced')!;
    expect(ajv.validate(placed.schema, { items: [{ sku: 'A', quantity: 'two' }] })).toBe(false);
    expect(ajv.validate(placed.schema, { orderId: 'ord_1' })).toBe(false); // items is always there
  });

  it('exits 1 naming the fault when a spec does not compile', async () => {
    const { code, stdout, stderr } = await runCli(['schema', 'test/fixtures/specs/nope.yaml']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/nope\.yaml - error RX001: cannot read .*no such file/);
  });
});
