/**
 * Authorization rules on verified claims, answered with 403 when one fails.
 * Written as `claim operator value` and separated by `;`, e.g.
 *   roles contains admin; iss eq https://idp.example; org.tier in gold,silver; age ge 18; email suffix @example.com
 * Operators: eq, ne, in (one of a comma list), contains (an array claim holds
 * the value, or a space-separated string claim like `scope` has the word),
 * prefix, suffix, gt, ge, lt, le (numbers), match (a regular expression of
 * the linear-time subset of safe-regex.ts, compiled here once per settings
 * parse; a claim text over MAX_MATCH_BYTES bytes of UTF-8 does not match;
 * nginx reads `$` in a value as a variable, so anchor the end with suffix
 * instead).
 */
import { claimAt } from './claim-path';
import { compilePattern, patternMatches, SafePattern } from './safe-regex';
import { JsonObject } from './strict-json';

export interface ClaimRule {
  text: string;
  path: string;
  operator: string;
  value: string;
  pattern?: SafePattern;
}

/** Rules from their text, or a string saying what is wrong with which rule. */
export function parseClaimRules(text: string): ClaimRule[] | string {
  const operators = ['eq', 'ne', 'in', 'contains', 'prefix', 'suffix', 'gt', 'ge', 'lt', 'le', 'match'];
  const rules: ClaimRule[] = [];
  const parts = text.split(';');
  for (let i = 0; i < parts.length; i++) {
    const ruleText = parts[i].trim();
    if (ruleText === '') continue;
    const match = /^(\S+)\s+(\S+)\s+(.+)$/.exec(ruleText);
    if (!match || operators.indexOf(match[2]) < 0) {
      return 'rule "' + ruleText + '" must be "claim operator value" with an operator among ' + operators.join(', ');
    }
    const rule: ClaimRule = { text: ruleText, path: match[1], operator: match[2], value: match[3].trim() };
    if (rule.operator === 'match') {
      // Never the engine's RegExp: claim text is the token holder's, and PCRE throws or QuickJS hangs on a catastrophic pattern.
      const pattern = compilePattern(rule.value);
      if (typeof pattern === 'string')
        return 'rule "' + ruleText + '": not a regular expression of the supported subset (see the claim rules recipe): ' + pattern;
      rule.pattern = pattern;
    }
    if (['gt', 'ge', 'lt', 'le'].indexOf(rule.operator) >= 0 && !isFinite(Number(rule.value))) {
      return 'rule "' + ruleText + '": ' + rule.operator + ' needs a number';
    }
    rules.push(rule);
  }
  return rules;
}

function scalarText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

function holds(rule: ClaimRule, claim: unknown): boolean {
  if (claim === undefined || claim === null) return false;
  const text = scalarText(claim);
  switch (rule.operator) {
    case 'eq':
      return text === rule.value;
    case 'ne':
      return text !== null && text !== rule.value;
    case 'in':
      return (
        text !== null &&
        rule.value
          .split(',')
          .map((v) => v.trim())
          .indexOf(text) >= 0
      );
    case 'contains':
      if (Array.isArray(claim)) {
        for (let i = 0; i < claim.length; i++) if (scalarText(claim[i]) === rule.value) return true;
        return false;
      }
      return typeof claim === 'string' && claim.split(' ').indexOf(rule.value) >= 0;
    case 'prefix':
      return text !== null && text.slice(0, rule.value.length) === rule.value;
    case 'suffix':
      return text !== null && text.length >= rule.value.length && text.slice(text.length - rule.value.length) === rule.value;
    case 'match':
      return text !== null && patternMatches(rule.pattern!, text);
    default: {
      if (typeof claim !== 'number') return false;
      const limit = Number(rule.value);
      if (rule.operator === 'gt') return claim > limit;
      if (rule.operator === 'ge') return claim >= limit;
      if (rule.operator === 'lt') return claim < limit;
      return claim <= limit;
    }
  }
}

/** The first rule the claims break, or null when all hold. A rule that throws is broken: an exception never lets a request pass. */
export function brokenRule(rules: ClaimRule[], payload: JsonObject): ClaimRule | null {
  for (let i = 0; i < rules.length; i++) {
    let ok = false;
    try {
      ok = holds(rules[i], claimAt(payload, rules[i].path));
    } catch (e) {
      ok = false;
    }
    if (!ok) return rules[i];
  }
  return null;
}
