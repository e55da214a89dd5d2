#!/usr/bin/env node
import { builtinRegistry } from '../connectors/index.js';
import { main } from '../src/cli/main.js';

// `reflex test … | head`: a reader that closed the pipe wants no more output; end quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const code = await main(process.argv.slice(2), builtinRegistry(), {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  env: process.env,
});
process.exitCode = code;
