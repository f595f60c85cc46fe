// `npm test`: every suite in order, then one closing line with the totals that
// CI reads: "tests: N passed, M failed".
//
// Engine-independent suites run once: build, type checks, unit tests (Node).
// Then, for each engine of test/support/engines.mjs (the installed nginx/njs and
// Debian's newer builds that test/support/fetch-engines.sh extracts into .engines/),
// the core inside that engine's njs CLI and the integration tests against
// that engine's nginx (JWT_GATEWAY_ENGINE=id), then the soak and the fuzzer
// through it. One line per engine gives its counts. An engine that
// cannot run (e.g. its fetch failed) is reported as skipped with the reason;
// under CI (CI=true) that is a failure, since every engine is required there.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeEngine, ENGINE_IDS, ENGINE_VARIABLE } from './support/engines.mjs';

const started = Date.now();
const baseEnv = { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, '--experimental-vm-modules'].filter(Boolean).join(' ') };
const resultsDir = mkdtempSync(path.join(os.tmpdir(), 'jwt-gateway-tests-'));
const inCI = /^(1|true|yes)$/i.test(process.env.CI || '');
let passed = 0;
let failed = 0;
const broken = [];

/** Runs one stage; a non-zero exit marks it broken. Returns its stdout. */
function run(label, command, args, env = baseEnv) {
  console.log(`\n=== ${label}: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  process.stdout.write(result.stdout || '');
  if (result.error) console.log(label + ': ' + result.error.message);
  if (result.status !== 0) broken.push(label);
  return result.stdout || '';
}

/** A Jest project; counts its tests into `counts`. A test file that cannot run at all counts as one failed test. */
function jest(project, label, counts, env = baseEnv) {
  const output = path.join(resultsDir, label.replace(/[^A-Za-z0-9.-]+/g, '_') + '.json');
  run(label, 'npx', ['jest', '--selectProjects', project, '--runInBand', '--json', '--outputFile', output], env);
  try {
    const summary = JSON.parse(readFileSync(output, 'utf8'));
    counts.passed += summary.numPassedTests;
    counts.failed += summary.numFailedTests + summary.numRuntimeErrorTestSuites;
    if (summary.numRuntimeErrorTestSuites) broken.push(label + ' (' + summary.numRuntimeErrorTestSuites + ' test files did not run)');
    if (summary.numTotalTests === 0) broken.push(label + ' (none ran)');
  } catch {
    counts.failed++;
    broken.push(label + ' (no results)');
  }
}

/** A command whose success is one test (soak, fuzz). */
function oneTest(label, command, args, counts, env = baseEnv) {
  const before = broken.length;
  run(label, command, args, env);
  if (broken.length > before) counts.failed++;
  else counts.passed++;
}

/** "N skipped (titles)" for a Jest stage's skipped tests, from its results file; "" when none. */
function skippedTests(label) {
  try {
    const summary = JSON.parse(readFileSync(path.join(resultsDir, label.replace(/[^A-Za-z0-9.-]+/g, '_') + '.json'), 'utf8'));
    const titles = summary.testResults.flatMap((file) =>
      file.assertionResults.filter((t) => t.status === 'pending').map((t) => t.ancestorTitles[0] || t.title),
    );
    return titles.length ? `, ${titles.length} skipped (${[...new Set(titles)].join('; ')})` : '';
  } catch {
    return '';
  }
}

function seconds(ms) {
  return Math.round(ms / 1000) + ' s';
}

const shared = { passed: 0, failed: 0 };
run('build', 'node', ['build/build.mjs', '--njs-tests']);
run('type check', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
run('type check (tests, scripts)', 'npx', ['tsc', '--noEmit', '-p', 'test/tsconfig.json']);
run('type check (tests inside njs)', 'npx', ['tsc', '--noEmit', '-p', 'test/njs/tsconfig.json']);
run('type check (the core, without the nginx API)', 'npx', ['tsc', '--noEmit', '-p', 'njs/core/tsconfig.json']);
// The linter holds code that runs in njs to the build's syntax gate (eslint.config.mjs).
run('lint', 'npx', ['eslint', '.']);
run('format', 'npx', ['prettier', '--check', '.']);
jest('unit', 'unit tests', shared);
// The Docker image of docker/Dockerfile in containers and the README's install steps on
// Debian's stock /etc/nginx (test/container), once: their tests are skipped, saying why,
// where no container engine starts or no Debian nginx is installed; under CI that is a failed test.
const container = { passed: 0, failed: 0 };
jest('container', 'container tests', container);
const containerSkipped = skippedTests('container tests');

const lines = [];
for (const id of ENGINE_IDS) {
  let engine;
  try {
    engine = describeEngine(id);
  } catch (e) {
    const reason = e.message.split('\n')[0];
    console.log(`\n=== engine ${id}: skipped: ${reason}`);
    if (inCI) {
      failed++;
      broken.push('engine ' + id + ' (skipped under CI)');
    }
    lines.push(`engine ${id}: skipped (${reason})${inCI ? ', counted as 1 failed under CI' : ''}`);
    continue;
  }
  const engineStarted = Date.now();
  const counts = { passed: 0, failed: 0 };
  const tag = ' [' + engine.name + ']';
  const env = { ...baseEnv, [ENGINE_VARIABLE]: id };
  // The QuickJS njs CLI runs ES modules only (-m); the classic one runs the script build.
  const script = engine.qjs ? ['-m', 'build/dist/njs-tests.mjs'] : ['build/dist/njs-tests.js'];
  const njsOutput = run('core inside njs' + tag, engine.njs[0], [...engine.njs.slice(1), ...script], env);
  const njsCounts = /njs: (\d+) passed, (\d+) failed/.exec(njsOutput);
  if (njsCounts) {
    counts.passed += Number(njsCounts[1]);
    counts.failed += Number(njsCounts[2]);
  } else {
    counts.failed++;
    broken.push('core inside njs' + tag + ' (no summary line)');
  }
  jest('integration', 'integration tests' + tag, counts, env);
  // Under load (tools/soak/soak.ts): a short soak, then reloads under load; each run counts as one test.
  oneTest('soak (10 s)' + tag, 'npx', ['tsx', 'tools/soak/soak.ts', '--duration', '10'], counts, env);
  oneTest(
    'reload under load (4 reloads: add, rotate, remove)' + tag,
    'npx',
    ['tsx', 'tools/soak/soak.ts', '--reload', '--reloads', '4', '--duration', '10'],
    counts,
    env,
  );
  // Fuzz through nginx (tools/fuzz/fuzz.ts): 100000 mutated tokens, one test; it prints its own closing line.
  oneTest('fuzz (100000 tokens)' + tag, 'npx', ['tsx', 'tools/fuzz/fuzz.ts', '--count', '100000'], counts, env);
  passed += counts.passed;
  failed += counts.failed;
  lines.push(`engine ${engine.name}: ${counts.passed} passed, ${counts.failed} failed (${seconds(Date.now() - engineStarted)})`);
}
passed += shared.passed;
failed += shared.failed;
passed += container.passed;
failed += container.failed;

console.log('\n' + `unit tests (Node, once): ${shared.passed} passed, ${shared.failed} failed`);
console.log(
  `container tests (docker/Dockerfile; README install on Debian's /etc/nginx; once): ${container.passed} passed, ${container.failed} failed${containerSkipped}`,
);
for (const line of lines) console.log(line);
if (broken.length) console.log('\nfailed stages: ' + broken.join(', '));
console.log(`(${seconds(Date.now() - started)} in all)`);
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exitCode = broken.length || failed ? 1 : 0;
