/**
 * The linear-time matcher of `match` claim rules (njs/core/safe-regex.ts):
 * the same answers as JavaScript's RegExp on the supported subset (a
 * property test with fast-check), prompt answers on the patterns and texts
 * that make backtracking engines explode (never run through RegExp here),
 * the length cap, and clear refusals of everything outside the subset.
 */
import fc from 'fast-check';
import { compilePattern, MAX_MATCH_BYTES, MAX_PATTERN_PROGRAM, MAX_PATTERN_REPEAT, patternMatches, SafePattern } from '../../njs/core/safe-regex';
import { matchCases, refusedPatterns } from '../njs/safe-regex-cases';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20241017;

function compiled(source: string): SafePattern {
  const pattern = compilePattern(source);
  if (typeof pattern === 'string') throw new Error('pattern ' + JSON.stringify(source) + ' refused: ' + pattern);
  return pattern;
}

function matches(source: string, text: string): boolean {
  return patternMatches(compiled(source), text);
}

/** Milliseconds one call takes (the best of three, so a busy machine does not fail the bound). */
function millis(run: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = process.hrtime.bigint();
    run();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return best;
}

describe('the same answers as RegExp on hand-picked cases', () => {
  const cases: [string, string[]][] = [
    [
      '^([a-zA-Z0-9]+[._-]?)+@example[.]com',
      ['ops@example.com', 'a.b-c_d@example.com', 'x@example.comx', 'ops@example.org', '@example.com', 'a..b@example.com', 'ops@exampleXcom'],
    ],
    ['admin', ['admin', 'xadminx', 'admi', '']],
    ['^admin$', ['admin', 'admin\n', 'xadmin', 'admins']],
    ['a|b|', ['', 'c', 'b']],
    ['^(?:gold|silver)$', ['gold', 'silver', 'golds', 'bronze']],
    ['^a{2,3}$', ['a', 'aa', 'aaa', 'aaaa']],
    ['^a{2,}$', ['a', 'aa', 'aaaaaa']],
    ['^a{0}$', ['', 'a']],
    ['^(ab){2}c?$', ['abab', 'ababc', 'ab', 'abababc']],
    ['(a*)*b', ['aaab', 'aaa', 'b']],
    ['^(a|ab)(c|bcd)(d*)$', ['abcd', 'abcdd', 'acd']],
    ['^.+$', ['x', '', 'a\nb', 'a\rb', 'a\u2028b', '\u00e9']],
    ['^[^a-c]+$', ['def', 'dad', '\n']],
    ['^[-a]+$', ['-a-', 'b']],
    ['^[a-]+$', ['-a-', 'b']],
    ['^[\\]\\\\]+$', [']\\', 'a']],
    ['^[\\d.]+$', ['1.2.3', '1,2']],
    ['^\\w+\\s\\w+$', ['hello world', 'hello  world', 'h\u00e9 w']],
    ['^\\D\\W\\S$', ['a.b', '1.b', 'a b']],
    ['^\\s$', ['\u00a0', '\ufeff', '\u2029', '\u3000', '\u0085', 'x']],
    ['^\\t\\n\\r\\f\\v$', ['\t\n\r\f\v', 't']],
    ['^\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\/\\-$', ['.*+?()[]{}|^$/-', 'x']],
    ['^a+?b*?c??d{1,2}?$', ['abd', 'aaabbcdd', 'ad', 'b']],
    ['x*', ['', 'yyy']],
    ['^$', ['', 'a']],
    ['$', ['abc']],
    ['a$|^b', ['xa', 'bx', 'ax', 'xb']],
    ['()', ['', 'x']],
    ['^[]$', ['', 'a']],
    ['^[^]$', ['a', '\n']],
    ['^(?:(a)|b)+$', ['abab', 'abc']],
    ['caf\u00e9', ['un caf\u00e9', 'cafe']],
    ['^[\u00e0-\u00ff]+$', ['\u00e9\u00e8', 'e']],
    ['[[]', ['[', ']']],
  ];
  for (const [source, texts] of cases) {
    it(JSON.stringify(source), () => {
      const pattern = compiled(source);
      const reference = new RegExp(source);
      for (const text of texts) expect([text, patternMatches(pattern, text)]).toEqual([text, reference.test(text)]);
    });
  }
});

