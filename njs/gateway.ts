/**
 * What nginx calls: js_set variables and js_content handlers. A thin layer
 * between the request and the pure core; it catches everything, so any
 * unexpected exception still ends as a 401, never a 500.
 *
 * All variables of one request share one verification: the classic engine
 * runs the js_set handlers of a request in the same VM, and on QuickJS the
 * memo is keyed by the request object.
 */
import { authenticate, AuthResult } from './core/authenticate';
import { fail, Failure } from './core/errors';
import { findToken } from './nginx/request-token';
import { readSettings, Settings } from './nginx/settings';
import { keySource } from './nginx/key-sources';

interface Outcome {
  result: AuthResult;
  tokenSent: boolean;
  settings: Settings;
  /** Config problems to report at warn/error level when the decision is logged. */
  configErrors: string[];
  configWarnings: string[];
}

const LOG_PREFIX = 'jwt-gateway: ';
let memo: { request: NginxHTTPRequest; outcome: Promise<Outcome> } | null = null;

function evaluate(r: NginxHTTPRequest, isSubrequest: boolean): Promise<Outcome> {
  const read = readSettings(r);
  const settings = read.settings;
  const outcome: Outcome = { result: fail('TOKEN_MISSING', 'no token in request'), tokenSent: false, settings, configErrors: [], configWarnings: [] };
  for (let i = 0; i < read.problems.length; i++) outcome.configErrors.push(read.problems[i].variable + ': ' + read.problems[i].message);
  if (outcome.configErrors.length) {
    outcome.result = fail('CONFIG_INVALID', 'gateway configuration is invalid');
    return Promise.resolve(outcome);
  }
  const token = findToken(r, settings, isSubrequest);
  if (!token) return Promise.resolve(outcome);
  outcome.tokenSent = true;
  const source = settings.keyFile ? keySource('jwks', settings.keyFile) : keySource('consumers', settings.consumers);
  if (typeof source === 'string') {
    outcome.configErrors.push(source);
    outcome.result = fail('CONFIG_INVALID', 'key source unavailable');
    return Promise.resolve(outcome);
  }
  const policy = { maxTokenBytes: settings.maxTokenBytes, leeway: settings.leeway, requiredClaims: settings.requiredClaims, keyClaim: settings.keyClaim };
  return authenticate(token, source, policy, Math.floor(Date.now() / 1000)).then((result) => {
    outcome.result = result;
    if (result.ok) outcome.configWarnings = result.skipped;
    return outcome;
  });
}

function outcomeFor(r: NginxHTTPRequest, isSubrequest: boolean): Promise<Outcome> {
  if (memo === null || memo.request !== r) {
    let outcome: Promise<Outcome>;
    try {
      outcome = evaluate(r, isSubrequest);
    } catch (e) {
      outcome = Promise.reject(e);
    }
    memo = { request: r, outcome: outcome.then(null, (e) => unexpected(r, e)) };
  }
  return memo.outcome;
}

function unexpected(r: NginxHTTPRequest, e: unknown): Outcome {
  r.error(LOG_PREFIX + 'unexpected error, request denied: ' + String((e as { message?: string }).message || e));
  const settings = readSettings(r).settings;
  return { result: fail('INTERNAL', 'unexpected error'), tokenSent: true, settings, configErrors: [], configWarnings: [] };
}

/** Claim values as nginx variables: arrays become comma lists (as NGINX Plus does), objects JSON; control characters never reach a header. */
function claimText(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text: string;
  if (typeof value === 'string') text = value;
  else if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) parts.push(typeof value[i] === 'string' ? value[i] : JSON.stringify(value[i]));
    text = parts.join(',');
  } else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  return text.replace(/[\x00-\x1f\x7f]/g, ' ');
}

function verifiedVariable(pick: (verified: Extract<AuthResult, { ok: true }>) => unknown): (r: NginxHTTPRequest) => Promise<void> {
  return (r) =>
    outcomeFor(r, false).then((outcome) => {
      r.setReturnValue(outcome.result.ok ? claimText(pick(outcome.result)) : '');
    });
}

function claim(name: string) {
  return verifiedVariable((verified) => verified.payload[name]);
}

function header(name: string) {
  return verifiedVariable((verified) => verified.header[name]);
}

function wwwAuthenticate(outcome: Outcome): string {
  const realm = 'Bearer realm="' + outcome.settings.realm.replace(/["\\]/g, '\\$&') + '"';
  return outcome.tokenSent ? realm + ', error="invalid_token"' : realm;
}

function logDecision(r: NginxHTTPRequest, outcome: Outcome): void {
  for (let i = 0; i < outcome.configErrors.length; i++) r.error(LOG_PREFIX + 'config error: ' + outcome.configErrors[i]);
  for (let i = 0; i < outcome.configWarnings.length; i++) r.warn(LOG_PREFIX + 'config entry skipped: ' + outcome.configWarnings[i]);
  const result = outcome.result;
  if (!result.ok) r.log(LOG_PREFIX + 'rejected ' + result.status + ' ' + result.code + ': ' + result.detail);
}

/** The decision, for the rewrite-phase check in jwt-auth.conf: "" when allowed, else the status to return. */
function authStatus(r: NginxHTTPRequest): Promise<void> {
  return outcomeFor(r, false).then((outcome) => {
    logDecision(r, outcome);
    r.setReturnValue(outcome.result.ok ? '' : String(outcome.result.status));
  });
}

function rejection(outcome: Outcome): Failure | null {
  return outcome.result.ok ? null : outcome.result;
}

/** auth_request style: a js_content handler in an internal location answers 204, 401 or 403. */
function authorize(r: NginxHTTPRequest): Promise<void> {
  return outcomeFor(r, true).then((outcome) => {
    logDecision(r, outcome);
    const failure = rejection(outcome);
    if (failure) {
      r.headersOut['WWW-Authenticate'] = wwwAuthenticate(outcome);
      r.headersOut['X-Jwt-Error'] = errorBody(failure);
      r.return(failure.status);
      return;
    }
    const identity = (outcome.result.ok && outcome.result.identity) || null;
    if (identity) {
      r.headersOut['X-Consumer-Username'] = identity.consumer;
      if (identity.credential) r.headersOut['X-Credential-Identifier'] = identity.credential;
      if (identity.customId) r.headersOut['X-Consumer-Custom-Id'] = identity.customId;
    }
    r.return(204);
  });
}

function errorBody(failure: Failure): string {
  return JSON.stringify({ message: failure.message });
}

export default {
  auth_status: authStatus,
  auth_error: (r: NginxHTTPRequest) =>
    outcomeFor(r, false).then((outcome) => {
      const failure = rejection(outcome);
      r.setReturnValue(failure ? errorBody(failure) : '');
    }),
  www_authenticate: (r: NginxHTTPRequest) =>
    outcomeFor(r, false).then((outcome) => {
      r.setReturnValue(outcome.result.ok ? '' : wwwAuthenticate(outcome));
    }),
  authorize,
  claim_sub: claim('sub'),
  claim_iss: claim('iss'),
  claim_aud: claim('aud'),
  claim_exp: claim('exp'),
  claim_iat: claim('iat'),
  claim_nbf: claim('nbf'),
  claim_jti: claim('jti'),
  header_alg: header('alg'),
  header_kid: header('kid'),
  header_typ: header('typ'),
  payload: verifiedVariable((verified) => verified.payloadText),
  consumer: verifiedVariable((verified) => verified.identity && verified.identity.consumer),
  credential: verifiedVariable((verified) => verified.identity && verified.identity.credential),
  consumer_custom_id: verifiedVariable((verified) => verified.identity && verified.identity.customId),
};
