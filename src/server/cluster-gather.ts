import { request } from 'undici';
import { missingPartitions } from '../cluster/owned.js';
import type { ClusterEngine, OwnedPart } from '../cluster/types.js';

/** How long a member may take to answer for its partitions. */
const MEMBER_TIMEOUT_MS = 5_000;

export type Gathered<T> =
  | { kind: 'parts'; parts: Array<OwnedPart<T>> }
  /** Partitions no member answered for (moving between instances), or members that did not answer. */
  | { kind: 'incomplete'; missing: number[]; unreachable: string[] };

/**
 * Every member's part for the partitions it runs: this instance's from `own`, the others' from `path`
 * on their advertised URL (with the caller's credentials). Complete only when every partition of the
 * exchanges topic was answered for, so a key is never left out of a list for being in transit.
 */
export async function gatherOwned<T>(engine: ClusterEngine, own: () => OwnedPart<T>, path: string, authorization: string | undefined): Promise<Gathered<T>> {
  const status = await engine.status();
  const others = [...new Set(status.members.map((m) => m.url).filter((url): url is string => url !== null && url !== status.instance))];
  const unreachable: string[] = [];
  const answers = await Promise.all(others.map(async (url) => {
    try {
      const res = await request(`${url}${path}`, {
        headers: authorization ? { authorization } : {},
        headersTimeout: MEMBER_TIMEOUT_MS,
        bodyTimeout: MEMBER_TIMEOUT_MS,
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`answered ${res.statusCode}`);
      }
      return (await res.body.json()) as OwnedPart<T>;
    } catch (err) {
      unreachable.push(`${url} (${(err as Error).message})`);
      return null;
    }
  }));
  const parts = [own(), ...answers.filter((a): a is OwnedPart<T> => a !== null)];
  const missing = missingPartitions(parts, status.partitions);
  if (missing.length > 0 || unreachable.length > 0) return { kind: 'incomplete', missing, unreachable };
  return { kind: 'parts', parts };
}
