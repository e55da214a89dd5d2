import { readFileSync } from 'node:fs';

/** Peak resident set of this process in MiB (VmHWM; getrusage's maxRSS would carry the parent's peak over the fork). */
export const peakRssMiB = (): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024;
