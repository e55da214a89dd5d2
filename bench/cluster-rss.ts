import { readFileSync } from 'node:fs';

/** Peak resident set of a running child in MiB (VmHWM of /proc/<pid>/status); NaN once it is gone. */
export function childPeakRssMiB(pid: number): number {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}
