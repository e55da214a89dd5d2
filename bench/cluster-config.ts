/**
 * (m) The reflex.yaml files the cluster section runs: single-node reflex with a kafka sink, or a
 * cluster instance, on the same spec, sink topics and reorder window. Every run gets fresh names (a
 * random prefix), so no topic, group or transactional id is shared with an earlier run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RunNames {
  /** Every topic of the run starts with it: outputs `<prefix>.{stream}`, exchanges `<prefix>.exchanges`. */
  prefix: string;
  exchangesTopic: string;
  group: string;
}

export function runNames(label: string): RunNames {
  const prefix = `bench-${label}-${randomBytes(4).toString('hex')}`;
  return { prefix, exchangesTopic: `${prefix}.exchanges`, group: prefix };
}

export interface RunConfig {
  spec: string;
  brokers: string[];
  names: RunNames;
  /** Cluster partitions; null: single node (the kafka sink's dispatcher writes the topics). */
  partitions: number | null;
}

/**
 * Writes reflex.yaml into a fresh folder under `tmp` and returns its path. Reorder window 0 in both
 * modes: a change goes out with its batch, so "every record is on Kafka" does not wait out a window.
 * Everything else (store sync full, dedupe window, sink batching, gzip) is as shipped.
 */
export function writeRunConfig(tmp: string, c: RunConfig): string {
  const dir = mkdtempSync(join(tmp, `${c.names.prefix}-`));
  const brokers = JSON.stringify(c.brokers);
  const lines = [
    `specs: [${JSON.stringify(c.spec)}]`,
    'cdc: { reorderWindow: 0s }',
    'sinks:',
    `  - { type: kafka, brokers: ${brokers}, topic: "${c.names.prefix}.{stream}" }`,
  ];
  if (c.partitions !== null) {
    lines.push(
      'cluster:',
      `  kafka: { brokers: ${brokers}, clientId: ${c.names.prefix} }`,
      `  exchangesTopic: ${c.names.exchangesTopic}`,
      `  partitions: ${c.partitions}`,
      `  group: ${c.names.group}`,
    );
  }
  const file = join(dir, 'reflex.yaml');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
