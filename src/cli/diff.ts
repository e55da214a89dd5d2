import { breakingChanges } from '../contracts/compat.js';
import { loadSpecSet } from '../spec/compile.js';
import type { RefPolicy } from '../spec/ref-files.js';
import type { CliIO } from './main.js';

/**
 * `reflex diff <old spec> <new spec>`: the changes to the event contracts that break a consumer of
 * the old ones, one a line per event type; exit 1 when there is one, 0 when the new spec is compatible.
 */
export async function runDiff(before: string, after: string, io: CliIO, refs?: RefPolicy): Promise<number> {
  const [old, now] = await Promise.all([loadSpecSet([before], refs), loadSpecSet([after], refs)]);
  const changes = breakingChanges(old.contracts, now.contracts);
  for (const c of changes) io.out(`${c.subject}: ${c.message} (${c.kind})`);
  const types = new Set(changes.map((c) => c.subject)).size;
  io.out(changes.length === 0
    ? `compatible: ${after} breaks no consumer of ${before}`
    : `${changes.length} breaking change${changes.length === 1 ? '' : 's'} in ${types} contract${types === 1 ? '' : 's'} (event types, changelogs)`);
  return changes.length === 0 ? 0 : 1;
}
