import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const COPY = 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies';

/**
 * Jars of `pom`'s runtime dependencies in `dir/libs`, fetched with Maven unless already there.
 * Copies into a private folder and renames it, so parallel callers never see a half-filled libs/.
 */
export function fetchJars(dir: string, pom: string): string {
  const libs = join(dir, 'libs');
  if (existsSync(libs)) return libs;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'pom.xml'), pom);
  const tmp = join(dir, `libs.${process.pid}.tmp`);
  process.stderr.write(`testbed: fetching jars with Maven into ${libs} (first run only)\n`);
  const r = spawnSync('mvn', ['-B', '-q', '-f', join(dir, 'pom.xml'), COPY, '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`], {
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`testbed: mvn failed (${r.error?.message ?? `exit ${r.status}`}); is Maven installed and Maven Central reachable?\n${out}`);
  }
  try {
    renameSync(tmp, libs);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process won the race; its libs/ is complete
  }
  return libs;
}
