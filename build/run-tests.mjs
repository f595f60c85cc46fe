// `npm test`: every suite in order (build, type check, unit, core inside njs,
// integration in real nginx), then one closing line with the totals that CI
// reads: "tests: N passed, M failed".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const env = { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, '--experimental-vm-modules'].filter(Boolean).join(' ') };
const resultsDir = mkdtempSync(path.join(os.tmpdir(), 'jwt-gateway-tests-'));
let passed = 0;
let failed = 0;
let broken = [];

function run(label, command, args) {
  console.log(`\n=== ${label}: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env, encoding: 'utf8' });
  process.stdout.write(result.stdout || '');
  if (result.status !== 0) broken.push(label);
  return result.stdout || '';
}

function jest(project) {
  const output = path.join(resultsDir, project + '.json');
  run(project + ' tests', 'npx', ['jest', '--selectProjects', project, '--runInBand', '--json', '--outputFile', output]);
  try {
    const summary = JSON.parse(readFileSync(output, 'utf8'));
    passed += summary.numPassedTests;
    failed += summary.numFailedTests;
    if (summary.numTotalTests === 0) broken.push(project + ' tests (none ran)');
  } catch {
    broken.push(project + ' tests (no results)');
  }
}

run('build', 'node', ['build/build.mjs', '--njs-tests']);
run('type check', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
run('type check (tests, scripts)', 'npx', ['tsc', '--noEmit', '-p', 'test/tsconfig.json']);
run('type check (tests inside njs)', 'npx', ['tsc', '--noEmit', '-p', 'test/njs/tsconfig.json']);
jest('unit');
const njsOutput = run('core inside njs', 'njs', ['build/dist/njs-tests.js']);
const njsCounts = /njs: (\d+) passed, (\d+) failed/.exec(njsOutput);
if (njsCounts) {
  passed += Number(njsCounts[1]);
  failed += Number(njsCounts[2]);
} else broken.push('core inside njs (no summary line)');
jest('integration');
// Under load (build/soak.ts): a short soak, then reloads under load; each run counts as one test.
for (const [label, args] of [
  ['soak (10 s)', ['--duration', '10']],
  ['reload under load (4 reloads: add, rotate, remove)', ['--reload', '--reloads', '4', '--duration', '10']],
]) {
  const before = broken.length;
  run(label, 'npx', ['tsx', 'build/soak.ts', ...args]);
  if (broken.length > before) failed++;
  else passed++;
}
// Fuzz through nginx (build/fuzz.ts): 100000 mutated tokens, one test; it prints its own closing line.
const beforeFuzz = broken.length;
run('fuzz (100000 tokens)', 'npx', ['tsx', 'build/fuzz.ts', '--count', '100000']);
if (broken.length > beforeFuzz) failed++;
else passed++;

if (broken.length) console.log('\nfailed stages: ' + broken.join(', '));
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exitCode = broken.length || failed ? 1 : 0;
