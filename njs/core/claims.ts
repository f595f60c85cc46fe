/**
 * Registered claims (RFC 7519 4.1), checked only after the signature holds.
 * NumericDates must be numbers; `exp`/`nbf` are enforced when present, and any
 * claim can be made mandatory. Optional policies: allowed issuers, accepted
 * audiences, and a maximum token lifetime (Kong's `maximum_expiration`).
 */
import { fail, Problem, quote } from './errors';
import { JsonObject } from './strict-json';

export interface ClaimPolicy {
  /** Allowed clock skew in seconds, for exp and nbf. */
  leeway: number;
  /** Claims that must be present. */
  required: string[];
  /** When not empty, `iss` must be one of these. */
  issuers?: string[];
  /** When not empty, `aud` (a string or an array) must name one of these. */
  audiences?: string[];
  /** When above 0, `exp` is required and may lie at most this many seconds after now (and after `iat`). */
  maxLifetime?: number;
}

function audienceMatches(aud: unknown, accepted: string[]): boolean {
  const values = Array.isArray(aud) ? aud : [aud];
  for (let i = 0; i < values.length; i++) if (typeof values[i] === 'string' && accepted.indexOf(values[i]) >= 0) return true;
  return false;
}

function checkLifetime(payload: JsonObject, maxLifetime: number, now: number): Problem | null {
  const exp = payload.exp as number | undefined;
  if (exp === undefined) return fail('CLAIM_MISSING', 'exp is required when a maximum lifetime is set');
  if (exp - now > maxLifetime) return fail('CLAIM_INVALID', 'exp ' + exp + ' is more than ' + maxLifetime + 's after now ' + now);
  const iat = payload.iat as number | undefined;
  if (iat !== undefined && exp - iat > maxLifetime) return fail('CLAIM_INVALID', 'exp - iat is ' + (exp - iat) + 's, more than ' + maxLifetime + 's');
  return null;
}

/** NumericDates (RFC 7519 2) must be finite numbers. */
function notNumericDate(payload: JsonObject, name: string): Problem | null {
  const value = payload[name];
  if (value === undefined || (typeof value === 'number' && isFinite(value))) return null;
  return fail('CLAIM_INVALID', name + ' must be a number of seconds, got ' + quote(value));
}

export function checkClaims(payload: JsonObject, policy: ClaimPolicy, now: number): Problem | null {
  for (let i = 0; i < policy.required.length; i++) {
    if (!Object.prototype.hasOwnProperty.call(payload, policy.required[i]))
      return fail('CLAIM_MISSING', 'required claim ' + quote(policy.required[i]) + ' is missing');
  }
  const notNumeric = notNumericDate(payload, 'exp') || notNumericDate(payload, 'nbf') || notNumericDate(payload, 'iat');
  if (notNumeric) return notNumeric;
  const exp = payload.exp as number | undefined;
  if (exp !== undefined && now >= exp + policy.leeway) {
    return fail('TOKEN_EXPIRED', 'exp ' + exp + ' is not after now ' + now + ' (leeway ' + policy.leeway + 's)');
  }
  const nbf = payload.nbf as number | undefined;
  if (nbf !== undefined && nbf > now + policy.leeway) {
    return fail('TOKEN_NOT_YET_VALID', 'nbf ' + nbf + ' is after now ' + now + ' (leeway ' + policy.leeway + 's)');
  }
  if (policy.maxLifetime) {
    const tooLong = checkLifetime(payload, policy.maxLifetime, now);
    if (tooLong) return tooLong;
  }
  const issuers = policy.issuers || [];
  if (issuers.length && (typeof payload.iss !== 'string' || issuers.indexOf(payload.iss) < 0)) {
    return fail('CLAIM_INVALID', 'iss ' + quote(payload.iss) + ' is not an allowed issuer');
  }
  const audiences = policy.audiences || [];
  if (audiences.length && !audienceMatches(payload.aud, audiences)) {
    return fail('CLAIM_INVALID', 'aud ' + quote(payload.aud) + ' names none of the accepted audiences');
  }
  return null;
}
