/**
 * The last step of the pipeline (pipeline.ts): from a verification result to
 * the answer: allow, allow as the anonymous consumer, or deny with 401/403.
 * Whether the request fell back to the anonymous consumer is the pipeline's
 * to say; authorization failures (claim rules, requirements) never do.
 */
import { AuthResult, Verified } from './authenticate';
import { brokenRule, ClaimRule } from './claim-rules';
import { fail, Problem } from './errors';

export interface DecisionPolicy {
  claimRules: ClaimRule[];
  /** Values of the NGINX Plus style `auth_jwt_require` variables: each must be non-empty and not "0". */
  requirements: { name: string; value: string }[];
  requireStatus: 401 | 403;
  /** $auth_jwt_mode report: a denial the token or the policy causes lets the request through, without an identity. */
  reportOnly: boolean;
}

export interface Decision {
  allow: boolean;
  /** Why the request is denied (or, reported, would be), or why it fell back to the anonymous consumer. */
  failure: Problem | null;
  anonymous: boolean;
  /** Allowed only because the location reports instead of denying: it runs as nobody. */
  wouldDeny: boolean;
}

/**
 * Denied in every mode: the gateway's own failures (a report-only location
 * cannot decide without its config, its keys or its code either), and a
 * revoked token, revocation being the way to stop one at once.
 */
const ALWAYS_DENIED: { [code: string]: boolean } = { CONFIG_INVALID: true, KEYS_UNAVAILABLE: true, INTERNAL: true, TOKEN_REVOKED: true };

/** The decision of a report-only location: a denial it may report becomes a pass. */
function reported(decision: Decision, policy: DecisionPolicy): Decision {
  if (decision.allow || !policy.reportOnly || ALWAYS_DENIED[decision.failure!.code]) return decision;
  return { allow: true, failure: decision.failure, anonymous: false, wouldDeny: true };
}

function forbidden(status: 401 | 403, code: 'CLAIM_RULE_FAILED' | 'REQUIREMENT_FAILED', detail: string): Problem {
  const failure = fail(code, detail);
  failure.status = status;
  if (status === 403) failure.message = 'JWT claims do not permit this request';
  return failure;
}

function authorizationFailure(verified: Verified, policy: DecisionPolicy): Problem | null {
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

/** `anonymous`: the pipeline let this failed authentication fall back to the anonymous consumer. */
export function decide(result: AuthResult, anonymous: boolean, policy: DecisionPolicy): Decision {
  if (result.ok) {
    const failure = authorizationFailure(result, policy);
    return reported({ allow: failure === null, failure, anonymous: false, wouldDeny: false }, policy);
  }
  return reported({ allow: anonymous, failure: result, anonymous, wouldDeny: false }, policy);
}
