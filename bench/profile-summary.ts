/**
 * The top costs of a .cpuprofile as text: self time per function and per source file.
 *   node dist/bench/profile-summary.js <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.js <file.cpuprofile> [top]');
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idle = [...selfUs].filter(([id]) => /^\((idle|program|garbage collector)\)$/.test(byId.get(id)!.callFrame.functionName))
  .map(([id, us]) => `${byId.get(id)!.callFrame.functionName} ${pct(us)}`);

const fn = new Map<string, number>();
const files = new Map<string, number>();
for (const [id, us] of selfUs) {
  const f = byId.get(id)!.callFrame;
  const where = f.url.replace(/^file:\/\/.*?\/(node_modules|src|connectors|dist|bench)\//, '$1/') || '(native)';
  const name = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
  fn.set(name, (fn.get(name) ?? 0) + us);
  const group = where.startsWith('node_modules/') ? where.split('/').slice(0, where.split('/')[1]!.startsWith('@') ? 3 : 2).join('/') : where;
  files.set(group, (files.get(group) ?? 0) + us);
}

function pct(us: number): string {
  return `${((us / total) * 100).toFixed(1)}%`;
}
const print = (title: string, m: Map<string, number>) => {
  console.log(`${title}:`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us).padStart(6)}  ${k}`);
};
console.log(`${(total / 1e6).toFixed(1)} s sampled; ${idle.join(', ')}`);
print('self time by function', fn);
print('self time by file or package', files);

// Inclusive time of each function (itself and what it calls), counted once per sample however deep it recurses.
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const f = byId.get(at)!.callFrame;
    if (!f.url) continue;
    const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^file:\/\/.*?\/(node_modules|src|connectors|dist|bench)\//, '$1/')}:${f.lineNumber + 1}`;
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + us);
  }
}
print('inclusive time by function', new Map([...inclusive].filter(([k]) => !k.startsWith('node_modules/') && !/ node:/.test(k))));
