/**
 * A request's facts to its answer, in one direction: settings -> key source
 * -> token -> verified claims (authenticate.ts) -> revocation -> anonymous
 * fallback, giving one Verdict; then `decision` adds the requirements, which
 * the adapter reads only after the verdict (they may be nginx maps on claim
 * variables). The adapter (nginx/outcome.ts) gathers the facts from the
 * request and writes what comes out; nothing here reads the request.
 * Synchronous for HMAC and every failure, a Promise only where WebCrypto is.
 */
import { authenticate, AuthPolicy, AuthResult, Verified } from './authenticate';
import { ClaimRule } from './claim-rules';
import { Decision, decide } from './decision';
import { fail, isProblem, Problem } from './errors';
import { Capabilities, Identity, KeySource } from './keys/types';
import { andThen, Maybe } from './maybe';
import { revocationProblem, RevocationFacts } from './revocation';

export interface PipelinePolicy extends AuthPolicy {
  /** '' for none: who a request runs as when its authentication fails (APISIX `anonymous_consumer`, Kong `anonymous`). */
  anonymousConsumer: string;
  claimRules: ClaimRule[];
  requireStatus: 401 | 403;
  reportOnly: boolean;
}

export interface RequestFacts extends RevocationFacts {
  policy: PipelinePolicy;
  /** Problems in the location's settings: any one makes the request CONFIG_INVALID, and nothing else is gathered. */
  settingsProblems: Problem[];
  keys: KeySource | Problem | null;
  /** '' when the request has none. */
  token: string;
  /** Different tokens in header, query argument or cookie. */
  conflicting: boolean;
  capabilities?: Capabilities;
  /** Seconds since the epoch. */
  now: number;
}

export interface Verdict {
  tokenSent: boolean;
  /** The token's verification, revocation included. */
  result: AuthResult;
  /** Who the request runs as: the verified consumer, the anonymous consumer, or nobody. */
  identity: Identity | null;
  anonymous: boolean;
  /** Logged at error. */
  configErrors: Problem[];
  /** Broken entries passed over on the way; logged at warn. */
  configWarnings: Problem[];
}

function verdict(result: AuthResult, tokenSent: boolean, configErrors: Problem[]): Verdict {
  return { tokenSent, result, identity: null, anonymous: false, configErrors, configWarnings: (result.ok ? result.skipped : result.configProblems) || [] };
}

/** Revocation, then the anonymous fallback for failed authentication (never for a config error or unavailable keys). */
function settle(facts: RequestFacts, keys: KeySource, result: AuthResult, tokenSent: boolean): Verdict {
  const settled = verdict(result, tokenSent, []);
  if (result.ok) {
    const revoked = revocationProblem(facts, result);
    if (revoked === null) {
      settled.identity = result.identity || null;
      return settled;
    }
    if (revoked.code === 'CONFIG_INVALID') {
      settled.configErrors.push(revoked);
      settled.result = fail('CONFIG_INVALID', 'revocation list unavailable');
    } else {
      settled.result = revoked;
    }
  }
  const anonymous = facts.policy.anonymousConsumer;
  const code = (settled.result as Problem).code;
  // Not for a gateway that cannot decide (a config error, an identity provider's keys not there): that is no failed authentication.
  if (anonymous && code !== 'CONFIG_INVALID' && code !== 'KEYS_UNAVAILABLE') {
    settled.anonymous = true;
    settled.identity = (keys.consumer && keys.consumer(anonymous)) || { consumer: anonymous };
  }
  return settled;
}

export function evaluate(facts: RequestFacts): Maybe<Verdict> {
  if (facts.settingsProblems.length) return verdict(fail('CONFIG_INVALID', 'gateway configuration is invalid'), false, facts.settingsProblems);
  const keys = facts.keys!;
  if (isProblem(keys)) return verdict(fail('CONFIG_INVALID', 'key source unavailable'), false, [keys]);
  if (!facts.token) return settle(facts, keys, fail('TOKEN_MISSING', 'no token in request'), false);
  if (facts.conflicting) return settle(facts, keys, fail('TOKEN_MULTIPLE', 'different tokens in header, query argument or cookie'), true);
  return andThen(authenticate(facts.token, keys, facts.policy, facts.now, facts.capabilities), (result) => settle(facts, keys, result, true));
}

/**
 * The verdict for a token verified by an earlier request (the direct style's
 * cache, core/verified-cache.ts): revocation is checked again now, so a
 * revoked token is never passed from the cache. Null when the cached result
 * cannot be used as is (a settings problem, no token, a revocation or a deny
 * list that cannot be read): the request is then evaluated in full, which
 * decides it exactly as without a cache (anonymous fallback, config errors).
 */
export function evaluateCached(facts: RequestFacts, cached: Verified): Verdict | null {
  if (facts.settingsProblems.length || !facts.token || facts.conflicting) return null;
  if (revocationProblem(facts, cached) !== null) return null;
  const settled = verdict(cached, true, []);
  settled.identity = cached.identity || null;
  return settled;
}

/** The answer, once the requirement variables ($auth_jwt_require) have been read for a verified token. */
export function decision(verdict: Verdict, policy: PipelinePolicy, requirements: { name: string; value: string }[]): Decision {
  return decide(verdict.result, verdict.anonymous, {
    claimRules: policy.claimRules,
    requirements,
    requireStatus: policy.requireStatus,
    reportOnly: policy.reportOnly,
  });
}
