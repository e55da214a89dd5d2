#!/usr/bin/env node
import { builtinRegistry } from '../connectors/index.js';
import { main } from '../src/cli/main.js';

const code = await main(process.argv.slice(2), builtinRegistry(), {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  env: process.env,
});
process.exitCode = code;
