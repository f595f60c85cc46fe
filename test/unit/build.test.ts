/**
 * The syntax gate of build/njs-syntax.mjs: esbuild's `supported` table, then
 * a walk over the bundle for what esbuild lets through.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { njsSyntax as gateOptions, njsSyntaxProblems } from '../../build/njs-syntax.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const buildScript = path.join(root, 'build', 'build.mjs');
const bundlePath = path.join(root, 'build', 'dist', 'jwt-gateway.js');
const njsSyntax = gateOptions;

function buildSnippet(contents: string): Promise<esbuild.BuildResult> {
  return esbuild.build({
    ...njsSyntax,
    stdin: { contents, loader: 'ts', resolveDir: root, sourcefile: 'snippet.ts' },
    write: false,
    format: 'iife',
    logLevel: 'silent',
  });
}

function outputText(result: esbuild.BuildResult): string {
  return result.outputFiles![0].text;
}

describe('njsSyntax (build/njs-syntax.mjs)', () => {
  test('keeps the gate switched on for the syntax njs 0.7.9 lacks', () => {
    expect(njsSyntax.target).toBe('es2017');
    expect(njsSyntax.supported).toMatchObject({
      class: false,
      destructuring: false,
      'for-of': false,
      'default-argument': false,
      'array-spread': false,
      generator: false,
    });
  });

  test.each([
    ['for-of', 'const xs = [1, 2];\nfor (const x of xs) console.log(x);', /for-of/],
    ['object destructuring', 'const o: any = { a: 1 };\nconst { a } = o;\nconsole.log(a);', /destructuring/],
    ['array destructuring', 'const pair: any = [1, 2];\nconst [x, y] = pair;\nconsole.log(x, y);', /destructuring/],
    ['destructuring parameters', 'export function f({ a }: { a: number }) { return a; }', /destructuring/],
    ['classes', 'class Verifier { check() { return 1; } }\nconsole.log(new Verifier().check());', /class/],
    ['default arguments', 'export function f(a = 1) { return a; }', /default argument/],
    ['array spread', 'const a = [1];\nconsole.log([...a, 2]);', /array spread/],
    ['generators', 'export function* g() { yield 1; }', /generator/],
  ])('rejects %s', async (_name, contents, reason) => {
    await expect(buildSnippet(contents)).rejects.toThrow(reason);
  });

  test.each([
    ['a spread in a call', 'export function f(a: number[]) { return Math.max(...a); }'],
    ['a spread in new', 'export function f(a: number[]) { return new Date(...a); }'],
  ])('the bundle walk rejects %s, which esbuild lets through', async (_name, contents) => {
    const text = outputText(await buildSnippet(contents));
    expect(njsSyntaxProblems(text, 'snippet.js')).toEqual([expect.stringMatching(/^snippet\.js:\d+:\d+: spread .* is not supported by njs 0\.7\.9$/)]);
  });

  test('the bundle walk accepts rest parameters, which njs has', async () => {
    const text = outputText(await buildSnippet('export function f(...rest: number[]) { return rest.length; }'));
    expect(njsSyntaxProblems(text, 'snippet.js')).toEqual([]);
  });

  test('accepts the syntax the core is written in, and lowers ?. and object spread', async () => {
    const contents = [
      'const o: any = { a: { b: 1 } };',
      'const copy = { ...o, c: 2 };',
      'const xs = [1, 2, 3];',
      'let sum = 0;',
      'for (let i = 0; i < xs.length; i++) sum += xs[i];',
      'const f = (x: number) => x * 2;',
      'console.log(o?.a?.b, copy, f(sum), `t${sum}`);',
    ].join('\n');
    const text = outputText(await buildSnippet(contents));
    expect(text).not.toContain('?.');
    expect(text).not.toMatch(/\{\s*\.\.\.o/);
  });

  test('the real gateway sources pass the gate', async () => {
    const result = await esbuild.build({
      ...njsSyntax,
      entryPoints: [path.join(root, 'njs', 'gateway.ts')],
      write: false,
      format: 'iife',
      globalName: 'jwtGateway',
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    expect(njsSyntaxProblems(outputText(result), 'gateway.js')).toEqual([]);
  });

  test('leave out what only `jwt-gateway check` needs: no module of cli/, none of its messages', async () => {
    const result = await esbuild.build({
      ...njsSyntax,
      entryPoints: [path.join(root, 'njs', 'gateway.ts')],
      absWorkingDir: root,
      write: false,
      format: 'esm',
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs).toContain('njs/core/keys/consumers.ts');
    expect(inputs.filter((file) => !file.startsWith('njs/'))).toEqual([]);
    const text = outputText(result);
    for (const message of ['unknown field (known:', 'duplicate credential id', 'not found through it', 'no usable credential', 'no usable key (every entry'])
      expect(text).not.toContain(message);
  });
});

describe('the bundle build/dist/jwt-gateway.js', () => {
  let bundle: string;

  beforeAll(() => {
    if (!existsSync(bundlePath)) execFileSync(process.execPath, [buildScript], { cwd: root, stdio: 'pipe' });
    bundle = readFileSync(bundlePath, 'utf8');
  });

  test('ends with the one export form njs 0.7.9 accepts', () => {
    expect(bundle.trimEnd()).toMatch(/\nexport default [A-Za-z_$][\w$]*;$/);
  });

  test('contains no `export {` (njs 0.7.9 rejects export lists) and only one export', () => {
    expect(bundle).not.toContain('export {');
    expect(bundle.match(/^export /gm)).toEqual(['export ']);
  });

  test('imports only njs built-in modules, and is ASCII', () => {
    expect((bundle.match(/^import .*$/gm) || []).map((line) => line.replace(/^import \w+ from /, ''))).toEqual(['"crypto";', '"fs";']);
    expect(bundle).toMatch(/^[\x00-\x7f]*$/);
  });

  test('passes the syntax walk', () => {
    expect(njsSyntaxProblems(bundle, 'jwt-gateway.js')).toEqual([]);
  });
});
