/**
 * Cases for the `match` rule matcher (njs/core/safe-regex.ts) that every
 * engine must answer alike: test/njs/safe-regex.ts runs them inside njs
 * (classic and QuickJS), test/unit/safe-regex.test.ts runs them in Node and
 * checks each expected answer against JavaScript's RegExp (with the u flag
 * for texts outside the BMP, where RegExp without it counts UTF-16 units).
 * Plain data, no objects built at load time beyond these literals.
 */

/** [pattern, text, expected, astral] */
export type MatchCase = [string, string, boolean, boolean];

export function matchCases(): MatchCase[] {
  return [
    ['^([a-zA-Z0-9]+[._-]?)+@example[.]com', 'ops.team@example.com', true, false],
    ['^([a-zA-Z0-9]+[._-]?)+@example[.]com', 'ops..team@example.com', false, false],
    ['^([a-zA-Z0-9]+[._-]?)+@example[.]com', 'ops@example.org', false, false],
    ['admin', 'the administrator', true, false],
    ['^admin', 'the administrator', false, false],
    ['^(?:gold|silver)$', 'silver', true, false],
    ['^(?:gold|silver)$', 'silvers', false, false],
    ['^a{2,3}$', 'aaa', true, false],
    ['^a{2,3}$', 'aaaa', false, false],
    ['^(ab){2}c?$', 'ababc', true, false],
    ['(a*)*b', 'aaab', true, false],
    ['^.+$', 'a\nb', false, false],
    ['^.+$', 'a\u2028b', false, false],
    ['^[^a-c]+$', 'def', true, false],
    ['^\\w+\\s\\w+$', 'hello world', true, false],
    ['^\\s$', '\u3000', true, false],
    ['^\\s$', '\u0085', false, false],
    ['^\\d+\\.\\d+$', '1.25', true, false],
    ['^[\\]\\\\-]+$', ']\\-', true, false],
    ['^a+?b*?c??$', 'aabbc', true, false],
    ['caf\u00e9', 'un caf\u00e9', true, false],
    ['^[\u00e0-\u00ff]+$', '\u00e9\u00e8', true, false],
    ['^[\u00e0-\u00ff]+$', 'e', false, false],
    ['^$', '', true, false],
    ['a$|^b', 'xa', true, false],
    ['a$|^b', 'ax', false, false],
    ['^[]$', 'a', false, false],
    ['^[^]$', '\n', true, false],
    ['^.$', '\u{1F600}', true, true],
    ['^a.b$', 'a\u{1F600}b', true, true],
    ['^a..b$', 'a\u{1F600}b', false, true],
    ['^[\u{1F600}-\u{1F64F}]+$', '\u{1F600}\u{1F64F}', true, true],
    ['^\\S$', '\u{10FFFF}', true, true],
  ];
}

/** Patterns the matcher refuses, with a word its message must contain. */
export function refusedPatterns(): [string, string][] {
  return [
    ['(a)\\1', 'backreferences'],
    ['(?=a)', 'lookahead'],
    ['(?<=a)b', 'lookbehind'],
    ['(?<n>a)', 'named groups'],
    ['\\bx', 'word boundaries'],
    ['\\x41', 'escape'],
    ['a{101}', 'repetition counts'],
    ['a{', 'count'],
    ['a**', 'nothing to repeat'],
    ['[z-a]', 'out of order'],
    ['(a{20}){20}', 'too large'],
    ['(a', 'no closing'],
  ];
}
