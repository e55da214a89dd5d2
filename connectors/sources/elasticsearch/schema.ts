import { Default, FilePath, Type } from '../../../src/sdk/index.js';

const DURATION = '^(\\d+(\\.\\d+)?(ms|s|m|h|d|w))+$';
const Url = (description: string) => Type.String({ pattern: '^https?://', description });

/** The `sources:` block of `type: elasticsearch` besides `name` and `format`. */
export const ElasticsearchSourceConfig = Type.Object({
  node: Type.Optional(Url('the cluster\'s URL (or `nodes`, or `cloudId`)')),
  nodes: Type.Optional(Type.Array(Url('a node URL'), { minItems: 1, description: 'several node URLs of one cluster' })),
  cloudId: Type.Optional(Type.String({ minLength: 1, description: 'an Elastic Cloud deployment\'s Cloud ID' })),
  auth: Type.Optional(Type.Union([
    Type.Object({ apiKey: Type.String({ minLength: 1, description: 'an API key (base64 `id:key`), only through `${ENV}`' }) }, { additionalProperties: false }),
    Type.Object({ username: Type.String({ minLength: 1 }), password: Type.String({ description: 'only through `${ENV}`' }) }, { additionalProperties: false }),
    Type.Object({ bearer: Type.String({ minLength: 1, description: 'a bearer token, only through `${ENV}`' }) }, { additionalProperties: false }),
  ], { description: '`{apiKey}`, `{username, password}` or `{bearer}`; none when security is off' })),
  tls: Type.Optional(Type.Object({
    ca: Type.Optional(FilePath({ description: 'CA certificate (PEM), relative to reflex.yaml' })),
    rejectUnauthorized: Default(Type.Boolean({ description: 'false accepts any server certificate (tests only)' }), true),
  }, { additionalProperties: false, description: '`ca`: a CA certificate (PEM file, relative to reflex.yaml); `rejectUnauthorized: false` accepts any certificate' })),
  index: Type.String({ minLength: 1, description: 'index pattern, alias or data stream (e.g. `logs-kong-*`); indices created later are read too' }),
  query: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'a query DSL filter (e.g. `{ term: { service.name: shop } }`)' })),
  timestampField: Default(Type.String({ minLength: 1, description: 'the date field documents are read in order of' }), '@timestamp'),
  tiebreaker: Default(Type.String({ minLength: 1, description: 'second sort field for documents with the same timestamp (`_shard_doc`: the point in time\'s own order)' }), '_shard_doc'),
  pollInterval: Default(Type.String({ pattern: DURATION, description: 'how often to search for new documents once caught up' }), '5s'),
  startAt: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T', description: 'where a source without a checkpoint starts (RFC 3339; default: the oldest document)' })),
  lookback: Default(Type.String({ pattern: DURATION, description: 'every poll reads again this far behind the checkpoint, for documents that became searchable late; the dedupe window drops what was read' }), '5m'),
  batchSize: Default(Type.Integer({ minimum: 1, maximum: 10_000, description: 'documents per search page and committed batch' }), 1000),
  keepAlive: Default(Type.String({ pattern: DURATION, description: 'how long the point in time lives between two pages' }), '1m'),
}, { additionalProperties: false, oneOf: [{ required: ['node'] }, { required: ['nodes'] }, { required: ['cloudId'] }] });
