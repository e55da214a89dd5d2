/**
 * A CPU profile of a benchmark child, when REFLEX_BENCH_PROFILE names a folder (Node refuses
 * --cpu-prof in NODE_OPTIONS, and the children are spawned without flags): started on import,
 * written by the returned function, as <folder>/<name>-<pid>.cpuprofile.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

export async function startCpuProfile(name: string): Promise<() => Promise<void>> {
  const dir = process.env.REFLEX_BENCH_PROFILE;
  if (!dir) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}
