import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Parser } from '@asyncapi/parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { toMessages } from '../../connectors/sinks/kafka/messages.js';
import { webhookEvent } from '../../connectors/sinks/webhook/event-body.js';
import { signedHeaders } from '../../connectors/sinks/webhook/signing.js';
import type { Contracts } from '../../src/contracts/contracts.js';
import type { StreamRecord } from '../../src/model/records.js';
import { runCli } from '../support/reflex-process.js';

const SHOP = 'examples/shop/openapi.yaml';

interface Output {
  stream: string;
  key: string | null;
  value: { type?: string; data?: unknown; op?: string };
}

/** What the shop example's Kong session produces, as `reflex test` prints it. */
async function shopOutputs(): Promise<Output[]> {
  const run = await runCli(['test', SHOP, '--logs', 'examples/shop/kong-session.ndjson']);
  expect(run.code).toBe(0);
  return run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Output);
}

function validator(): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  return ajv;
}

describe('reflex schema', () => {
  it('prints schemas that every event and change record the shop example produces validates against', async () => {
    const schema = await runCli(['schema', SHOP]);
    expect(schema.code).toBe(0);
    const contracts = JSON.parse(schema.stdout) as Contracts;
    const outputs = await shopOutputs();
    const ajv = validator();
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

type Doc = {
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }>; bindings?: { kafka?: Record<string, unknown> } }>;
  operations: Record<string, { action: string; channel: { $ref: string }; bindings?: unknown }>;
  components: { messages: Record<string, { name: string; headers?: object; payload: object; bindings?: { kafka?: { key: object } } }>; schemas: Record<string, object> };
};

/** The message component a channel's `$ref` names, with `#/components/schemas/…` refs replaced by the schemas. */
function messageOf(doc: Doc, ref: string): Doc['components']['messages'][string] {
  const message = doc.components.messages[ref.replace('#/components/messages/', '')]!;
  const inline = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(inline);
    if (v === null || typeof v !== 'object') return v;
    const ref = (v as { $ref?: string }).$ref;
    if (ref?.startsWith('#/components/schemas/')) return doc.components.schemas[ref.slice('#/components/schemas/'.length)];
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, inline(x)]));
  };
  return inline(message) as Doc['components']['messages'][string];
}

