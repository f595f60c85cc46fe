// Bundles the gateway into one njs script. The `supported` table is the
// syntax gate: esbuild fails the build on syntax the classic njs engine
// (0.7.9) cannot run, and lowers what it can (`?.`, `{...o}`, `||=`).
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'build', 'dist');

export const njsSyntax = {
  target: 'es2017',
  supported: {
    class: false,
    destructuring: false,
    'for-of': false,
    'default-argument': false,
    'array-spread': false,
    'rest-argument': true,
    generator: false,
    'async-generator': false,
    'for-await': false,
    'optional-catch-binding': false,
    'optional-chain': false,
    'logical-assignment': false,
    'object-rest-spread': false,
    'class-field': false,
    'class-static-field': false,
    'class-private-field': false,
    'top-level-await': false,
    bigint: false,
    'regexp-named-capture-groups': false,
    'regexp-lookbehind-assertions': false,
    'regexp-sticky-and-unicode-flags': false,
  },
  platform: 'neutral',
  external: ['fs', 'crypto'],
  bundle: true,
  charset: 'ascii',
  logLevel: 'error',
};

async function bundle(entry, outfile, asModule) {
  await esbuild.build({
    ...njsSyntax,
    entryPoints: [path.join(root, entry)],
    outfile,
    format: 'iife',
    // njs 0.7.9 accepts only `export default` (not `export { x as default }`).
    ...(asModule ? { globalName: 'jwtGateway', footer: { js: 'export default jwtGateway.default;' } } : {}),
  });
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
  // esbuild already printed the located error (e.g. "Transforming for-of loops ... is not supported yet").
  process.exitCode = 1;
}
