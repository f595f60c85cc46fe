/**
 * How a tool that runs nginx (bench, soak) starts and ends: `main` runs;
 * SIGINT or SIGTERM stops nginx (`shutdown`, once) and exits 130; an error
 * is printed as "TOOL failed: ..." with exit 1 (not after an interrupt);
 * `shutdown` runs at the end in any case.
 */
export const signals = { interrupted: false };

export function runTool(tool: string, main: () => Promise<void>, shutdown: () => Promise<unknown>, options: { stack?: boolean } = {}): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (signals.interrupted) return;
      signals.interrupted = true;
      process.stderr.write('\n' + tool + ': ' + signal + ', stopping nginx\n');
      shutdown().finally(() => process.exit(130));
    });
  }
  main()
    .catch((e) => {
      if (signals.interrupted) return;
      console.error(tool + ' failed: ' + (e instanceof Error ? (options.stack && e.stack) || e.message : String(e)));
      process.exitCode = 1;
    })
    .finally(async () => {
      await shutdown();
    });
}