describe('reflex asyncapi', () => {
  it('documents the Kafka topics and the webhook of a config; the shop example\'s records, as those sinks send them, match their messages', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-asyncapi-'));
    try {
      const config = join(dir, 'reflex.yaml');
      writeFileSync(config, [
        `specs: [${resolve(SHOP)}]`,
        'sinks:',
        '  - { type: kafka, brokers: ["127.0.0.1:9092"], topic: "shop.{stream}", partitions: 6 }',
        '  - { type: webhook, name: billing, url: "https://hooks.example/billing/in", streams: [orders, payments, orders.changelog], secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }',
        '',
      ].join('\n'));
      const { code, stdout } = await runCli(['asyncapi', '--config', config]);
      expect(code).toBe(0);
      const { document, diagnostics } = await new Parser().parse(stdout);
      expect(diagnostics.filter((d) => d.severity === 0)).toEqual([]);
      expect(document?.version()).toBe('3.0.0');
      const doc = JSON.parse(stdout) as Doc;

      // Kafka: a topic per stream from the template, compacted changelogs, the key a string.
      expect(doc.channels.orders!.bindings?.kafka).toMatchObject({ topic: 'shop.orders', partitions: 6, topicConfiguration: { 'cleanup.policy': ['delete'] } });
      expect(doc.channels.orders_changelog!.bindings?.kafka).toMatchObject({ topic: 'shop.orders.changelog', topicConfiguration: { 'cleanup.policy': ['compact'] } });
      // The webhook: one channel at the URL's path, POSTed.
      expect(doc.channels.billing!.address).toBe('/billing/in');
      expect(Object.values(doc.operations).find((o) => o.channel.$ref === '#/channels/billing')).toMatchObject({ action: 'send', bindings: { http: { method: 'POST' } } });

      const ajv = validator();
      const outputs = await shopOutputs();
      let delivered = 0;
      for (const [offset, out] of outputs.entries()) {
        const record: StreamRecord = { stream: out.stream, offset, key: out.key, value: out.value };
        const channel = Object.values(doc.channels).find((c) => c.address === `shop.${out.stream}`)!;
        const candidates = Object.values(channel.messages).map((m) => messageOf(doc, m.$ref));
        const message = out.value.op !== undefined ? candidates[0]! : candidates.find((m) => m.name === out.value.type)!;
        expect(message, `${out.stream} ${out.value.type}`).toBeDefined();
        // As the kafka sink writes it (binary mode): ce_* headers, data as the value, the subject as the key.
        const [kafka] = toMessages(record, 'binary');
        const headers = Object.fromEntries(Object.entries(kafka!.headers ?? {}).map(([k, v]) => [k, String(v)]));
        if (message.headers) expect(ajv.validate(message.headers, headers), `${out.value.type} headers: ${ajv.errorsText()}`).toBe(true);
        expect(ajv.validate(message.payload, JSON.parse(String(kafka!.value))), `${out.stream} ${out.value.type}: ${ajv.errorsText()}`).toBe(true);
        expect(ajv.validate(message.bindings!.kafka!.key, kafka!.key)).toBe(true);

        // As the webhook delivers it: a structured CloudEvent, signed.
        if (out.stream === 'orders' || out.stream === 'payments' || out.stream === 'orders.changelog') {
          const event = webhookEvent(record);
          const webhookMessage = Object.values(doc.channels.billing!.messages).map((m) => messageOf(doc, m.$ref))
            .find((m) => m.name === (out.value.op !== undefined ? 'orders.changelog.change' : event.type))!;
          expect(webhookMessage, event.type).toBeDefined();
          const body = JSON.stringify(event);
          expect(ajv.validate(webhookMessage.payload, event), `webhook ${event.type}: ${ajv.errorsText()}`).toBe(true);
          const signed = signedHeaders({ eventId: event.id, timestampSeconds: 1_790_000_000, secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] }, body);
          expect(ajv.validate(webhookMessage.headers!, signed), `webhook headers: ${ajv.errorsText()}`).toBe(true);
          delivered++;
        }
      }
      expect(delivered).toBeGreaterThan(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('reflex diff', () => {
  const shop = readFileSync(SHOP, 'utf8');
  const variant = (dir: string, name: string, edit: (text: string) => string): string => {
    const file = join(dir, name);
    const text = edit(shop);
    expect(text).not.toBe(shop);
    writeFileSync(file, text);
    return file;
  };

  it('exits 0 for a compatible change (a new field, a new event type) and 1 naming each breaking one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-diff-'));
    try {
      const compatible = variant(dir, 'compatible.yaml', (t) => t
        .replace('"total": response.body.total}\'', '"total": response.body.total, "note": response.body.note}\'')
        .replace('        - type: PaymentDeclined', '        - type: PaymentAttempted\n          data: \'{"orderId": request.params.orderId}\'\n        - type: PaymentDeclined'));
      const ok = await runCli(['diff', SHOP, compatible]);
      expect(ok.stderr).toBe('');
      expect(ok.stdout.trim()).toBe(`compatible: ${compatible} breaks no consumer of ${SHOP}`);
      expect(ok.code).toBe(0);

      const breaking = variant(dir, 'breaking.yaml', (t) => t
        .replace('"currency": response.body.currency,', '')
        .replace('quantity: { type: integer }', 'quantity: { type: string }')
        .replace(/ {8}- type: PaymentDeclined\n(?: {10}.*\n)+/, ''));
      const broken = await runCli(['diff', SHOP, breaking]);
      expect(broken.stdout.trim().split('\n')).toEqual([
        'com.shop.OrderPlaced: /currency was removed (field-removed)',
        'com.shop.OrderPlaced: /items/*/quantity was integer, now string (type-changed)',
        'com.shop.OrderUpdated: /items/*/quantity was integer, now string (type-changed)',
        'com.shop.PaymentDeclined: event type com.shop.PaymentDeclined is no longer produced (event-removed)',
        'orders.changelog: /after/items/*/quantity was integer, now string (type-changed)',
        '5 breaking changes in 4 contracts (event types, changelogs)',
      ]);
      expect(broken.code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
