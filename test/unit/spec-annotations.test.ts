import { describe, expect, it } from 'vitest';
import { F, diagnosticsOf, linesOf } from './spec-helpers.js';

const A = `${F}/errors/annotations.yaml`;

describe('annotation checks', () => {
  it('reports every annotation mistake of a file, each at its file:line:column', async () => {
    expect(await linesOf('errors/annotations.yaml')).toEqual([
      `${A}:5:15 - error RX105: x-reflex.typePrefix must be dot-separated words without spaces, e.g. com.shop, not 'com shop' (at /x-reflex/typePrefix)`,
      `${A}:6:11 - error RX105: x-reflex.source must be a URI reference such as https://api.shop.example or urn:shop:orders, not 'not a uri' (at /x-reflex/source)`,
      `${A}:7:12 - error RX105: x-reflex.redact[0] must be a dotted path starting with request. or response., e.g. request.headers.authorization, not 'body.card' (at /x-reflex/redact/0)`,
      `${A}:11:12 - error RX104: x-reflex.resources.orders.cdc must be a boolean, not a string (at /x-reflex/resources/orders/cdc)`,
      `${A}:12:7 - error RX102: unknown key 'primary' in x-reflex.resources.orders. Allowed keys: key, cdc or description. (at /x-reflex/resources/orders/primary)`,
      `${A}:13:5 - error RX105: invalid name 'bad name' in x-reflex.resources: resource names may use letters, digits, '_' and '-' (they become stream and topic names) (at /x-reflex/resources/bad name)`,
      `${A}:13:5 - warning RX151: resource 'bad name' is not used by any path. Refer to it with x-reflex-resource: bad name on a path item or operation. (at /x-reflex/resources/bad name)`,
      `${A}:15:5 - warning RX151: resource 'refunds' is not used by any path. Refer to it with x-reflex-resource: refunds on a path item or operation. (at /x-reflex/resources/refunds)`,
      `${A}:16:7 - error RX103: x-reflex.resources.refunds is missing the required key 'key' (at /x-reflex/resources/refunds)`,
      `${A}:17:1 - error RX100: unknown annotation 'x-reflex-resources'. Did you mean 'x-reflex-resource'? (at /x-reflex-resources)`,
      `${A}:20:24 - error RX110: unknown resource 'order'. Did you mean 'orders'? (at /paths/~1orders/x-reflex-resource)`,
      `${A}:21:5 - error RX101: x-reflex-events is not read here: reflex reads it on an operation under /paths (get, post, ...) (at /paths/~1orders/x-reflex-events)`,
      `${A}:26:7 - error RX100: unknown annotation 'x-reflex-event'. Did you mean 'x-reflex-events'? (at /paths/~1orders/post/x-reflex-event)`,
      `${A}:30:11 - error RX102: unknown key 'condition' in x-reflex-events[0]. Allowed keys: type, when, data, key, stream or description. (at /paths/~1orders/post/x-reflex-events/0/condition)`,
      `${A}:31:11 - error RX103: x-reflex-events[1] is missing the required key 'type' (at /paths/~1orders/post/x-reflex-events/1)`,
      `${A}:32:17 - error RX104: x-reflex-events[2].type must be a string, not an integer (at /paths/~1orders/post/x-reflex-events/2/type)`,
      `${A}:33:27 - error RX105: x-reflex-cdc.op must be one of create, update, delete, read or none, not 'updat'. Did you mean 'update'? (at /paths/~1orders/post/x-reflex-cdc/op)`,
      `${A}:35:40 - error RX102: unknown key 'kye' in x-reflex-resource. Did you mean 'key'? (at /paths/~1orders~1{id}/x-reflex-resource/kye)`,
      `${A}:41:26 - error RX104: x-reflex-resource must be a resource name or {name, key}, not an integer (at /paths/~1orders~1{id}/get/x-reflex-resource)`,
    ]);
  });

  it('finds x-reflex keys anywhere, but not property names or example data', async () => {
    const P = `${F}/errors/places.yaml`;
    expect(await linesOf('errors/places.yaml')).toEqual([
      `${P}:5:3 - error RX101: x-reflex-events is not read here: reflex reads it on an operation under /paths (get, post, ...) (at /paths/x-reflex-events)`,
      `${P}:13:15 - error RX101: x-reflex-events is not read here: reflex reads it on an operation under /paths (get, post, ...) (at /paths/~1a/get/callbacks/cb/{$request.body#~1url}/post/x-reflex-events)`,
      `${P}:20:7 - error RX101: x-reflex-cdc is not read here: reflex reads it on an operation under /paths (get, post, ...) (at /components/schemas/A/x-reflex-cdc)`,
      `${P}:25:7 - error RX100: unknown annotation 'x-reflex-evnts'. Did you mean 'x-reflex-events'? (at /webhooks/hook/post/x-reflex-evnts)`,
    ]);
  });

  it('keeps the hint apart from the message for tools that show it separately', async () => {
    const typo = (await diagnosticsOf('errors/annotations.yaml')).find((d) => d.pointer === '/paths/~1orders/post/x-reflex-event');
    expect(typo).toMatchObject({
      code: 'RX100',
      severity: 'error',
      message: "unknown annotation 'x-reflex-event'.",
      hint: "Did you mean 'x-reflex-events'?",
      file: A,
      line: 26,
      column: 7,
    });
  });

  it('lands in the referenced file when the annotation lives there', async () => {
    expect(await linesOf('errors/multi.yaml')).toEqual([
      `${F}/errors/multi-paths.yaml:13:55 - error RX131: x-reflex-events[0].when: response.body has no property 'totl' (per the response schemas of createOrder). Did you mean 'total'? (at /orders/post/x-reflex-events/0/when)`,
    ]);
  });

  it('warns when x-reflex-cdc cannot have an effect', async () => {
    const warnings = (await diagnosticsOf('errors/expressions.yaml')).filter((d) => d.severity === 'warning');
    expect(warnings.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`)).toEqual([
      "40:7 RX150 x-reflex-cdc has no effect: resource 'orders' does not have cdc: true.",
    ]);
  });
});
