import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './root.js';

/**
 * Runs the compiled `dist/bench/<script>.js` in its own process (so that its peak RSS is its own)
 * and resolves with the JSON of the last line it prints; stderr passes through.
 */
export function runJsonChild<T>(script: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, `dist/bench/${script}.js`), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${script} ${args[0] ?? ''} exited with ${code}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as T);
    });
  });
}
