import { describe, expect, it } from 'vitest';
import { EntrySplitter, type EntryItem } from '../../connectors/sources/s3/entry-splitter.js';

/** Splits `text` fed in chunks of `size` bytes. */
function split(text: string, size = 1 << 20, from = { byte: 0, line: 1 }, streamStart = 0, max = 1024): EntryItem[] {
  const bytes = Buffer.from(text).subarray(streamStart);
  const s = new EntrySplitter(max, from, streamStart);
  const out: EntryItem[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...s.push(bytes.subarray(i, i + size)));
  return [...out, ...s.end()];
}
const texts = (items: EntryItem[]) => items.map((i) => (i.kind === 'line' ? i.text : `<${i.bytes} bytes>`));

describe('s3 entry splitter', () => {
  const firehose = '{"a":"}{","b":{"c":[1,{"d":2}]}}{"a":"say \\"}\\" ok"}\n{"e":3}';

  it('splits NDJSON lines and back-to-back JSON objects (}{ and }\\n{), whatever braces sit inside strings', () => {
    expect(texts(split('{"x":1}\n{"x":2}\n\n{"x":3}'))).toEqual(['{"x":1}', '{"x":2}', '{"x":3}']);
    expect(texts(split(firehose))).toEqual(['{"a":"}{","b":{"c":[1,{"d":2}]}}', '{"a":"say \\"}\\" ok"}', '{"e":3}']);
  });

  it('gives the same entries and positions however the stream is chunked', () => {
    const whole = split(firehose);
    for (const size of [1, 2, 3, 7, 16]) expect(split(firehose, size)).toEqual(whole);
  });

  it('ends a truncated or non-JSON line at its newline, so the next line is read', () => {
    const items = split('{"a": [1, \nnot json\n{"ok":true}\n');
    expect(texts(items)).toEqual(['{"a": [1,', 'not json', '{"ok":true}']);
    expect(items.map((i) => i.line)).toEqual([1, 2, 3]);
  });

  it('reports an entry over the limit by its size without keeping it', () => {
    const big = `{"pad":"${'x'.repeat(3000)}"}`;
    const items = split(`${big}\n{"ok":1}\n`, 100);
    expect(items[0]).toMatchObject({ kind: 'tooLong', line: 1, bytes: big.length });
    expect(texts(items.slice(1))).toEqual(['{"ok":1}']);
  });

  it('resumes at a checkpoint: skipping the bytes before it, or from a ranged read, with the same lines and offsets', () => {
    const text = '{"n":1}{"n":2}\n{"n":3}\n{"n":4}';
    const all = split(text);
    const at = all[1]!; // after the second object: byte and line of the next
    const from = { byte: at.next, line: at.nextLine };
    expect(split(text, 3, from, 0)).toEqual(all.slice(2));
    expect(split(text, 3, from, from.byte)).toEqual(all.slice(2));
    expect(all.map((i) => [i.line, i.start])).toEqual([[1, 0], [1, 7], [2, 15], [3, 23]]);
  });
});
