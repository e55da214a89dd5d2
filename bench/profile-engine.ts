/**
 * The rule-engine loop of bench (a) alone, to profile where its time goes:
 *   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/reflex-prof bench/profile-engine.ts [seconds]
 * then open the .cpuprofile in Chrome DevTools (Performance tab) or VS Code.
 */
import { join } from 'node:path';
import { kongFormat } from '../connectors/sources/kong/format.js';
import { requestKeyOf } from '../src/pipeline/ingest.js';
import { processExchange } from '../src/pipeline/process.js';
import { loadSpecSet } from '../src/spec/compile.js';
import { ROOT } from './children.js';
import { generateKongLogs } from './generate.js';

const seconds = Number(process.argv[2] ?? 5);
const specs = await loadSpecSet([join(ROOT, 'examples/shop/openapi.yaml')]);
const { texts } = generateKongLogs({ count: 10_000, seed: 42 });
let n = 0;
let events = 0;
const start = performance.now();
while (performance.now() - start < seconds * 1000) {
  for (let k = 0; k < 64; k++, n++) {
    for (const entry of kongFormat.decode(texts[n % texts.length]!)) {
      if (!entry.ok) continue;
      let out = processExchange(entry.exchange, specs, requestKeyOf(entry.exchange));
      if (out instanceof Promise) out = await out;
      if (out.kind === 'records') events += out.records.length;
    }
  }
}
console.log(`${Math.round(n / ((performance.now() - start) / 1000))} exchanges/s (${events} events)`);
