// Bundles the gateway into one njs script, through the syntax gate of
// njs-syntax.mjs: the build fails on syntax the classic njs engine (0.7.9)
// cannot run. Also bundles the `jwt-gateway` command line for Node.
import * as esbuild from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { njsSyntax, njsSyntaxProblems } from './njs-syntax.mjs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'build', 'dist');

/** njs before 0.7.12 accepts only `export default x;`, not the `export { x as default };` esbuild writes. */
function defaultExportForNjs(code, file) {
  const rewritten = code.replace(/export\s*\{\s*([A-Za-z_$][\w$]*) as default\s*\};?\s*$/, 'export default $1;\n');
  if (!/export default [A-Za-z_$][\w$]*;\n$/.test(rewritten)) throw new Error(file + ': expected a single default export');
  return rewritten;
}

/**
 * A module (`js_import`) or a plain script (the njs CLI), through the syntax
 * gate. Statements labelled `FAULT:` (test-only fault injection) are dropped
 * unless `keepFaults`. A script with `scriptFormat` 'esm' is an ES module
 * without exports, for `njs -n QuickJS -m` (the QuickJS CLI has no global require).
 */
async function bundle(entry, outfile, asModule, keepFaults = false, scriptFormat = 'iife') {
  const result = await esbuild.build({
    ...njsSyntax,
    dropLabels: keepFaults ? [] : ['FAULT'],
    entryPoints: [path.join(root, entry)],
    // ESM, not an IIFE: njs re-runs a module's top level for every request, and the
    // IIFE's CommonJS export helpers cost time there.
    format: asModule ? 'esm' : scriptFormat,
    write: false,
  });
  const file = path.relative(root, outfile);
  const code = asModule ? defaultExportForNjs(result.outputFiles[0].text, file) : result.outputFiles[0].text;
  const problems = njsSyntaxProblems(code, file);
  if (problems.length) {
    console.error(problems.join('\n'));
    throw new Error('syntax njs cannot run');
  }
  mkdirSync(path.dirname(outfile), { recursive: true });
  writeFileSync(outfile, code);
  return outfile;
}

try {
  const gateway = await bundle('njs/gateway.ts', path.join(dist, 'jwt-gateway.js'), true);
  console.log('built ' + path.relative(process.cwd(), gateway) + ' (load it with: js_import jwt from ' + gateway + ';)');
  await esbuild.build({
    entryPoints: [path.join(root, 'cli', 'main.ts')],
    outfile: path.join(dist, 'cli.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'error',
  });
  if (process.argv.includes('--njs-tests')) {
    const tests = await bundle('test/njs/run.ts', path.join(dist, 'njs-tests.js'), false);
    console.log('built ' + path.relative(process.cwd(), tests));
    // The same tests for QuickJS: `njs -n QuickJS -m build/dist/njs-tests.mjs`.
    const moduleTests = await bundle('test/njs/run.ts', path.join(dist, 'njs-tests.mjs'), false, false, 'esm');
    console.log('built ' + path.relative(process.cwd(), moduleTests));
    const faults = await bundle('njs/gateway.ts', path.join(dist, 'jwt-gateway-faults.js'), true, true);
    console.log('built ' + path.relative(process.cwd(), faults) + ' (with fault injection, for tests)');
  }
} catch (e) {
  // esbuild and the gate have already printed located errors (e.g. "Transforming for-of loops ... is not supported yet").
  process.exitCode = 1;
}
