/**
 * One verification per request, shared by every variable that asks. The
 * classic engine runs all js_set handlers of a request in one VM; on QuickJS
 * the memo is keyed by the request object. Once the result is known, handlers
 * answer synchronously, so a variable read from inside another (a `map` on
 * $jwt_claim_* named by $auth_jwt_require) gets its value at once.
 */
import { authenticate, AuthResult } from '../core/authenticate';
import { Decision, decide } from '../core/decision';
import { fail, Failure } from '../core/errors';
import { claimAt, claimText } from '../core/claim-path';
import { Identity, KeySource } from '../core/keys/types';
import { andThen, isPromise, Maybe } from '../core/maybe';
import { engineCapabilities } from './engine';
import { injectFault } from './faults';
import { keySource } from './key-sources';
import { findToken } from './request-token';
import { revocation } from './revocation';
import { readSettings, Settings } from './settings';

export interface Outcome {
  settings: Settings;
  tokenSent: boolean;
  /** The token's verification, revocation included. */
  result: AuthResult;
  /** Who the request runs as: the verified consumer, the anonymous consumer, or nobody. */
  identity: Identity | null;
  anonymous: boolean;
  /** Set on first need, after `result` (requirements may read claim variables). */
  decision: Decision | null;
  configErrors: string[];
  configWarnings: string[];
  logged: boolean;
}

export const LOG_PREFIX = 'jwt-gateway: ';

/** The request whose outcome is known or on its way; one per VM at a time. */
let memo: { request: NginxHTTPRequest; outcome: Outcome | null; pending: Promise<Outcome> | null } | null = null;

function newOutcome(settings: Settings, result: AuthResult): Outcome {
  return { settings, tokenSent: false, result, identity: null, anonymous: false, decision: null, configErrors: [], configWarnings: [], logged: false };
}

function source(settings: Settings): KeySource | string {
  return settings.keyFile ? keySource('jwks', settings.keyFile) : keySource('consumers', settings.consumers);
}

function settle(r: NginxHTTPRequest, outcome: Outcome, keys: KeySource | null): Outcome {
  FAULT: injectFault(r, 'revocation');
  const result = outcome.result;
  outcome.configWarnings = (result.ok ? result.skipped : result.configProblems) || [];
  if (result.ok) {
    const revoked = revocation(outcome.settings, result);
    if ('error' in revoked) {
      outcome.configErrors.push(revoked.error);
      outcome.result = fail('CONFIG_INVALID', 'revocation list unavailable');
    } else if (revoked.revoked) {
      outcome.result = fail('TOKEN_REVOKED', revoked.revoked);
    } else {
      outcome.identity = result.identity || null;
      return outcome;
    }
  }
  const anonymous = outcome.settings.anonymousConsumer;
  if (anonymous && (outcome.result as Failure).code !== 'CONFIG_INVALID') {
    outcome.anonymous = true;
    outcome.identity = (keys && keys.consumer && keys.consumer(anonymous)) || { consumer: anonymous };
  }
  return outcome;
}

function evaluate(r: NginxHTTPRequest, isSubrequest: boolean): Maybe<Outcome> {
  FAULT: injectFault(r, 'settings');
  const read = readSettings(r);
  const outcome = newOutcome(read.settings, fail('TOKEN_MISSING', 'no token in request'));
  for (let i = 0; i < read.problems.length; i++) outcome.configErrors.push(read.problems[i].variable + ': ' + read.problems[i].message);
  if (outcome.configErrors.length) {
    outcome.result = fail('CONFIG_INVALID', 'gateway configuration is invalid');
    return outcome;
  }
  FAULT: injectFault(r, 'keys');
  const keys = source(read.settings);
  if (typeof keys === 'string') {
    outcome.configErrors.push(keys);
    outcome.result = fail('CONFIG_INVALID', 'key source unavailable');
    return outcome;
  }
  FAULT: injectFault(r, 'token');
  const found = findToken(r, read.settings, isSubrequest);
  if (!found.token) return settle(r, outcome, keys);
  outcome.tokenSent = true;
  if (found.conflicting) {
    outcome.result = fail('TOKEN_MULTIPLE', 'different tokens in header, query argument or cookie');
    return settle(r, outcome, keys);
  }
  FAULT: injectFault(r, 'verify');
  // The settings are the policy (same field names): no per-request copy.
  return andThen(authenticate(found.token, keys, read.settings, Math.floor(Date.now() / 1000), engineCapabilities()), (result) => {
    FAULT: injectFault(r, 'verified');
    outcome.result = result;
    return settle(r, outcome, keys);
  });
}

