/**
 * Tests that run inside the real njs engine (`npm run test:njs`): the core
 * verifier against RFC 7515 Appendix A and Project Wycheproof vectors, plus
 * core behaviour that depends on engine details. Bundled by build.mjs with
 * the gateway's syntax gate and run with the `njs` CLI: as a script (format
 * iife, build/dist/njs-tests.js) on the classic engine, as an ES module
 * (build/dist/njs-tests.mjs, `njs -n QuickJS -m`) on QuickJS, whose CLI has
 * no global require.
 *
 * The njs 0.7.9 CLI has no process.exit and no top-level await: the work is
 * one promise chain, the closing line is printed when it settles, and a
 * failure ends the run with a rejected promise, which the CLI reports on
 * stderr and turns into exit status 1.
 */
import { engineCapabilities } from '../../njs/nginx/engine';
import { engineChecks } from './engine';
import { describeError, fail, failedCount, group, report, summary } from './harness';
import { keysHardening } from './keys-hardening';
import { layoutChecksInEngine } from './layout';
import { remoteKeysInEngine } from './remote';
import { rfc7515Examples } from './rfc7515';
import { safeRegexChecks } from './safe-regex';
import { wycheproofVectors } from './wycheproof';

/**
 * The repository root, from this script's own path (build/dist/njs-tests.js):
 * relative to the working directory when njs was given a relative path, as
 * `npm run` does from the repository root.
 */
function repositoryRoot(): string {
  const parts = (process.argv[1] || '').split('/');
  if (parts.length < 3) return '.';
  const root = parts.slice(0, parts.length - 3).join('/');
  if (root !== '') return root;
  return parts.length > 3 ? '/' : '.';
}

/** Wycheproof vectors, vendored unchanged with their LICENSE (test/fixtures/wycheproof/README.md). */
function vectorDirectory(): string {
  const override = process.env.WYCHEPROOF_DIR;
  return typeof override === 'string' && override !== '' ? override : repositoryRoot() + '/test/fixtures/wycheproof';
}

function guardedSync(name: string, run: () => void): void {
  try {
    run();
  } catch (e) {
    const g = group(name);
    fail(g, 'exception in the test runner: ' + describeError(e));
    report(g);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const engine = (njs as unknown as { engine?: string }).engine;
  console.log('njs ' + njs.version + (engine ? ' (' + engine + ')' : '') + ', capabilities ' + JSON.stringify(engineCapabilities()));
  guardedSync('engine checks', engineChecks);
  guardedSync('match rules', safeRegexChecks);
  await rfc7515Examples();
  await keysHardening(repositoryRoot());
  await layoutChecksInEngine();
  await remoteKeysInEngine();
  await wycheproofVectors(vectorDirectory(), engineCapabilities());
  console.log('(' + (Date.now() - started) + ' ms)');
}

main()
  .then(
    () => undefined,
    (e) => {
      const g = group('test runner');
      fail(g, 'unexpected exception: ' + describeError(e));
      report(g);
    },
  )
  .then(() => {
    console.log(summary());
    if (failedCount() > 0) throw new Error(failedCount() + ' njs test(s) failed');
  });
