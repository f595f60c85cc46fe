/**
 * One verification per request, shared by every variable that asks. The
 * adapter's half of the pipeline (core/pipeline.ts): it gathers the request's
 * facts, lets the core decide, and keeps the verdict. The classic engine runs
 * all js_set handlers of a request in one VM; on QuickJS the memo is keyed by
 * the request object. Once the verdict is known, handlers answer
 * synchronously, so a variable read from inside another (a `map` on
 * $jwt_claim_* named by $auth_jwt_require) gets its value at once.
 */
import { claimAt, claimText } from '../core/claim-path';
import { Decision } from '../core/decision';
import { configProblem, fail, isProblem, LOG_PREFIX, Problem } from '../core/errors';
import { andThen, isPromise, Maybe } from '../core/maybe';
import { decision, evaluate, evaluateCached, RequestFacts, Verdict } from '../core/pipeline';
import { engineCapabilities } from './engine';
import { injectFault } from './faults';
import { configDocument, keySourceFor } from './key-sources';
import { remoteKeysFresh } from './remote-keys';
import { findToken } from './request-token';
import { sharedZone } from './revocation';
import { readSettings, Settings } from './settings';
import { cacheLookup, CacheLookup, cacheStore } from './verified-cache';

export interface Outcome {
  settings: Settings;
  verdict: Verdict;
  /** Set on first need, after the verdict (requirements may read claim variables). */
  decision: Decision | null;
  /** $auth_jwt_claim_set variables that could not be written; logged after the verdict's config errors. */
  claimSetErrors: Problem[];
  logged: boolean;
  /** Counted in the metrics (njs/nginx/metrics.ts); apart from `logged`, which an unexpected error sets at once. */
  counted: boolean;
  /** The requirement variables are being read for the decision (they may read $jwt_consumer, which then must not ask for the decision again). */
  deciding: boolean;
  /** The direct style's cache ($jwt_cache_status): "hit", "miss" (verified, and kept when allowed), or "" when not used. */
  cache: string;
}

/** The request whose outcome is known or on its way; one per VM at a time. */
let memo: { request: NginxHTTPRequest; outcome: Outcome | null; pending: Promise<Outcome> | null } | null = null;

/**
 * What the pipeline needs to know about the request; the settings are the
 * policy (same field names): no per-request copy. The key source is left for
 * `prepare`, which a token found in the cache never needs.
 */
function gather(r: NginxHTTPRequest, isSubrequest: boolean): RequestFacts {
  FAULT: injectFault(r, 'settings');
  const read = readSettings(r);
  const settings = read.settings;
  const facts: RequestFacts = {
    policy: settings,
    settingsProblems: read.problems,
    keys: null,
    token: '',
    conflicting: false,
    revocationList: settings.revocationList,
    revocationZone: settings.revocationZone,
    openDocument: configDocument,
    openStore: sharedZone,
    now: Math.floor(Date.now() / 1000),
  };
  if (read.problems.length) return facts;
  FAULT: injectFault(r, 'token');
  const found = findToken(r, settings, isSubrequest);
  facts.token = found.token || '';
  facts.conflicting = found.conflicting;
  return facts;
}

/** The rest of a full verification's facts. */
function prepare(r: NginxHTTPRequest, facts: RequestFacts, isSubrequest: boolean): RequestFacts {
  if (facts.settingsProblems.length) return facts;
  FAULT: injectFault(r, 'keys');
  // The auth_request styles' handler may wait for the subrequests that fetch an identity provider's keys (njs 0.7.9).
  facts.keys = keySourceFor(facts.policy as Settings, facts.now, isSubrequest ? r : null);
  FAULT: injectFault(r, 'revocation');
  FAULT: injectFault(r, 'verify');
  facts.capabilities = engineCapabilities();
  return facts;
}

function evaluated(r: NginxHTTPRequest, settings: Settings, verdict: Verdict, cache: string): Outcome {
  FAULT: injectFault(r, 'verified');
  return { settings, verdict, decision: null, claimSetErrors: [], logged: false, counted: false, deciding: false, cache };
}

/** The direct style's cache, where the location names a zone: a problem (no such zone) makes the request CONFIG_INVALID. */
function lookupCache(r: NginxHTTPRequest, facts: RequestFacts, settings: Settings): CacheLookup | null {
  if (facts.settingsProblems.length) return null;
  const lookup = cacheLookup(r, settings, facts.token, facts.conflicting, facts.now);
  if (lookup === null || !isProblem(lookup)) return lookup;
  facts.settingsProblems.push(lookup);
  return null;
}