describe('characters outside the BMP and unpaired surrogates', () => {
  it('a character outside the BMP is one character, as RegExp sees it with the u flag (and njs always)', () => {
    const grin = '\u{1F600}';
    for (const [source, text] of [
      ['^.$', grin],
      ['^a.b$', 'a' + grin + 'b'],
      ['^a..b$', 'a' + grin + 'b'],
      ['^[^x]$', grin],
      ['^[\u{1F600}-\u{1F64F}]+$', grin + '\u{1F64F}'],
      ['^\u{1F600}+$', grin + grin],
      ['^\\S$', grin],
    ]) {
      expect([source, matches(source, text)]).toEqual([source, new RegExp(source, 'u').test(text)]);
    }
  });

  it('an unpaired surrogate reads as U+FFFD, as njs stores it', () => {
    expect(matches('^\ufffd$', '\ud83d')).toBe(true);
    expect(matches('^a.b$', 'a\ude00b')).toBe(true);
    expect(matches('^.$', '\ud83d\ud83d')).toBe(false);
  });
});

describe('catastrophic patterns answer promptly (never run through RegExp here)', () => {
  const a40 = 'a'.repeat(40);
  const cases: [string, string, boolean][] = [
    // The finding: PCRE gives up with InternalError, QuickJS hangs.
    ['^([a-zA-Z0-9]+[._-]?)+@example[.]com', a40 + '!@example.com', false],
    ['^([a-zA-Z0-9]+[._-]?)+@example[.]com', a40 + '@example.com', true],
    ['^(a+)+$', a40 + '!', false],
    ['^(a|a)*$', a40 + '!', false],
    ['^(a|aa)+$', 'a'.repeat(200) + 'b', false],
    ['^(a*)*b', 'a'.repeat(MAX_MATCH_BYTES), false],
    ['^(.*a){20}$', 'a'.repeat(100) + 'b', false],
    ['(\\w+\\s?)+$', 'word '.repeat(40) + 'end', true],
    ['^(\\w+\\s?)+!?x$', 'word '.repeat(40) + '!', false],
    ['(x+x+)+y', 'x'.repeat(MAX_MATCH_BYTES), false],
  ];
  for (const [source, text, expected] of cases) {
    it(JSON.stringify(source) + ' on ' + text.length + ' characters: ' + expected + ' in well under 50 ms', () => {
      const pattern = compiled(source);
      let answer = !expected;
      expect(millis(() => (answer = patternMatches(pattern, text)))).toBeLessThan(50);
      expect(answer).toBe(expected);
    });
  }

  it('the largest programs on the longest texts stay bounded (program size x text length)', () => {
    const worst = ['(a?){80}a{80}x', '(a|b|c|d|e|f|g|h|i|j|k){8}x', '([a-z]*[a-z]*[a-z]*[a-z]*[a-z]*){16}x', '(.?){100}x'];
    for (const source of worst) {
      const pattern = compiled(source);
      expect(pattern.size / 4).toBeLessThanOrEqual(MAX_PATTERN_PROGRAM);
      let answer = true;
      expect(millis(() => (answer = patternMatches(pattern, 'a'.repeat(MAX_MATCH_BYTES))))).toBeLessThan(200);
      expect(answer).toBe(false);
    }
  });
});

describe('large programs give the right answers (where RegExp would take exponential time)', () => {
  it('^(a?){40}a{40}$ matches 40 to 80 letters', () => {
    const pattern = compiled('^(a?){40}a{40}$');
    for (let k = 0; k <= 90; k++) expect([k, patternMatches(pattern, 'a'.repeat(k))]).toEqual([k, k >= 40 && k <= 80]);
  });

  it('(x+x+)+y finds the y after many x, and an unanchored search starts anywhere', () => {
    expect(matches('(x+x+)+y', 'x'.repeat(200) + 'y')).toBe(true);
    expect(matches('(x+x+)+y', 'y' + 'x'.repeat(200))).toBe(false);
    expect(matches('b(a|ab)*c', 'a'.repeat(100) + 'b' + 'ab'.repeat(50) + 'c')).toBe(true);
  });
});

