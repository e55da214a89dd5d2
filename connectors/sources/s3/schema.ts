import { Default, Type } from '../../../src/sdk/index.js';

const DURATION = '^(\\d+(\\.\\d+)?(ms|s|m|h|d|w))+$';

/** The `sources:` block of `type: s3` besides `name` and `format`. */
export const S3SourceConfig = Type.Object({
  bucket: Type.String({ minLength: 1, description: 'the bucket to read' }),
  prefix: Default(Type.String({ description: 'only keys under it (e.g. `kong/`)' }), ''),
  region: Type.Optional(Type.String({ minLength: 1, description: 'the bucket\'s region (default: `AWS_REGION`, else us-east-1)' })),
  endpoint: Type.Optional(Type.String({ pattern: '^https?://', description: 'an S3-compatible server (MinIO, moto, Ceph); omit for AWS' })),
  forcePathStyle: Default(Type.Boolean({ description: 'path-style URLs (`<endpoint>/<bucket>/<key>`), as most S3-compatible servers want' }), false),
  pollInterval: Default(Type.String({ pattern: DURATION, description: 'how often to list the bucket for new objects' }), '10s'),
  startAfter: Type.Optional(Type.String({ description: 'where a source without a checkpoint starts: the first key after this one (default: the beginning)' })),
  lookback: Default(Type.String({ pattern: DURATION, description: 'objects whose key sorts before ones already read are still read once if their LastModified is within this of the newest seen (late uploads, several writers)' }), '1h'),
  accessKeyId: Type.Optional(Type.String({ minLength: 1, description: 'only through `${ENV}`; without it the AWS SDK\'s default chain finds credentials (environment, profile, web identity, container and instance metadata)' })),
  secretAccessKey: Type.Optional(Type.String({ minLength: 1, description: 'only through `${ENV}`, with `accessKeyId`' })),
  batchEntries: Default(Type.Integer({ minimum: 1, description: 'entries per committed batch (each commits the position in the object)' }), 1000),
  maxLineBytes: Default(Type.Integer({ minimum: 1024, description: 'a longer line or JSON object is a dead letter (RX304), skipped unread; memory use stays about this size whatever the object\'s size' }), 10 * 1024 * 1024),
}, { additionalProperties: false, dependencies: { accessKeyId: ['secretAccessKey'], secretAccessKey: ['accessKeyId'] } });
