// Bundles the gateway into one njs script, through the syntax gate of
// njs-syntax.mjs: the build fails on syntax the classic njs engine (0.7.9)
// cannot run. Also bundles the `jwt-gateway` command line for Node.
import * as esbuild from 'esbuild';
import { readFileSync } from 'node:fs';
import { njsSyntax, njsSyntaxProblems } from './njs-syntax.mjs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'build', 'dist');


async function bundle(entry, outfile, asModule) {
  await esbuild.build({
    ...njsSyntax,
    entryPoints: [path.join(root, entry)],
    outfile,
    format: 'iife',
    // njs 0.7.9 accepts only `export default` (not `export { x as default }`).
    ...(asModule ? { globalName: 'jwtGateway', footer: { js: 'export default jwtGateway.default;' } } : {}),
  });
  const problems = njsSyntaxProblems(readFileSync(outfile, 'utf8'), path.relative(root, outfile));
  if (problems.length) {
    console.error(problems.join('\n'));
    throw new Error('syntax njs cannot run');
  }
  return outfile;
}

try {
  const gateway = await bundle('njs/gateway.ts', path.join(dist, 'jwt-gateway.js'), true);
  console.log('built ' + path.relative(process.cwd(), gateway) + ' (load it with: js_import jwt from ' + gateway + ';)');
  await esbuild.build({
    entryPoints: [path.join(root, 'build', 'cli', 'main.ts')],
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
  }
} catch (e) {
  // esbuild and the gate have already printed located errors (e.g. "Transforming for-of loops ... is not supported yet").
  process.exitCode = 1;
}
