/**
 * What nginx calls: js_set variables and js_content handlers. A thin layer
 * between the request and the pure core; it catches everything, so any
 * unexpected exception still ends as a 401, never a 500.
 */
import { cacheUntil } from './core/cache-lifetime';
import { claimText } from './core/claim-path';
import { describeProblem, LOG_PREFIX, Problem } from './core/errors';
import { Identity } from './core/keys/types';
import { decisionFor, knownOutcome, logUnexpected, Outcome, reportedAsNobody, withOutcome } from './nginx/outcome';
import { hideValue, upstreamArgs, upstreamAuthorization, upstreamCookie, upstreamValue } from './nginx/request-token';
import { injectFault } from './nginx/faults';
import { workerGeneration } from './nginx/generation';
import { countDecision, metrics } from './nginx/metrics';
import { refreshKeys } from './nginx/remote-keys';
import { sharedZone } from './nginx/revocation';

type Answer = Promise<string> | string;

/**
 * The value of a js_set variable, given to nginx both ways: njs 0.7.9 takes
 * what setReturnValue() set, njs >= 0.9.5 (and Debian's 0.8.9) takes the
 * handler's return value (or its promise's result) and would make the
 * variable empty without it.
 */
function give(r: NginxHTTPRequest, value: string): string {
  FAULT: injectFault(r, 'answer');
  r.setReturnValue(value);
  return value;
}

/**
 * Answers a js_set variable from the request's outcome. The handlers below
 * are plain function declarations: njs rebuilds the module's top level for
 * every request, and closures made there by factories cost several times more.
 */
function answer(r: NginxHTTPRequest, value: (outcome: Outcome) => string): Answer {
  const known = knownOutcome(r);
  if (known) return give(r, valueOf(r, known, value));
  return withOutcome(r, false, (outcome) => give(r, valueOf(r, outcome, value)));
}

/** An exception while computing a value is logged and leaves it empty: $jwt_auth_status then denies. */
function valueOf(r: NginxHTTPRequest, outcome: Outcome, value: (outcome: Outcome) => string): string {
  try {
    return value(outcome);
  } catch (e) {
    logUnexpected(r, e, 'request denied');
    return '';
  }
}

/** A member of the verified token's payload or header (or the payload's text, for `payloadText`), as text; '' when the token did not verify. */
function verifiedValue(r: NginxHTTPRequest, part: 'payload' | 'header' | 'payloadText', name: string): Answer {
  return answer(r, (outcome) => {
    const result = outcome.verdict.result;
    if (!result.ok || reportedAsNobody(r, outcome)) return '';
    return claimText(part === 'payloadText' ? result.payloadText : result[part][name]);
  });
}

/** RFC 6750 3: no error code without a token; invalid_token for 401, insufficient_scope for 403. */
function wwwAuthenticate(outcome: Outcome, failure: Problem): string {
  const realm = 'Bearer realm="' + outcome.settings.realm.split('\\').join('\\\\').split('"').join('\\"') + '"';
  if (failure.status === 403) return realm + ', error="insufficient_scope"';
  return outcome.verdict.tokenSent ? realm + ', error="invalid_token"' : realm;
}

function errorBody(failure: Problem): string {
  return JSON.stringify({ message: failure.message });
}

/** The failure the client is told about, or null when the request may pass. */
function rejection(r: NginxHTTPRequest, outcome: Outcome): Problem | null {
  const decision = decisionFor(r, outcome);
  return decision.allow ? null : decision.failure;
}

/** Why the request was denied (or, reported, would be), or passed as the anonymous consumer; null for one plainly allowed. */
function reasonOf(r: NginxHTTPRequest, outcome: Outcome): Problem | null {
  const decision = decisionFor(r, outcome);
  return decision.allow && !decision.anonymous && !decision.wouldDeny ? null : decision.failure;
}

