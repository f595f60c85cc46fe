/**
 * `match` claim rules: patterns are compiled by the gateway's linear-time
 * matcher when the rules are parsed (a pattern outside the subset is a
 * config error naming the rule), a catastrophic pattern answers at once, and
 * a rule that throws is a broken rule, never a pass.
 */
import { brokenRule, ClaimRule, parseClaimRules } from '../../njs/core/claim-rules';
import { decide } from '../../njs/core/decision';
import { MAX_MATCH_BYTES } from '../../njs/core/safe-regex';
import { JsonObject } from '../../njs/core/strict-json';
import { Verified } from '../../njs/core/authenticate';

const CATASTROPHIC = 'email match ^([a-zA-Z0-9]+[._-]?)+@example[.]com';

function rules(text: string): ClaimRule[] {
  const parsed = parseClaimRules(text);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

function verified(payload: JsonObject): Verified {
  return { ok: true, payload, header: { alg: 'HS256' }, payloadText: JSON.stringify(payload) } as unknown as Verified;
}

describe('match rules', () => {
  it('the finding: 40 letters and a "!" break the rule at once (PCRE threw InternalError and the request passed; QuickJS hung)', () => {
    const parsed = rules(CATASTROPHIC);
    const started = Date.now();
    expect(brokenRule(parsed, { email: 'a'.repeat(40) + '!@example.com' })).toBe(parsed[0]);
    expect(Date.now() - started).toBeLessThan(100);
    const decision = decide(verified({ email: 'a'.repeat(40) + '!@example.com' }), false, {
      claimRules: parsed,
      requirements: [],
      requireStatus: 401,
      reportOnly: false,
    });
    expect(decision.allow).toBe(false);
    expect(decision.failure).toMatchObject({ status: 403, code: 'CLAIM_RULE_FAILED', detail: 'claim rule "' + CATASTROPHIC + '" does not hold' });
  });

  it('a normal match still works', () => {
    const parsed = rules(CATASTROPHIC + '; sub match ^user-[0-9]{1,6}');
    expect(brokenRule(parsed, { email: 'ops.team@example.com', sub: 'user-42' })).toBeNull();
    expect(brokenRule(parsed, { email: 'ops.team@example.org', sub: 'user-42' })!.path).toBe('email');
    expect(brokenRule(parsed, { email: 'ops.team@example.com', sub: 'admin-42' })!.path).toBe('sub');
    // Numbers and booleans are matched as their text; objects, arrays and a missing claim never match.
    expect(brokenRule(rules('n match ^4[0-9]$'), { n: 42 })).toBeNull();
    expect(brokenRule(rules('b match ^true$'), { b: true })).toBeNull();
    for (const claim of [{ x: 1 }, ['user-1'], null, undefined]) expect(brokenRule(rules('c match .'), { c: claim } as JsonObject)).not.toBeNull();
  });

  it(`a claim text over ${MAX_MATCH_BYTES} bytes is not examined: the rule does not hold`, () => {
    const parsed = rules('email match @example[.]com');
    expect(brokenRule(parsed, { email: 'a'.repeat(MAX_MATCH_BYTES - 12) + '@example.com' })).toBeNull();
    expect(brokenRule(parsed, { email: 'a'.repeat(MAX_MATCH_BYTES - 11) + '@example.com' })).toBe(parsed[0]);
  });

  const refused: [string, RegExp][] = [
    ['email match ^(a)\\1', /backreferences/],
    ['email match (?=admin)', /lookahead/],
    ['email match (?<!x)y', /lookbehind/],
    ['email match \\bx', /word boundaries/],
    ['email match a{1000}', /repetition counts above 100/],
    ['email match ([a-z]{50}){10}', /too large/],
    ['email match [a-', /no closing \]/],
  ];
  for (const [text, why] of refused) {
    it('refused at parse, naming the rule: ' + text, () => {
      const parsed = parseClaimRules('roles contains admin; ' + text);
      expect(typeof parsed).toBe('string');
      expect(parsed).toContain('rule "' + text + '": not a regular expression of the supported subset');
      expect(parsed).toMatch(why);
    });
  }
});

describe('a rule that throws is broken', () => {
  it('an exception in a rule denies, it never lets the request pass', () => {
    const parsed = rules('email match x; roles contains admin');
    // A pattern that cannot be run (as a bug or a broken engine would leave it).
    parsed[0].pattern = { code: null } as unknown as ClaimRule['pattern'];
    expect(brokenRule(parsed, { email: 'x', roles: ['admin'] })).toBe(parsed[0]);
    const decision = decide(verified({ email: 'x', roles: ['admin'] }), false, { claimRules: parsed, requirements: [], requireStatus: 401, reportOnly: false });
    expect({ allow: decision.allow, status: decision.failure && decision.failure.status }).toEqual({ allow: false, status: 403 });
  });
});
