import { describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { asyncApiDocument } from '../../src/contracts/asyncapi.js';
import { contractSinks } from '../../src/contracts/sinks.js';
import { loadSpecSet } from '../../src/spec/compile.js';

type Doc = { channels: Record<string, { address: string; messages: Record<string, unknown> }>; servers: Record<string, { host: string; protocol: string }> };

async function documentFor(sinks: Array<Record<string, unknown>>): Promise<Doc> {
  const set = await loadSpecSet(['examples/shop/openapi.yaml']);
  return asyncApiDocument(set.contracts, set.streams, contractSinks(sinks as never, builtinRegistry())) as Doc;
}

describe('AsyncAPI channels from the configured sinks', () => {
  it('a webhook endpoint lists only the event types its `types` let through, and change records only when they do', async () => {
    const doc = await documentFor([
      { type: 'webhook', name: 'orders-only', url: 'http://127.0.0.1:9000/hook', streams: ['orders', 'orders.changelog', 'payments'], types: ['com.shop.Order*'], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
      { type: 'webhook', name: 'changes', url: 'http://127.0.0.1:9000/changes', streams: ['orders.changelog'], types: ['orders.changelog.*'], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    ]);
    expect(doc.servers['orders-only']).toEqual({ host: '127.0.0.1:9000', protocol: 'http', description: 'a webhook endpoint declared in reflex.yaml' });
    expect(Object.keys(doc.channels['orders-only']!.messages)).toEqual(['com_shop_OrderPlaced_structured', 'com_shop_OrderCancelled_structured', 'com_shop_OrderUpdated_structured']);
    expect(Object.keys(doc.channels.changes!.messages)).toEqual(['orders_change_event']);
  });

  it('two kafka sinks writing one stream: a channel for each topic', async () => {
    const doc = await documentFor([
      { type: 'kafka', brokers: ['127.0.0.1:9092'], topic: 'shop.{stream}', streams: ['orders'] },
      { type: 'kafka', name: 'mirror', brokers: ['127.0.0.1:9093'], topic: 'mirror-{stream}', streams: ['*'], mode: 'structured' },
    ]);
    expect(doc.channels.orders!.address).toBe('shop.orders');
    expect(doc.channels.orders_mirror!.address).toBe('mirror-orders');
    expect(Object.keys(doc.channels.orders_mirror!.messages)[0]).toBe('com_shop_OrderPlaced_structured');
    expect(doc.channels.payments!.address).toBe('mirror-payments');
  });

  it('a webhook named like a stream does not hide the stream\'s channel', async () => {
    const doc = await documentFor([{ type: 'webhook', name: 'orders', url: 'https://hooks.example/o', streams: ['orders'], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }]);
    expect(doc.channels.orders!.address).toBe('/o');
    expect(doc.channels.orders_2!.address).toBe('orders');
  });
});
