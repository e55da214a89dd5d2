/**
 * The JSON Schema of a change record (DESIGN.md "Outputs", Debezium-shaped) around a resource's
 * state schema: `before` and `after` are the state, or null where there is none.
 */
import type { Obj } from '../spec/doc.js';
import { DRAFT_2020_12 } from './types.js';

const STRING = { type: 'string' };

export function changeRecordSchema(resource: string, state: Obj): Obj {
  // `{}` already admits null; anything narrower gets it added.
  const image = Object.keys(state).every((k) => k === '$schema' || k === 'title') ? {} : { anyOf: [stripDocument(state), { type: 'null' }] };
  return {
    $schema: DRAFT_2020_12,
    title: `${resource} change record`,
    type: 'object',
    required: ['op', 'key', 'before', 'after', 'changed', 'ts_ms', 'source'],
    properties: {
      op: { type: 'string', enum: ['c', 'u', 'd', 'r'], description: 'create, update, delete, read' },
      key: { ...STRING, description: 'the resource key' },
      before: image,
      after: image,
      changed: { type: 'array', items: STRING, description: 'JSON pointers of the fields that changed' },
      ts_ms: { type: 'integer', description: 'request time, milliseconds since the epoch' },
      source: {
        type: 'object',
        required: ['gateway', 'operationId', 'requestId', 'method', 'path'],
        properties: { gateway: STRING, operationId: STRING, requestId: STRING, method: STRING, path: STRING },
      },
    },
  };
}

function stripDocument(schema: Obj): Obj {
  const { $schema: _s, title: _t, ...rest } = schema;
  return rest;
}
