import { describe, expect, it } from 'vitest';
import { F, linesOf } from './spec-helpers.js';

const E = `${F}/errors/expressions.yaml`;
const OP = '/paths/~1orders~1{orderId}/post';

describe('CEL and JSONata checks', () => {
  it('reports syntax, unknown names and unknown references at the offending character', async () => {
    expect((await linesOf('errors/expressions.yaml')).filter((l) => l.includes(' error '))).toEqual([
      // JSONata, single-quoted: the column is one past the quote plus the offset
      `${E}:6:39 - error RX124: x-reflex.resources.orders.key: invalid JSONata: Unexpected end of expression (at /x-reflex/resources/orders/key)`,
      `${E}:40:39 - error RX124: x-reflex-cdc.state: invalid JSONata: Expected "]" before end of expression (at ${OP}/x-reflex-cdc/state)`,
      `${E}:43:35 - error RX120: x-reflex-events[0].when: invalid CEL: Unexpected token: EOF (at ${OP}/x-reflex-events/0/when)`,
      // cel-js blames the whole call; the column points at the function name
      `${E}:45:35 - error RX121: x-reflex-events[1].when: unknown CEL function 'startWith'. Did you mean 'startsWith'? (at ${OP}/x-reflex-events/1/when)`,
      `${E}:47:17 - error RX122: x-reflex-events[2].when: unknown variable 'reponse' (rules see request, response, client, gateway, operation). Did you mean 'response'? (at ${OP}/x-reflex-events/2/when)`,
      `${E}:49:26 - error RX130: x-reflex-events[3].when: 'stauts' is not a field of response. Did you mean 'status'? (at ${OP}/x-reflex-events/3/when)`,
      `${E}:51:58 - error RX131: x-reflex-events[4].when: response.body has no property 'totl' (per the response schemas of POST /orders/{orderId}). Did you mean 'total'? (at ${OP}/x-reflex-events/4/when)`,
      `${E}:53:32 - error RX132: x-reflex-events[5].when: 'orderID' is not a path parameter of POST /orders/{orderId}. Did you mean 'orderId'? (at ${OP}/x-reflex-events/5/when)`,
      `${E}:53:63 - error RX132: x-reflex-events[5].when: 'dry_run' is not a query parameter of POST /orders/{orderId}. Did you mean 'dryRun'? (at ${OP}/x-reflex-events/5/when)`,
      // the variable of a macro stands for an element of the array it ranges over
      `${E}:55:48 - error RX131: x-reflex-events[6].when: request.body.items[] has no property 'skus' (per the request body schema of POST /orders/{orderId}). Did you mean 'sku'? (at ${OP}/x-reflex-events/6/when)`,
      `${E}:57:41 - error RX124: x-reflex-events[7].data: invalid JSONata: Expected "}" before end of expression (at ${OP}/x-reflex-events/7/data)`,
      // inside a literal block (|), on its second line
      `${E}:61:29 - error RX131: x-reflex-events[8].when: response.body has no property 'totl' (per the response schemas of POST /orders/{orderId}). Did you mean 'total'? (at ${OP}/x-reflex-events/8/when)`,
      // inside a double-quoted string with escaped quotes before the mistake
      `${E}:63:56 - error RX130: x-reflex-events[9].when: 'stauts' is not a field of response. Did you mean 'status'? (at ${OP}/x-reflex-events/9/when)`,
      `${E}:65:43 - error RX123: x-reflex-events[10].when: CEL: found no matching overload for 'size(int, int)' (at ${OP}/x-reflex-events/10/when)`,
    ]);
  });

  it('gives up silently on open schemas (additionalProperties, oneOf) and on headers', async () => {
    expect((await linesOf('errors/expressions.yaml')).filter((l) => l.includes('/paths/~1open'))).toEqual([]);
  });

  it('accepts references the schemas do declare, through allOf, $refs into other files and macros', async () => {
    expect(await linesOf('shop.yaml')).toEqual([]);
  });
});
