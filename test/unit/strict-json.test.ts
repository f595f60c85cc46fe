import fc from 'fast-check';
import { MAX_JSON_DEPTH, parseJsonObject, syntaxErrorAt } from '../../njs/core/strict-json';
import { bytes } from '../support/core';

function parse(text: string) {
  return parseJsonObject(bytes(text));
}

function expectProblem(result: ReturnType<typeof parse>, pattern: RegExp): void {
  expect(typeof result).toBe('string');
  expect(result as string).toMatch(pattern);
}

/** `depth` nested objects: {"a":{"a":...{}...}} */
function nestedObjects(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
}

describe('parseJsonObject: accepted documents', () => {
  test('parses a plain object', () => {
    expect(parse('{"alg":"HS256","typ":"JWT"}')).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  test('parses nested values, whitespace and unicode', () => {
    expect(parse(' {\n "a" : [1, 2.5, true, null, {"b": "é\\u00e9"}] ,"c":{} }\t')).toEqual({
      a: [1, 2.5, true, null, { b: 'éé' }],
      c: {},
    });
  });

  test('the same name in different objects is fine', () => {
    expect(parse('{"a":{"x":1},"b":{"x":2}}')).toEqual({ a: { x: 1 }, b: { x: 2 } });
    expect(parse('{"x":{"x":{"x":1}}}')).toEqual({ x: { x: { x: 1 } } });
    expect(parse('{"list":[{"id":1},{"id":2}],"id":3}')).toEqual({ list: [{ id: 1 }, { id: 2 }], id: 3 });
  });

  test('a name that also appears as a string value is not a duplicate', () => {
    expect(parse('{"alg":"alg","x":["alg","alg"]}')).toEqual({ alg: 'alg', x: ['alg', 'alg'] });
  });

  test('names differing only in case are different names', () => {
    expect(parse('{"alg":"HS256","ALG":"none"}')).toEqual({ alg: 'HS256', ALG: 'none' });
  });

  test(`accepts exactly MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) levels`, () => {
    const result = parse(nestedObjects(MAX_JSON_DEPTH));
    expect(typeof result).toBe('object');
  });
});

describe('parseJsonObject: a UTF-8 byte order mark', () => {
  const withBom = (text: string) => new Uint8Array(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));

  test('at the start is refused, as JSON.parse and njs js_preload_object refuse it', () => {
    expect(parseJsonObject(withBom('{"keys":[]}'))).toBe('starts with a UTF-8 byte order mark, which JSON does not allow (RFC 8259 8.1)');
    expect(() => JSON.parse(Buffer.from(withBom('{"keys":[]}')).toString('utf8'))).toThrow();
    expect(parseJsonObject(withBom(''))).toMatch(/byte order mark/);
  });

  test('twice, or after white space, is not valid JSON', () => {
    expect(parseJsonObject(withBom('\ufeff{}'))).toMatch(/byte order mark/);
    expect(parse(' \ufeff{}')).toBe('not valid JSON at line 1, column 2');
    expect(parse('{"a":1}\ufeff')).toBe('not valid JSON at line 1, column 8');
  });

  test('as a character inside a string it is just text', () => {
    expect(parse('{"a":"\ufeffx"}')).toEqual({ a: '\ufeffx' });
  });

  test('a lone EF byte or a short prefix is invalid UTF-8, not a BOM', () => {
    expect(parseJsonObject(new Uint8Array([0xef, 0xbb]))).toBe('not valid UTF-8');
    expect(parseJsonObject(new Uint8Array([0xef]))).toBe('not valid UTF-8');
  });
});

describe('parseJsonObject: duplicate member names', () => {
  test.each([
    ['plain', '{"alg":"HS256","alg":"none"}'],
    ['escaped \\u0061 for a', '{"a":1,"\\u0061":2}'],
    ['escaped first, plain second', '{"\\u0061lg":"none","alg":"HS256"}'],
    ['upper-case hex escape', '{"\\u0041":1,"A":2}'],
    ['both escaped differently', '{"\\u00e9":1,"\\u00E9":2}'],
    ['escaped vs raw UTF-8', '{"é":1,"\\u00e9":2}'],
    ['escaped solidus', '{"a/b":1,"a\\/b":2}'],
    ['after a nested object', '{"a":{"b":1},"a":2}'],
    ['after an array', '{"a":[1,{"c":2}],"a":3}'],
    ['not adjacent', '{"a":1,"b":2,"c":3,"a":4}'],
  ])('rejects %s', (_name, text) => {
    expectProblem(parse(text), /duplicate/);
  });

  test.each([
    ['in a nested object', '{"x":{"b":1,"b":2}}'],
    ['deep inside arrays', '{"x":[[{"ok":1}],[{"k":1,"k":2}]]}'],
    ['in the second sibling object', '{"l":[{"k":1},{"k":1,"k":2}]}'],
  ])('rejects nested duplicates %s', (_name, text) => {
    expectProblem(parse(text), /duplicate/);
  });
});

describe('parseJsonObject: not a JSON object', () => {
  test.each([
    ['array', '[]'],
    ['array of objects', '[{"a":1}]'],
    ['string', '"{\\"a\\":1}"'],
    ['number', '42'],
    ['null', 'null'],
    ['true', 'true'],
  ])('rejects a top-level %s', (_name, text) => {
    expectProblem(parse(text), /not a JSON object/);
  });

  test.each([
    ['empty input', ''],
    ['trailing comma', '{"a":1,}'],
    ['unquoted name', '{a:1}'],
    ['single quotes', "{'a':1}"],
    ['two objects', '{"a":1}{"b":2}'],
    ['unterminated', '{"a":1'],
    ['bad escape in a name', '{"\\x":1}'],
    ['NaN', '{"a":NaN}'],
  ])('rejects invalid JSON: %s', (_name, text) => {
    expectProblem(parse(text), /not valid JSON/);
  });
});

describe('parseJsonObject: UTF-8', () => {
  test.each([
    ['a lone continuation byte', [0x80]],
    ['0xff', [0xff]],
    ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
    ['a UTF-16 surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['a truncated 3-byte sequence', [0xe2, 0x82]],
  ])('rejects %s inside a string', (_name, raw) => {
    const input = new Uint8Array([...bytes('{"a":"'), ...raw, ...bytes('"}')]);
    expectProblem(parseJsonObject(input), /UTF-8/);
  });

  test('accepts multi-byte UTF-8', () => {
    expect(parse('{"name":"Zoë 😀"}')).toEqual({ name: 'Zoë 😀' });
  });
});

describe('parseJsonObject: nesting depth', () => {
  test('MAX_JSON_DEPTH is a sane bound', () => {
    expect(MAX_JSON_DEPTH).toBeGreaterThanOrEqual(8);
    expect(MAX_JSON_DEPTH).toBeLessThanOrEqual(64);
  });

  test('rejects objects nested one level deeper than MAX_JSON_DEPTH', () => {
    expectProblem(parse(nestedObjects(MAX_JSON_DEPTH + 1)), new RegExp('nested deeper than ' + MAX_JSON_DEPTH));
  });

  test('rejects arrays nested too deep inside an object', () => {
    const text = '{"a":' + '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH) + '}';
    expectProblem(parse(text), /nested deeper/);
  });

  test('rejects very deep nesting without throwing', () => {
    const text = '{"a":' + '['.repeat(100000) + ']'.repeat(100000) + '}';
    expectProblem(parse(text), /nested deeper/);
  });

  test('brackets inside strings do not count as nesting', () => {
    const text = '{"a":"' + '[{'.repeat(100) + '"}';
    expect(parse(text)).toEqual({ a: '[{'.repeat(100) });
  });
});

describe('parseJsonObject: large canonical documents (what `jwt-gateway index` writes)', () => {
  const list = (n: number, entry: (i: number) => object) => JSON.stringify({ consumers: Array.from({ length: n }, (_, i) => entry(i)) });

  test('with many brackets and a final newline, is accepted', () => {
    const text = list(50, (i) => ({ username: 'u' + i, credentials: [{ key: 'k' + i }] })) + '\n';
    expect(parse(text)).toEqual(JSON.parse(text));
  });

  test('one entry nested deeper than MAX_JSON_DEPTH among many is refused', () => {
    // consumers (1), its array (2), an entry (3), then `deep`: MAX_JSON_DEPTH - 2 levels make one too many.
    const deep = JSON.parse(nestedObjects(MAX_JSON_DEPTH - 2));
    expectProblem(parse(list(50, (i) => (i === 37 ? { deep } : { username: 'u' + i })) + '\n'), new RegExp('nested deeper than ' + MAX_JSON_DEPTH));
    expect(typeof parse(list(50, (i) => (i === 37 ? { deep: deep.a } : { username: 'u' + i })) + '\n')).toBe('object');
  });

  test('a duplicate name is still found before a final newline', () => {
    expectProblem(
      parse(list(50, (i) => ({ username: 'u' + i })).replace('"username":"u7"', '"username":"u7","username":"admin"') + '\n'),
      /duplicate member name "username"/,
    );
    expectProblem(parse('{"a":1,"a":2}\n'), /duplicate member name "a"/);
  });

  test('text after the value is JSON whitespace only', () => {
    expect(parse('{"a":[{}]}' + ' \t\r\n')).toEqual({ a: [{}] });
  });
});

describe('where a text stops being JSON (the message of a file that does not parse)', () => {
  test.each([
    ['{"consumers": [', 'not valid JSON at line 1, column 16 (it ends before it is complete)'],
    ['{"a":1,}', 'not valid JSON at line 1, column 8'],
    ['{"a":1}\n{', 'not valid JSON at line 2, column 1'],
    ['{\n  "a": tru\n}', 'not valid JSON at line 2, column 8'],
    ['{"a":"x\\q"}', 'not valid JSON at line 1, column 8'],
    ['{"a":"\u0001"}', 'not valid JSON at line 1, column 7'],
    ['{"a" 1}', 'not valid JSON at line 1, column 6'],
    ['{"a":01}', 'not valid JSON at line 1, column 7'],
    ['{"a":"\\u12G4"}', 'not valid JSON at line 1, column 7'],
    ['', 'not valid JSON at line 1, column 1 (it ends before it is complete)'],
  ])('%j: %s', (text, message) => {
    expect(parse(text)).toBe(message);
  });

  test('the message never quotes the text (a config file holds secrets)', () => {
    expect(parse('{"secret": "hunter2-and-more" x}')).toBe('not valid JSON at line 1, column 31');
  });

  test('agrees with JSON.parse: -1 exactly for JSON texts, and a cut JSON text stops at or before its end', () => {
    fc.assert(
      fc.property(fc.json(), fc.nat(), (text, cut) => {
        expect(syntaxErrorAt(text)).toBe(-1);
        const short = text.slice(0, cut % (text.length + 1));
        let valid = true;
        try {
          JSON.parse(short);
        } catch {
          valid = false;
        }
        const at = syntaxErrorAt(short);
        if (valid) expect(at).toBe(-1);
        else expect(at >= 0 && at <= short.length).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('agrees with JSON.parse on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', ' ', '1', '-', 'e', '.', 't', 'r', 'u', '\\', 'n', 'a') }), (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        expect(syntaxErrorAt(text) === -1).toBe(valid);
      }),
      { numRuns: 5000 },
    );
  });
});