/** Who the request runs as: nobody when a report-only location lets through what it would deny. */
function identityOf(r: NginxHTTPRequest, outcome: Outcome): Identity | null {
  return reportedAsNobody(r, outcome) ? null : outcome.verdict.identity;
}

/** Logs and counts the decision once per request. */
function conclude(r: NginxHTTPRequest, outcome: Outcome, style: 'direct' | 'auth_request'): Problem | null {
  const failure = rejection(r, outcome);
  if (!outcome.counted) {
    outcome.counted = true;
    countDecision(outcome, decisionFor(r, outcome), style);
  }
  if (outcome.logged) return failure;
  outcome.logged = true;
  const verdict = outcome.verdict;
  for (let i = 0; i < verdict.configErrors.length; i++) r.error(LOG_PREFIX + 'config error: ' + describeProblem(verdict.configErrors[i]));
  for (let i = 0; i < outcome.claimSetErrors.length; i++) r.error(LOG_PREFIX + 'config error: ' + describeProblem(outcome.claimSetErrors[i]));
  for (let i = 0; i < verdict.configWarnings.length; i++) r.warn(LOG_PREFIX + 'config entry skipped: ' + describeProblem(verdict.configWarnings[i]));
  const reason = reasonOf(r, outcome);
  if (!reason) return failure;
  const verb = failure ? 'rejected ' + failure.status : decisionFor(r, outcome).wouldDeny ? 'would deny ' + reason.status : 'anonymous';
  const line = LOG_PREFIX + verb + ' ' + reason.code + ': ' + reason.detail;
  if (reason.severity === 'error') r.error(line);
  else r.log(line);
  return failure;
}

/**
 * The decision, for the rewrite-phase check in jwt-auth.conf: "200" when the
 * request may pass, else the status to return. The snippets pass only on
 * "200", so an empty variable (a handler that failed) is a denial.
 */
function auth_status(r: NginxHTTPRequest): Answer {
  return answer(r, (outcome) => {
    const failure = conclude(r, outcome, 'direct');
    if (failure) return String(failure.status);
    writeUpstreamIdentity(r, outcome);
    return '200';
  });
}

/**
 * jwt-proxy-headers.conf's identity (js_var variables, empty unless written):
 * who an allowed request runs as. Written once, by the decision, instead of
 * four js_set variables that would each enter the VM again.
 */
function writeUpstreamIdentity(r: NginxHTTPRequest, outcome: Outcome): void {
  const identity = identityOf(r, outcome);
  if (!identity) return;
  const v = r.variables;
  if (outcome.verdict.anonymous) v.jwt_upstream_anonymous = 'true';
  v.jwt_upstream_consumer = identity.consumer;
  if (identity.credential) v.jwt_upstream_credential = identity.credential;
  if (identity.customId) v.jwt_upstream_custom_id = identity.customId;
}

/** The stable code of why the request was denied or passed as the anonymous consumer ('' when allowed), for log_format. */
function auth_reason(r: NginxHTTPRequest): Answer {
  return answer(r, (outcome) => {
    const reason = reasonOf(r, outcome);
    return reason ? reason.code : '';
  });
}

function auth_error(r: NginxHTTPRequest): Answer {
  return answer(r, (outcome) => {
    const failure = rejection(r, outcome);
    return failure ? errorBody(failure) : '';
  });
}

function www_authenticate(r: NginxHTTPRequest): Answer {
  return answer(r, (outcome) => {
    const failure = rejection(r, outcome);
    return failure ? wwwAuthenticate(outcome, failure) : '';
  });
}

/** X-Accel-Expires for the cached auth_request style: how long nginx may reuse this answer for the same token; `reason` null for a request plainly allowed. */
function cacheLifetime(outcome: Outcome, reason: Problem | null): string {
  const settings = outcome.settings;
  const result = outcome.verdict.result;
  return cacheUntil({
    allowed: reason === null && !outcome.verdict.anonymous && result.ok,
    exp: result.ok ? result.payload.exp : undefined,
    maxAge: settings.cacheMaxAge,
    keyCoversDecision: settings.header.toLowerCase() === 'authorization' && !settings.revocationZone,
    now: Math.floor(Date.now() / 1000),
  });
}

