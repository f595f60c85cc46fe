/**
 * From a verification result to the answer: allow, allow as the anonymous
 * consumer, or deny with 401/403. Authentication failures may fall back to the
 * anonymous consumer (APISIX `anonymous_consumer`, Kong `anonymous`);
 * authorization failures (claim rules, requirements) never do.
 */
import { AuthResult, Verified } from './authenticate';
import { brokenRule, ClaimRule } from './claim-rules';
import { fail, Failure } from './errors';

export interface DecisionPolicy {
  /** '' for none. */
  anonymousConsumer: string;
  claimRules: ClaimRule[];
  /** Values of the NGINX Plus style `auth_jwt_require` variables: each must be non-empty and not "0". */
  requirements: { name: string; value: string }[];
  requireStatus: 401 | 403;
}

export interface Decision {
  allow: boolean;
  /** Why the request is denied, or why it fell back to the anonymous consumer. */
  failure: Failure | null;
  anonymous: boolean;
}

function forbidden(status: 401 | 403, code: 'CLAIM_RULE_FAILED' | 'REQUIREMENT_FAILED', detail: string): Failure {
  const failure = fail(code, detail);
  failure.status = status;
  if (status === 403) failure.message = 'JWT claims do not permit this request';
  return failure;
}

function authorizationFailure(verified: Verified, policy: DecisionPolicy): Failure | null {
  const rule = brokenRule(policy.claimRules, verified.payload);
  if (rule) return forbidden(403, 'CLAIM_RULE_FAILED', 'claim rule "' + rule.text + '" does not hold');
  for (let i = 0; i < policy.requirements.length; i++) {
    const value = policy.requirements[i].value;
    if (value === '' || value === '0') {
      return forbidden(policy.requireStatus, 'REQUIREMENT_FAILED', 'required variable $' + policy.requirements[i].name + ' is ' + JSON.stringify(value));
    }
  }
  return null;
}

export function decide(result: AuthResult, policy: DecisionPolicy): Decision {
  if (result.ok) {
    const failure = authorizationFailure(result, policy);
    return { allow: failure === null, failure, anonymous: false };
  }
  if (policy.anonymousConsumer && result.code !== 'CONFIG_INVALID') return { allow: true, failure: result, anonymous: true };
  return { allow: false, failure: result, anonymous: false };
}