describe('the length cap', () => {
  it(`texts up to ${MAX_MATCH_BYTES} bytes of UTF-8 are examined, longer ones never match`, () => {
    expect(matches('^a+$', 'a'.repeat(MAX_MATCH_BYTES))).toBe(true);
    expect(matches('^a+$', 'a'.repeat(MAX_MATCH_BYTES + 1))).toBe(false);
    expect(matches('a', 'a'.repeat(100000))).toBe(false);
    // Bytes, not characters: the same on every engine, whatever its strings are made of.
    expect(matches('^\u00e9+$', '\u00e9'.repeat(MAX_MATCH_BYTES / 2))).toBe(true);
    expect(matches('^\u00e9+$', '\u00e9'.repeat(MAX_MATCH_BYTES / 2 + 1))).toBe(false);
    expect(matches('.', '\u{1F600}'.repeat(MAX_MATCH_BYTES / 4 + 1))).toBe(false);
  });
});

describe('what is refused, and the message says what', () => {
  const refused: [string, RegExp][] = [
    ['(a)\\1', /backreferences/],
    ['(?<n>a)\\k<n>', /named groups/],
    ['\\k<n>', /backreferences/],
    ['(?=a)', /lookahead/],
    ['(?!a)', /lookahead/],
    ['(?<=a)b', /lookbehind/],
    ['(?<!a)b', /lookbehind/],
    ['(?i)a', /non-capturing group/],
    ['\\bword\\b', /word boundaries/],
    ['\\Bx', /word boundaries/],
    ['\\x41', /escape \\x/],
    ['\\u0041', /escape \\u/],
    ['\\p{L}', /escape \\p/],
    ['\\cA', /escape \\c/],
    ['\\0', /octal/],
    ['a{101}', /repetition counts above 100/],
    ['a{1,101}', /repetition counts above 100/],
    ['a{3,2}', /out of order/],
    ['a{', /escape a literal one as \\\{/],
    ['a{x}', /escape a literal one as \\\{/],
    ['a{,3}', /escape a literal one as \\\{/],
    ['a}', /escape a literal \} as \\\}/],
    ['a]', /escape a literal \] as \\\]/],
    ['*a', /nothing to repeat/],
    ['a**', /nothing to repeat/],
    ['a+*', /nothing to repeat/],
    ['a???', /nothing to repeat/],
    ['(|*)', /nothing to repeat/],
    ['^*', /anchor/],
    ['$+', /anchor/],
    ['[z-a]', /range z-a is out of order/],
    ['[\\d-z]', /range cannot start or end with/],
    ['[a-\\w]', /range cannot start or end with/],
    ['[abc', /no closing \]/],
    ['(abc', /no closing \)/],
    ['abc)', /no opening \(/],
    ['abc\\', /lone \\/],
    ['(a{20}){20}', /too large: over 256 instructions/],
    ['((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))', /nested deeper than 32/],
  ];
  for (const [source, message] of refused) {
    it(JSON.stringify(source), () => {
      const result = compilePattern(source);
      expect(typeof result).toBe('string');
      expect(result).toMatch(message);
    });
  }

  it('counts up to the limit are accepted', () => {
    expect(matches('^a{' + MAX_PATTERN_REPEAT + '}$', 'a'.repeat(MAX_PATTERN_REPEAT))).toBe(true);
    expect(matches('^a{' + MAX_PATTERN_REPEAT + '}$', 'a'.repeat(MAX_PATTERN_REPEAT - 1))).toBe(false);
  });
});

/**
 * Patterns of the subset, built from parts so that every one is valid for
 * RegExp too, with or without the u flag (escapes only of syntax characters).
 * Counts stay small and nesting shallow: the reference is a backtracking engine.
 */