/**
 * auth_request style: a js_content handler answers 204, 401 or 403, either in
 * an internal location or, for the cached style, as the verifier behind
 * proxy_cache (then X-Accel-Expires says how long the answer may be reused).
 */
function authorize(r: NginxHTTPRequest): Promise<void> | void {
  return withOutcome(r, true, (outcome) => {
    FAULT: injectFault(r, 'authorize');
    const failure = conclude(r, outcome, 'auth_request');
    const reason = reasonOf(r, outcome);
    // Only a request plainly allowed is cached: never an anonymous one, nor one a report-only location lets through.
    r.headersOut['X-Accel-Expires'] = cacheLifetime(outcome, reason);
    if (reason) r.headersOut['X-Jwt-Reason'] = reason.code;
    if (failure) {
      // Not WWW-Authenticate itself: auth_request copies that one from a proxied answer, and the error page adds its own.
      r.headersOut['X-Jwt-Www-Authenticate'] = wwwAuthenticate(outcome, failure);
      r.headersOut['X-Jwt-Error'] = errorBody(failure);
      r.return(failure.status);
      return;
    }
    const identity = identityOf(r, outcome);
    if (identity) {
      r.headersOut['X-Consumer-Username'] = identity.consumer;
      if (identity.credential) r.headersOut['X-Credential-Identifier'] = identity.credential;
      if (identity.customId) r.headersOut['X-Consumer-Custom-Id'] = identity.customId;
      if (outcome.verdict.anonymous) r.headersOut['X-Anonymous-Consumer'] = 'true';
    }
    r.return(204);
  });
}

function cache_generation(r: NginxHTTPRequest): string {
  return give(r, workerGeneration());
}

/** The value of the $auth_jwt_header header, which the cached style hands to its verifier as Authorization. */
function token_header(r: NginxHTTPRequest): string {
  const value = r.headersIn[r.variables.auth_jwt_header || 'authorization'];
  return give(r, value === undefined ? '' : String(value));
}

/**
 * Adds revocations at run time (njs >= 0.8.0 with `js_shared_dict_zone`):
 * POST {"jti": "..."} (or "sub", "kid"), optional "ttl" seconds. Protect the
 * location that runs it (allow/deny, internal network only).
 */
function revoke(r: NginxHTTPRequest): void {
  const zone = sharedZone(r.variables.auth_jwt_revocation_zone || '');
  if (!zone) {
    r.return(501, JSON.stringify({ message: 'run-time revocation needs njs >= 0.8.0 and $auth_jwt_revocation_zone naming a js_shared_dict_zone' }) + '\n');
    return;
  }
  let entry: { [name: string]: unknown };
  try {
    entry = JSON.parse(r.requestText || '');
  } catch (e) {
    r.return(400, JSON.stringify({ message: 'body must be JSON like {"jti":"..."}' }) + '\n');
    return;
  }
  const names = ['jti', 'sub', 'kid'];
  let added = 0;
  for (let i = 0; i < names.length; i++) {
    const value = entry[names[i]];
    if (typeof value !== 'string' || value === '') continue;
    const ttl = typeof entry.ttl === 'number' && entry.ttl > 0 ? entry.ttl * 1000 : undefined;
    zone.set(names[i] + ':' + value, 'revoked', ttl);
    added++;
  }
  r.return(added ? 200 : 400, JSON.stringify({ message: added ? 'revoked' : 'nothing to revoke: give jti, sub or kid' }) + '\n');
}

