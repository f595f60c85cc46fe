/**
 * The README's troubleshooting table (Configuration reference, "Troubleshooting
 * by log code") has one row per FailureCode of njs/core/errors.ts, read from
 * the source, so a new code cannot ship without its row; each row shows the
 * code's log line and the message the client gets. The mapping from other
 * products names only settings the table of settings has.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail, FailureCode } from '../../njs/core/errors';
import { SETTINGS } from '../../build/settings-table';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const readme = read('README.md');

/** The lines strictly between the line starting with `begin` and the line `end`; throws unless each is there exactly once. */
function section(begin: string, end: string): string[] {
  const lines = readme.split('\n');
  const starts = lines.flatMap((line, i) => (line.trim().startsWith(begin) ? [i] : []));
  const stops = lines.flatMap((line, i) => (line.trim() === end ? [i] : []));
  if (starts.length !== 1 || stops.length !== 1 || stops[0] < starts[0]) {
    throw new Error('README.md needs exactly one "' + begin + '" line followed by one "' + end + '" line');
  }
  return lines.slice(starts[0] + 1, stops[0]);
}

/** The members of `export type FailureCode = | 'A' | 'B' ...;` as errors.ts spells them. */
function failureCodes(): string[] {
  const declaration = /export type FailureCode =([^;]*);/.exec(read('njs/core/errors.ts'));
  if (!declaration) throw new Error('njs/core/errors.ts: no `export type FailureCode = ...;`');
  return [...declaration[1].matchAll(/'([A-Z_]+)'/g)].map((match) => match[1]);
}

/** Table rows by their first cell's code: `| \`CODE\` | log line | client gets | causes | what to do |`. */
function troubleshootingRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of section('<!-- troubleshooting:', '<!-- end of troubleshooting -->')) {
    const match = /^\| `([A-Z_]+)` \|/.exec(line);
    if (!match) continue;
    if (rows.has(match[1])) throw new Error('README.md: two troubleshooting rows for ' + match[1]);
    rows.set(
      match[1],
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

const codes = failureCodes();
const rows = troubleshootingRows();

test('errors.ts declares failure codes (the parser of its source still works)', () => {
  expect(codes.length).toBeGreaterThan(10);
  expect(codes).toContain('TOKEN_MISSING');
  expect(codes).toContain('INTERNAL');
});

test('the troubleshooting section has a row for every FailureCode, and none for a code errors.ts lacks', () => {
  expect({ missing: codes.filter((code) => !rows.has(code)), unknown: [...rows.keys()].filter((code) => !codes.includes(code)) }).toEqual({
    missing: [],
    unknown: [],
  });
});

test.each(codes)('%s: its row has five cells, the log line and the body the client gets', (code) => {
  const row = rows.get(code);
  expect(row).toHaveLength(5);
  const [, logLine, clientGets] = row!;
  // INTERNAL is not logged as a rejection: the handler logs "unexpected error, request denied" (njs/nginx/outcome.ts).
  if (code === 'INTERNAL') expect(logLine).toContain('jwt-gateway: unexpected error, request denied');
  else expect(logLine).toMatch(new RegExp('`rejected 40[13] ' + code + ': '));
  const failure = fail(code as FailureCode, '');
  if (code === 'CLAIM_RULE_FAILED') expect(clientGets).toContain('403 `{"message":"JWT claims do not permit this request"}`');
  else expect(clientGets).toContain(failure.status + ' `{"message":"' + failure.message + '"}`');
});

test('the reference and the mapping name only settings the table has', () => {
  const names = SETTINGS.map((setting) => setting.name);
  const text = [
    ...section('<!-- troubleshooting:', '<!-- end of troubleshooting -->'),
    ...section('### Coming from NGINX Plus, Kong or APISIX', '## Recipes'),
  ].join('\n');
  const named = [...text.matchAll(/\$auth_jwt_([a-z_]+)/g)].map((match) => match[1]);
  expect(named.length).toBeGreaterThan(0);
  expect(named.filter((name) => !names.includes(name))).toEqual([]);
});

test('every setting has an entry in nginx.org form', () => {
  for (const setting of SETTINGS) {
    expect(readme).toContain(
      '#### `$auth_jwt_' +
        setting.name +
        '`\n\n**Syntax:** `set $auth_jwt_' +
        setting.name +
        ' ' +
        setting.syntax +
        ';`\\\n**Default:** ' +
        setting.default +
        '\\\n**Context:** ',
    );
  }
});