const ALPHABET = ['a', 'b', 'c', '-', '.', '@', ' ', '\n', '1', '\u00e9'];
const SYNTAX = ['.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '^', '$', '\\', '/'];

const literal = fc.oneof(
  fc.constantFrom('a', 'b', 'c', '-', '@', ' ', '1', '\u00e9', ','),
  fc.constantFrom(...SYNTAX).map((c) => '\\' + c),
  fc.constantFrom('\\n', '\\t', '\\d', '\\w', '\\s', '\\D', '\\W', '\\S'),
);
const classItem = fc.oneof(fc.constantFrom('a', 'b', 'c', '1', '.', '@', ' ', '\u00e9', 'a-c', '0-9', '\\d', '\\w', '\\s', '\\S', '\\-', '\\]', '\\\\', '\\n'));
const charClass = fc
  .tuple(fc.boolean(), fc.array(classItem, { minLength: 1, maxLength: 4 }))
  .map(([negated, items]) => '[' + (negated ? '^' : '') + items.join('') + ']');
const quantifier = fc.constantFrom('', '', '', '*', '+', '?', '{2}', '{0,2}', '{1,}', '{1,3}', '*?', '+?', '??');

const { pattern: patternArb } = fc.letrec((tie) => ({
  atom: fc.oneof({ depthSize: 'small', withCrossShrink: true }, literal, literal, fc.constant('.'), charClass, tie('group')),
  group: fc.tuple(fc.constantFrom('(', '(?:'), tie('alternation')).map(([open, inner]) => open + inner + ')'),
  term: fc.oneof(
    fc.tuple(tie('atom'), quantifier).map(([atom, q]) => atom + q),
    fc.constantFrom('^', '$'),
  ),
  sequence: fc.array(tie('term'), { minLength: 0, maxLength: 4 }).map((terms) => (terms as string[]).join('')),
  alternation: fc.array(tie('sequence'), { minLength: 1, maxLength: 3 }).map((parts) => (parts as string[]).join('|')),
  pattern: tie('alternation'),
}));

const text = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 12 }).map((chars) => chars.join(''));

describe('the same answers as RegExp on random patterns of the subset (fast-check)', () => {
  it('compiles every generated pattern, and test() agrees with RegExp on random texts', () => {
    fc.assert(
      fc.property(patternArb as fc.Arbitrary<string>, fc.array(text, { minLength: 1, maxLength: 8 }), (source, texts) => {
        const pattern = compilePattern(source);
        if (typeof pattern === 'string') {
          // Only size can refuse a generated pattern (counts multiply).
          expect(pattern).toMatch(/too large/);
          return;
        }
        const reference = new RegExp(source);
        for (const t of texts) {
          if (patternMatches(pattern, t) !== reference.test(t))
            throw new Error(JSON.stringify(source) + ' on ' + JSON.stringify(t) + ': RegExp says ' + reference.test(t));
        }
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('agrees with RegExp and the u flag on texts with characters outside the BMP', () => {
    const astral = fc.array(fc.constantFrom('a', 'b', '\u{1F600}', '\u{10FFFF}', '.', ' '), { maxLength: 8 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(patternArb as fc.Arbitrary<string>, fc.array(astral, { minLength: 1, maxLength: 6 }), (source, texts) => {
        const pattern = compilePattern(source);
        if (typeof pattern === 'string') return;
        const reference = new RegExp(source, 'u');
        for (const t of texts) {
          if (patternMatches(pattern, t) !== reference.test(t))
            throw new Error(JSON.stringify(source) + ' on ' + JSON.stringify(t) + ': RegExp/u says ' + reference.test(t));
        }
      }),
      { seed: SEED, numRuns: 1500 },
    );
  });

  it('refuses, never throws, on arbitrary strings; whatever compiles matches like RegExp', () => {
    fc.assert(
      fc.property(
        fc.string({
          maxLength: 24,
          unit: fc.constantFrom('a', 'b', '(', ')', '[', ']', '{', '}', '|', '*', '+', '?', '\\', '^', '$', '.', '-', ',', '1', ':', '=', '!', '<', 'd', 'k'),
        }),
        text,
        (source, t) => {
          const pattern = compilePattern(source);
          if (typeof pattern === 'string') return;
          let reference: RegExp;
          try {
            reference = new RegExp(source);
          } catch {
            throw new Error('compiled what RegExp refuses: ' + JSON.stringify(source));
          }
          // Small texts only: the reference backtracks.
          if (patternMatches(pattern, t) !== reference.test(t)) throw new Error(JSON.stringify(source) + ' on ' + JSON.stringify(t));
        },
      ),
      { seed: SEED, numRuns: 5000 },
    );
  });
});

describe('the cases the njs engine tests run (test/njs/safe-regex-cases.ts)', () => {
  it('every expected answer is what RegExp says (with the u flag outside the BMP) and what the matcher says in Node', () => {
    for (const [source, text, expected, astral] of matchCases()) {
      expect([source, text, new RegExp(source, astral ? 'u' : '').test(text)]).toEqual([source, text, expected]);
      expect([source, text, matches(source, text)]).toEqual([source, text, expected]);
    }
  });

  it('every refused pattern is refused with the word the njs test looks for', () => {
    for (const [source, word] of refusedPatterns()) expect([source, compilePattern(source)]).toEqual([source, expect.stringContaining(word)]);
  });
});