function outcomeOf(r: NginxHTTPRequest, isSubrequest: boolean): Maybe<Outcome> {
  const facts = gather(r, isSubrequest);
  const settings = facts.policy as Settings;
  // The auth_request styles' verifier (a subrequest, or the cached style's server) has a cache of its own or none.
  const cache = isSubrequest ? null : lookupCache(r, facts, settings);
  // Identity providers' keys past their maximum stale age refuse cached tokens too: those are verified in full.
  if (cache !== null && cache.hit !== null && (settings.providers.length === 0 || remoteKeysFresh(settings, facts.now))) {
    FAULT: injectFault(r, 'revocation');
    const verdict = evaluateCached(facts, cache.hit);
    if (verdict !== null) return evaluated(r, settings, verdict, 'hit');
  }
  return andThen(evaluate(prepare(r, facts, isSubrequest)), (verdict) => {
    if (cache !== null && verdict.result.ok && !verdict.anonymous) cacheStore(r, cache, verdict.result, facts.now, settings.cacheMaxAge);
    return evaluated(r, settings, verdict, cache !== null ? 'miss' : '');
  });
}

/** $auth_jwt_claim_set: verified claims into the config's js_var variables, before any decision reads them. */
function writeClaimVariables(r: NginxHTTPRequest, outcome: Outcome): Outcome {
  FAULT: injectFault(r, 'claim-variables');
  const claimSet = outcome.settings.claimSet;
  const result = outcome.verdict.result;
  for (let i = 0; i < claimSet.length; i++) {
    const value = result.ok ? claimText(claimAt(result.payload, claimSet[i].path)) : '';
    try {
      r.variables[claimSet[i].variable] = value;
    } catch (e) {
      outcome.claimSetErrors.push(
        configProblem(undefined, '$auth_jwt_claim_set', undefined, 'cannot write $' + claimSet[i].variable + ' (declare it with js_var)'),
      );
    }
  }
  return outcome;
}

/** A request a report-only location lets through carries no claims: the $auth_jwt_claim_set variables written before the decision are emptied. */
function clearClaimVariables(r: NginxHTTPRequest, outcome: Outcome): void {
  const claimSet = outcome.settings.claimSet;
  for (let i = 0; i < claimSet.length; i++) {
    try {
      r.variables[claimSet[i].variable] = '';
    } catch (e) {
      // not writable: writeClaimVariables has reported it, and wrote nothing there
    }
  }
}

/**
 * Whether the request runs as nobody although the verdict has an identity
 * and claims: a report-only location lets through what it would deny. Not
 * asked while the decision reads its requirements, which may read the
 * identity (`map $jwt_consumer ...`) as in enforce mode.
 */
export function reportedAsNobody(r: NginxHTTPRequest, outcome: Outcome): boolean {
  return outcome.settings.reportOnly && !outcome.deciding && decisionFor(r, outcome).wouldDeny;
}

/** Logs an exception the gateway caught, with what became of the request. */
export function logUnexpected(r: NginxHTTPRequest, e: unknown, consequence: string): void {
  r.error(LOG_PREFIX + 'unexpected error, ' + consequence + ': ' + String((e as { message?: string }).message || e));
}

function unexpected(r: NginxHTTPRequest, e: unknown): Outcome {
  logUnexpected(r, e, 'request denied');
  const verdict: Verdict = {
    tokenSent: true,
    result: fail('INTERNAL', 'unexpected error'),
    identity: null,
    anonymous: false,
    configErrors: [],
    configWarnings: [],
  };
  return { settings: readSettings(r).settings, verdict, decision: null, claimSetErrors: [], logged: true, counted: false, deciding: false, cache: '' };
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
  let found: Maybe<Outcome>;
  try {
    found = outcomeOf(r, isSubrequest);
  } catch (e) {
    found = unexpected(r, e);
  }
  if (!isPromise(found)) return use(ready(found));
  entry.pending = found.then(ready, (e) => ready(unexpected(r, e)));
  return entry.pending.then(use);
}

/** The answer for this request; requirement variables are read only now, after the verdict and the claim variables. */
export function decisionFor(r: NginxHTTPRequest, outcome: Outcome): Decision {
  if (outcome.decision === null) {
    FAULT: injectFault(r, 'decision');
    const settings = outcome.settings;
    const requirements: { name: string; value: string }[] = [];
    outcome.deciding = true;
    try {
      if (outcome.verdict.result.ok) {
        for (let i = 0; i < settings.require.length; i++) {
          const value = r.variables[settings.require[i]];
          requirements.push({ name: settings.require[i], value: value === undefined ? '' : value });
        }
      }
    } finally {
      outcome.deciding = false;
    }
    outcome.decision = decision(outcome.verdict, settings, requirements);
    if (outcome.decision.wouldDeny) clearClaimVariables(r, outcome);
  }
  return outcome.decision;
}
