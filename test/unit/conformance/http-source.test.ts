import { httpReceiver } from '../../../connectors/sources/http/receiver.js';
import { kongLog } from '../../support/kong-log.js';
import { sourceConformance } from '../../support/conformance/source.js';

let paths = 0;

sourceConformance('http', {
  connector: httpReceiver,
  config: () => ({ path: `/ingest/conformance-${++paths}`, format: 'kong' }),
  // The route as reflex's HTTP server calls it; the answer is what the gateway sees.
  async send(instance, ids) {
    const handler = instance.http.get(instance.settings.path as string)!;
    const body = JSON.stringify(ids.map((id) => kongLog({ id, startedAt: 1_700_000_000_000, method: 'GET', path: '/v1/orders/1', status: 200 })));
    const answer = await handler(body, { 'content-type': 'application/json' });
    return answer.status === 200;
  },
  pickupMs: 2_000,
  badConfigs: [
    { what: 'a path without its leading slash', block: { path: 'ingest/x', format: 'kong' }, pointer: '/path', message: /path must match pattern/ },
    { what: 'no format', block: { path: '/ingest/x' }, message: /must have required property 'format'/ },
  ],
});