/** $auth_jwt_claim_set: verified claims into the config's js_var variables, before any decision reads them. */
function writeClaimVariables(r: NginxHTTPRequest, outcome: Outcome): Outcome {
  FAULT: injectFault(r, 'claim-variables');
  const claimSet = outcome.settings.claimSet;
  for (let i = 0; i < claimSet.length; i++) {
    const value = outcome.result.ok ? claimText(claimAt(outcome.result.payload, claimSet[i].path)) : '';
    try {
      r.variables[claimSet[i].variable] = value;
    } catch (e) {
      outcome.configErrors.push('$auth_jwt_claim_set: cannot write $' + claimSet[i].variable + ' (declare it with js_var)');
    }
  }
  return outcome;
}

/** Logs an exception the gateway caught, with what became of the request. */
export function logUnexpected(r: NginxHTTPRequest, e: unknown, consequence: string): void {
  r.error(LOG_PREFIX + 'unexpected error, ' + consequence + ': ' + String((e as { message?: string }).message || e));
}

function unexpected(r: NginxHTTPRequest, e: unknown): Outcome {
  logUnexpected(r, e, 'request denied');
  const outcome = newOutcome(readSettings(r).settings, fail('INTERNAL', 'unexpected error'));
  outcome.tokenSent = true;
  outcome.logged = true;
  return outcome;
}

/** The request's outcome if it is already known: lets a handler answer without making a callback. */
export function knownOutcome(r: NginxHTTPRequest): Outcome | null {
  return memo !== null && memo.request === r ? memo.outcome : null;
}

/** Calls `use` with the request's outcome: at once when it is known, else when verification ends. */
export function withOutcome<T>(r: NginxHTTPRequest, isSubrequest: boolean, use: (outcome: Outcome) => T): Maybe<T> {
  if (memo !== null && memo.request === r) {
    if (memo.outcome) return use(memo.outcome);
    return memo.pending!.then(use);
  }
  const entry: { request: NginxHTTPRequest; outcome: Outcome | null; pending: Promise<Outcome> | null } = { request: r, outcome: null, pending: null };
  memo = entry;
  const ready = (outcome: Outcome): Outcome => {
    try {
      entry.outcome = writeClaimVariables(r, outcome);
    } catch (e) {
      entry.outcome = unexpected(r, e);
    }
    return entry.outcome;
  };
  let evaluated: Maybe<Outcome>;
  try {
    evaluated = evaluate(r, isSubrequest);
  } catch (e) {
    evaluated = unexpected(r, e);
  }
  if (!isPromise(evaluated)) return use(ready(evaluated));
  entry.pending = evaluated.then(ready, (e) => ready(unexpected(r, e)));
  return entry.pending.then(use);
}

/** The answer for this request; requirement variables are read only now, after verification. */
export function decisionFor(r: NginxHTTPRequest, outcome: Outcome): Decision {
  if (outcome.decision === null) {
    FAULT: injectFault(r, 'decision');
    const settings = outcome.settings;
    const requirements: { name: string; value: string }[] = [];
    if (outcome.result.ok) {
      for (let i = 0; i < settings.require.length; i++) {
        const value = r.variables[settings.require[i]];
        requirements.push({ name: settings.require[i], value: value === undefined ? '' : value });
      }
    }
    outcome.decision = decide(outcome.result, {
      anonymousConsumer: outcome.anonymous ? settings.anonymousConsumer : '',
      claimRules: settings.claimRules,
      requirements,
      requireStatus: settings.requireStatus,
    });
  }
  return outcome.decision;
}