function claim_sub(r: NginxHTTPRequest): Answer {
  return verifiedValue(r, 'payload', 'sub');
}
function claim_iss(r: NginxHTTPRequest): Answer {
  return verifiedValue(r, 'payload', 'iss');
}
function claim_aud(r: NginxHTTPRequest): Answer {
  return verifiedValue(r, 'payload', 'aud');
}
function claim_exp(r: NginxHTTPRequest): Answer {
  return verifiedValue(r, 'payload', 'exp');
}
function claim_iat(r: NginxHTTPRequest): Answer {
  return verifiedValue(r, 'payload', 'iat');
}
function claim_nbf(r: NginxHTTPRequest): Answer {
  return verifiedValue(r, 'payload', 'nbf');
}
function claim_jti(r: NginxHTTPRequest): Answer {
  return verifiedValue(r, 'payload', 'jti');
}
function header_alg(r: NginxHTTPRequest): Answer {
  return verifiedValue(r, 'header', 'alg');
}
function header_kid(r: NginxHTTPRequest): Answer {
  return verifiedValue(r, 'header', 'kid');
}
function header_typ(r: NginxHTTPRequest): Answer {
  return verifiedValue(r, 'header', 'typ');
}
function payload(r: NginxHTTPRequest): Answer {
  return verifiedValue(r, 'payloadText', '');
}
function consumerOf(identity: Identity | null): string {
  return identity ? identity.consumer : '';
}
function credentialOf(identity: Identity | null): string {
  return (identity && identity.credential) || '';
}
function customIdOf(identity: Identity | null): string {
  return (identity && identity.customId) || '';
}
function consumer(r: NginxHTTPRequest): Answer {
  return answer(r, (outcome) => consumerOf(identityOf(r, outcome)));
}
function credential(r: NginxHTTPRequest): Answer {
  return answer(r, (outcome) => credentialOf(identityOf(r, outcome)));
}
function consumer_custom_id(r: NginxHTTPRequest): Answer {
  return answer(r, (outcome) => customIdOf(identityOf(r, outcome)));
}
/** The direct style's cache: "hit", "miss", or "" where the location has no `$auth_jwt_cache_zone` (or does not use it for this request). */
function cache_status(r: NginxHTTPRequest): Answer {
  return answer(r, (outcome) => outcome.cache);
}
function anonymous(r: NginxHTTPRequest): Answer {
  return answer(r, (outcome) => (outcome.verdict.anonymous ? 'true' : ''));
}
/*
 * What reaches the upstream (hide_credentials): from the settings and the
 * request alone, never running verification, so the auth_request styles can
 * read them in the main request (whose verification is a subrequest's).
 */
function hide_credentials(r: NginxHTTPRequest): string {
  return give(r, upstreamValue(r, hideValue, '1'));
}
function upstream_authorization(r: NginxHTTPRequest): string {
  return give(r, upstreamValue(r, upstreamAuthorization, ''));
}
function upstream_args(r: NginxHTTPRequest): string {
  return give(r, upstreamValue(r, upstreamArgs, ''));
}
function upstream_cookie(r: NginxHTTPRequest): string {
  return give(r, upstreamValue(r, upstreamCookie, ''));
}

export default {
  auth_status,
  auth_error,
  auth_reason,
  www_authenticate,
  authorize,
  revoke,
  claim_sub,
  claim_iss,
  claim_aud,
  claim_exp,
  claim_iat,
  claim_nbf,
  claim_jti,
  header_alg,
  header_kid,
  header_typ,
  payload,
  consumer,
  credential,
  consumer_custom_id,
  anonymous,
  cache_status,
  hide_credentials,
  upstream_authorization,
  upstream_args,
  upstream_cookie,
  token_header,
  cache_generation,
  /** js_content: the counters in the Prometheus text format (njs >= 0.8.0, `js_shared_dict_zone zone=jwt_metrics:1m type=number;`). */
  metrics,
  /** js_periodic (nginx/jwt-jwks-refresh.conf): fetches the identity providers' keys into the shared zone. */
  refresh_keys: refreshKeys,
};
