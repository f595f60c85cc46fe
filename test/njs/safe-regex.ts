/**
 * The `match` rule matcher inside the engine: the shared cases of
 * safe-regex-cases.ts (checked against RegExp in Node by the unit tests),
 * the refusals, and the catastrophic pattern of the finding, which must come
 * back at once here too (PCRE threw InternalError on it, QuickJS hung).
 */
import { compilePattern, MAX_MATCH_BYTES, patternMatches } from '../../njs/core/safe-regex';
import { check, group, report } from './harness';
import { matchCases, refusedPatterns } from './safe-regex-cases';

export function safeRegexChecks(): void {
  const g = group('match rules (linear-time regex)');
  const cases = matchCases();
  for (let i = 0; i < cases.length; i++) {
    const source = cases[i][0];
    const text = cases[i][1];
    const pattern = compilePattern(source);
    if (typeof pattern === 'string') {
      check(g, JSON.stringify(source) + ' compiles', false, pattern);
      continue;
    }
    const answer = patternMatches(pattern, text);
    check(g, JSON.stringify(source) + ' on ' + JSON.stringify(text) + ' is ' + cases[i][2], answer === cases[i][2], 'got ' + answer);
  }
  const refused = refusedPatterns();
  for (let i = 0; i < refused.length; i++) {
    const result = compilePattern(refused[i][0]);
    check(
      g,
      JSON.stringify(refused[i][0]) + ' is refused (' + refused[i][1] + ')',
      typeof result === 'string' && result.indexOf(refused[i][1]) >= 0,
      'got ' + JSON.stringify(result),
    );
  }
  let letters = '';
  for (let i = 0; i < 40; i++) letters += 'a';
  const catastrophic = compilePattern('^([a-zA-Z0-9]+[._-]?)+@example[.]com');
  if (typeof catastrophic === 'string') check(g, "the finding's pattern compiles", false, catastrophic);
  else {
    const started = Date.now();
    const bad = patternMatches(catastrophic, letters + '!@example.com');
    const good = patternMatches(catastrophic, letters + '@example.com');
    const took = Date.now() - started;
    check(g, 'the finding\'s pattern on 40 letters and a "!" is false', bad === false);
    check(g, "the finding's pattern on 40 letters is true", good === true);
    check(g, "the finding's pattern answers within 100 ms", took < 100, took + ' ms');
  }
  let long = '';
  while (long.length < MAX_MATCH_BYTES) long += 'a';
  const worst = compilePattern('(a?){80}a{80}x');
  if (typeof worst !== 'string') {
    const started = Date.now();
    const answer = patternMatches(worst, long);
    const took = Date.now() - started;
    check(g, 'a near-largest program on the longest text is false', answer === false);
    check(g, 'a near-largest program on the longest text answers within 500 ms', took < 500, took + ' ms');
  } else check(g, '(a?){80}a{80}x compiles', false, worst);
  check(g, 'a text over ' + MAX_MATCH_BYTES + ' bytes never matches', patternMatches(compilePattern('a') as never, long + 'a') === false);
  check(g, 'a text of ' + MAX_MATCH_BYTES + ' bytes is examined', patternMatches(compilePattern('a') as never, long) === true);
  report(g);
}
