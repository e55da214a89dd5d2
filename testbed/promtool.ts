import { spawnSync } from 'node:child_process';
import { aptInstall } from './apt.js';
import { which } from './proc.js';

/**
 * Prometheus's `promtool`, to check what GET /metrics serves as Prometheus itself parses and lints
 * it. Reuses an installed one; otherwise installs Debian's `prometheus` package (which ships it).
 */
export function ensurePromtool(): string {
  const present = which('promtool');
  if (present) return present;
  aptInstall(['prometheus'], 'install promtool yourself (Debian/Ubuntu: apt-get install prometheus)');
  const installed = which('promtool');
  if (!installed) throw new Error('testbed: installed prometheus, but promtool is not on the PATH');
  return installed;
}

/** `promtool check metrics` on an exposition: its exit code and what it printed (problems, one a line). */
export function checkMetrics(promtool: string, exposition: string): { code: number | null; output: string } {
  const r = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return { code: r.status, output: `${r.error?.message ?? ''}${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}
