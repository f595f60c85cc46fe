/**
 * The nginx configuration reader of `jwt-gateway check` (cli/nginx-config.ts):
 * tokens as ngx_conf_read_token makes them, syntax errors with the line nginx
 * reports, and `include` resolved as nginx does (relative to the configuration
 * prefix, globs sorted, a glob without match is fine, a missing file is not).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Directive, effective, expandGlob, loadConfig, parseConfig } from '../../cli/nginx-config';

function parse(text: string): Directive[] {
  const parsed = parseConfig(text, 'test.conf');
  if ('message' in parsed) throw new Error('unexpected syntax error at line ' + parsed.line + ': ' + parsed.message);
  return parsed.directives;
}

function syntaxError(text: string): { line: number; message: string } {
  const parsed = parseConfig(text, 'test.conf');
  if (!('message' in parsed)) throw new Error('expected a syntax error');
  return { line: parsed.line, message: parsed.message };
}

const shape = (directives: Directive[]): unknown[] => directives.map((d) => (d.block ? [d.name, ...d.args, shape(d.block)] : [d.name, ...d.args]));

describe('parseConfig: tokens', () => {
  test('directives, arguments and nested blocks, each with the line of its name', () => {
    const directives = parse('http {\n  server {\n    listen 80;\n    location /api/ { return 200 ok; }\n  }\n}\n');
    expect(shape(directives)).toEqual([
      [
        'http',
        [
          [
            'server',
            [
              ['listen', '80'],
              ['location', '/api/', [['return', '200', 'ok']]],
            ],
          ],
        ],
      ],
    ]);
    const server = directives[0].block![0];
    expect([directives[0].line, server.line, server.block![0].line, server.block![1].line]).toEqual([1, 2, 3, 4]);
  });

  test('double and single quotes group words; the escapes nginx knows are applied, others kept', () => {
    const [d] = parse('set $a "one two" \'three "four"\' "a\\"b" \'c\\\'d\' "tab\\there" "back\\\\slash" "keep\\x";');
    expect(d.args).toEqual(['$a', 'one two', 'three "four"', 'a"b', "c'd", 'tab\there', 'back\\slash', 'keep\\x']);
  });

  test('# starts a comment only where a token starts', () => {
    const directives = parse('# a comment; with { braces\nset $a b#c; # trailing\nreturn 200 "#not a comment";\n');
    expect(shape(directives)).toEqual([
      ['set', '$a', 'b#c'],
      ['return', '200', '#not a comment'],
    ]);
    expect(directives[1].line).toBe(3);
  });

  test('${var} braces are part of a token, a brace elsewhere in an unquoted token opens a block, } inside one is kept', () => {
    expect(shape(parse('return 200 ${auth_jwt_realm}x;'))).toEqual([['return', '200', '${auth_jwt_realm}x']]);
    expect(shape(parse('location /a{return 200;}'))).toEqual([['location', '/a', [['return', '200']]]]);
    expect(shape(parse('return 200 a}b;'))).toEqual([['return', '200', 'a}b']]);
  });

  test('a backslash takes the next character literally, also a space or a semicolon', () => {
    expect(shape(parse('set $a b\\ c\\;d;'))).toEqual([['set', '$a', 'b\\ c\\;d']]);
  });

  test('quoted strings may span lines, and lines keep counting', () => {
    const directives = parse('return 200 "a\nb";\nlisten 80;');
    expect(directives[0].args[1]).toBe('a\nb');
    expect(directives[1].line).toBe(3);
  });

  test('an if with a quoted regex and ) right after the quote', () => {
    expect(shape(parse('if ($http_x ~* "^a{2}$") { return 403; }'))).toEqual([['if', '($http_x', '~*', '^a{2}$', ')', [['return', '403']]]]);
  });
});

describe('parseConfig: syntax errors, with the line', () => {
  test.each([
    ['a } without block', 'listen 80;\n}', 2, 'unexpected "}"'],
    ['a } after words', 'server {\n listen 80 }\n', 2, 'unexpected "}"'],
    ['a ; with no directive', 'listen 80;\n;', 2, 'unexpected ";"'],
    ['a block that is never closed', 'http {\n server {\n', 3, 'unexpected end of file, expecting "}" (the block of "server" at line 2 is not closed)'],
    ['a directive without ;', 'listen 80', 1, 'unexpected end of file, expecting ";" or "}"'],
    ['an unterminated string', 'set $a "abc;\nlisten 80;\n', 1, 'unexpected end of file, expecting the closing " of the string that starts here'],
    ['a character right after a closing quote', 'set $a "b"c;', 1, 'unexpected "c"'],
  ])('%s', (_name, text, line, message) => {
    expect(syntaxError(text)).toEqual({ line, message });
  });
});

describe('loadConfig: include as nginx resolves it', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nginx-config-test-'));
    mkdirSync(path.join(dir, 'conf.d'));
    mkdirSync(path.join(dir, 'sites'));
    writeFileSync(path.join(dir, 'conf.d', 'b.conf'), 'set $b 2;\n');
    writeFileSync(path.join(dir, 'conf.d', 'a.conf'), 'set $a 1;\n');
    writeFileSync(path.join(dir, 'conf.d', '.hidden.conf'), 'set $hidden 1;\n');
    writeFileSync(path.join(dir, 'conf.d', 'c.txt'), 'set $c 3;\n');
    // a relative include inside an included file is relative to the configuration prefix, not to that file
    writeFileSync(path.join(dir, 'sites', 'site.conf'), 'include conf.d/a.conf;\n');
    writeFileSync(path.join(dir, 'self.conf'), 'include self.conf;\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function load(text: string) {
    const main = path.join(dir, 'nginx.conf');
    writeFileSync(main, text);
    const loaded = loadConfig(main, dir);
    return { ...loaded, names: effective(loaded.directives).map((d) => d.name + ' ' + d.args.join(' ')) };
  }

  test('a glob reads its matches in sorted order, not dot files, not other names', () => {
    const loaded = load('include conf.d/*.conf;\n');
    expect(loaded.problems).toEqual([]);
    expect(loaded.names).toEqual(['set $a 1', 'set $b 2']);
    expect(effective(loaded.directives)[0].file).toBe(path.join(dir, 'conf.d', 'a.conf'));
  });

  test('a glob without match is fine; a missing plain file is a problem naming file and line', () => {
    expect(load('include nothing/*.conf;\n').problems).toEqual([]);
    const missing = load('listen 80;\ninclude missing.conf;\n');
    expect(missing.problems).toEqual([
      {
        file: path.join(dir, 'nginx.conf'),
        line: 2,
        message: expect.stringMatching(/^include missing\.conf: .*missing\.conf cannot be read \(ENOENT\); nginx -t fails too$/),
      },
    ]);
  });

  test('relative includes resolve against the configuration prefix, whatever file holds them', () => {
    const loaded = load('include sites/site.conf;\n');
    expect(loaded.problems).toEqual([]);
    expect(loaded.names).toEqual(['set $a 1']);
    expect(loaded.files).toEqual([path.join(dir, 'nginx.conf'), path.join(dir, 'sites', 'site.conf'), path.join(dir, 'conf.d', 'a.conf')]);
  });

  test('an absolute include and character classes', () => {
    expect(load('include ' + path.join(dir, 'conf.d', '[ab].conf') + ';\n').names).toEqual(['set $a 1', 'set $b 2']);
    expect(load('include conf.d/[!a]*.conf;\n').names).toEqual(['set $b 2']);
    expect(load('include conf.d/?.conf;\n').names).toEqual(['set $a 1', 'set $b 2']);
  });

  test('a file that includes itself is a problem, not a hang', () => {
    const loaded = load('include self.conf;\n');
    expect(loaded.problems).toEqual([
      expect.objectContaining({
        file: path.join(dir, 'self.conf'),
        line: 1,
        message: expect.stringMatching(/includes itself \(nginx\.conf -> self\.conf -> self\.conf\)/),
      }),
    ]);
  });

  test('a syntax error in an included file names that file and line', () => {
    writeFileSync(path.join(dir, 'broken.conf'), 'listen 80;\nset $a "x\n');
    expect(load('include broken.conf;\n').problems).toEqual([
      { file: path.join(dir, 'broken.conf'), line: 2, message: expect.stringMatching(/expecting the closing "/) },
    ]);
  });

  test('expandGlob on a directory that does not exist is empty', () => {
    expect(expandGlob(path.join(dir, 'nope', '*.conf'))).toEqual([]);
  });
});
