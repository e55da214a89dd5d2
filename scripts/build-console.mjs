#!/usr/bin/env node
// Builds the web console (console/) into dist/console/, which `reflex serve` serves at /console/:
// its TypeScript compiled as browser ES modules (no bundler), then its static files beside them.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/console`;
rmSync(out, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}console/tsconfig.json`], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
cpSync(`${root}console/public`, out, { recursive: true });
