/**
 * For the server children: announce the URL on stdout, then stop on SIGTERM/SIGINT or when stdin
 * closes (the parent died), so a benchmark server never outlives the benchmark.
 */
export function announceAndWait(url: string, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`stop failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.on('end', shutdown);
  process.stdin.resume();
  process.stdout.write(JSON.stringify({ url }) + '\n');
}
