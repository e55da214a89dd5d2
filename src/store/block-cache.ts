import type { RecordBlock } from './record-block.js';

/**
 * Decompressed blocks by `record_blocks.seq`, least recently used out first. Readers (sinks, the
 * consumer API) page through a stream's newest blocks in pages smaller than a block, several of
 * them the same blocks: each block is inflated about once, not once per page and reader.
 */
export class BlockCache {
  private readonly blocks = new Map<number, { block: RecordBlock; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(seq: number): RecordBlock | undefined {
    const hit = this.blocks.get(seq);
    if (!hit) return undefined;
    // Map keeps insertion order: moving it to the end makes the first entry the least recently used.
    this.blocks.delete(seq);
    this.blocks.set(seq, hit);
    return hit.block;
  }

  set(seq: number, block: RecordBlock, bytes: number): void {
    this.delete(seq);
    this.blocks.set(seq, { block, bytes });
    this.bytes += bytes;
    for (const [s, entry] of this.blocks) {
      if (this.bytes <= this.maxBytes || this.blocks.size === 1) break;
      this.blocks.delete(s);
      this.bytes -= entry.bytes;
    }
  }

  delete(seq: number): void {
    const hit = this.blocks.get(seq);
    if (!hit) return;
    this.blocks.delete(seq);
    this.bytes -= hit.bytes;
  }

  clear(): void {
    this.blocks.clear();
    this.bytes = 0;
  }
}
