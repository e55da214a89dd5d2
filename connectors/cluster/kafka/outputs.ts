import type { Message, TopicMessages } from 'kafkajs';
import type { ClusterOutput, PartitionOutput, StreamInfo } from '../../../src/sdk/index.js';
import { toMessages } from '../../sinks/kafka/messages.js';
import type { TopicPlan } from './topics.js';

interface Output {
  topic: string;
  mode: 'binary' | 'structured';
  partitions: number;
  streams: string[];
}

/**
 * The kafka sinks of reflex.yaml, written by the partition owners in their transactions: the same
 * topics and messages a single-node kafka sink writes (src: connectors/sinks/kafka/messages.ts).
 * Events go where the default partitioner puts their key, as the sink's do; change records go to the
 * owner's own partition, so that each changelog is co-partitioned with the exchanges topic.
 */
export class OutputTopics {
  private readonly outputs: Output[];

  constructor(outputs: ClusterOutput[]) {
    this.outputs = outputs.map((o) => ({
      topic: String(o.settings.topic ?? '{stream}'),
      mode: (o.settings.mode as Output['mode'] | undefined) ?? 'binary',
      partitions: Number(o.settings.partitions ?? 3),
      streams: o.streams,
    }));
  }

  /** The topics to create or check at start: events as the sink would, changelogs co-partitioned. */
  plans(streams: readonly StreamInfo[], partitions: number): TopicPlan[] {
    const plans: TopicPlan[] = [];
    for (const o of this.outputs) {
      for (const s of streams) {
        if (!takes(o, s.name)) continue;
        const changelog = s.kind === 'changelog';
        plans.push({ topic: topicOf(o, s.name), partitions: changelog ? partitions : o.partitions, compacted: changelog, exact: changelog });
      }
    }
    return plans;
  }

  /** The topic a stream is written to (the first kafka sink that takes it), or null. */
  topicOf(stream: string): string | null {
    const o = this.outputs.find((x) => takes(x, stream));
    return o ? topicOf(o, stream) : null;
  }

  messages(output: PartitionOutput, partition: number): TopicMessages[] {
    const byTopic = new Map<string, Message[]>();
    const add = (topic: string, messages: Message[]) => {
      const list = byTopic.get(topic);
      if (list) list.push(...messages);
      else byTopic.set(topic, messages);
    };
    for (const o of this.outputs) {
      for (const r of output.events) {
        if (!takes(o, r.stream)) continue;
        add(topicOf(o, r.stream), toMessages({ stream: r.stream, offset: 0, key: r.key, value: r.value ?? JSON.parse(r.json!) }, o.mode));
      }
      for (const c of output.changes) {
        if (!takes(o, c.stream)) continue;
        add(topicOf(o, c.stream), toMessages({ stream: c.stream, offset: 0, key: c.key, value: c.record }, o.mode).map((m) => ({ ...m, partition })));
      }
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }
}

function takes(o: Output, stream: string): boolean {
  return o.streams.includes('*') || o.streams.includes(stream);
}

function topicOf(o: Output, stream: string): string {
  return o.topic.replace(/\{stream\}/g, stream);
}
