import kafkajs from 'kafkajs';
import { createRequire } from 'node:module';

// Not among the names Node detects in kafkajs's CommonJS exports: reach them through the default export.
const { CompressionCodecs, CompressionTypes } = kafkajs;
const require = createRequire(import.meta.url);

/**
 * kafkajs brings only gzip; Snappy comes from kafkajs-snappy (pure JavaScript, snappyjs), so the
 * sink can write it and the source can read topics other producers wrote with it (Java clients'
 * xerial framing too). LZ4 and zstd would need native codecs: the sink refuses them in its config,
 * and the source names the codec when a batch uses one.
 */
export function registerKafkaCodecs(): void {
  // kafkajs's own entry for Snappy is a function that throws "not implemented".
  CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy') as (typeof CompressionCodecs)[keyof typeof CompressionCodecs];
}
