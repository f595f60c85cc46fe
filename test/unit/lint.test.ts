/**
 * The linter's njs rules (eslint.config.mjs) mirror the build's syntax gate
 * (build/njs-syntax.mjs): for each construct, both refuse it in code that
 * runs in njs, with the same words, and both accept what njs runs.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { njsSyntaxProblems } from '../../build/njs-syntax.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const eslint = new ESLint({ cwd: root });

const REFUSED: [string, string][] = [
  ['f(...list);', 'spread (`f(...a)`, `[...a]`)'],
  ['const all = [...list];', 'spread (`f(...a)`, `[...a]`)'],
  ['for (const item of list) f(item);', '`for...of`'],
  ['class Box {}', '`class`'],
  ['const Box = class {};', '`class`'],
  ['const { a } = f();', 'destructuring'],
  ['const [a] = f();', 'destructuring'],
  ['function g(a = 1) { return a; }', 'default values'],
  ['const v = f()?.a;', '`?.`'],
  ['function* g() { yield 1; }', 'generators'],
  ['try { f(); } catch { f(); }', '`catch` without a binding'],
];

const ACCEPTED = ['function g(...rest) { return rest.length; }', 'const o = { a: 1 }; for (const k in o) f(k);', 'try { f(); } catch (e) { f(e); }'];

async function lintMessages(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText('declare const list: number[];\ndeclare function f(...a: unknown[]): any;\n' + code + '\n', {
    filePath: path.join(root, file),
  });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

describe('the linter mirrors the njs syntax gate', () => {
  test.each(REFUSED)('refuses %s in njs/ as the gate does (%s)', async (code, what) => {
    const gate = njsSyntaxProblems(code.replace(/^declare .*$/gm, ''), 'sample.js');
    expect(gate.join('\n')).toContain(what);
    const lint = await lintMessages(code, 'njs/core/sample.ts');
    expect(lint.length).toBeGreaterThan(0);
    expect(lint.join('\n')).toContain(what + ' is not supported by njs 0.7.9');
  });

  test.each(ACCEPTED)('accepts %s, as the gate does', async (code) => {
    expect(njsSyntaxProblems(code, 'sample.js')).toEqual([]);
    expect(await lintMessages(code, 'njs/core/sample.ts')).toEqual([]);
  });

  test('applies the njs rules to the in-engine tests too, and not to Node code', async () => {
    expect(await lintMessages('for (const item of list) f(item);', 'test/njs/sample.ts')).not.toEqual([]);
    expect(await lintMessages('for (const item of list) f(item);', 'tools/sample.ts')).toEqual([]);
  });
});
