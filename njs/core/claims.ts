/**
 * Registered time claims (RFC 7519 4.1.4-4.1.6), checked only after the
 * signature holds. NumericDates must be numbers; `exp`/`nbf` are enforced when
 * present, and any claim can be made mandatory.
 */
import { fail, Failure, quote } from './errors';
import { JsonObject } from './strict-json';

export interface ClaimPolicy {
  /** Allowed clock skew in seconds, for exp and nbf. */
  leeway: number;
  /** Claims that must be present. */
  required: string[];
}

const NUMERIC_DATES = ['exp', 'nbf', 'iat'];

export function checkClaims(payload: JsonObject, policy: ClaimPolicy, now: number): Failure | null {
  for (let i = 0; i < policy.required.length; i++) {
    if (payload[policy.required[i]] === undefined) return fail('CLAIM_MISSING', 'required claim ' + quote(policy.required[i]) + ' is missing');
  }
  for (let i = 0; i < NUMERIC_DATES.length; i++) {
    const value = payload[NUMERIC_DATES[i]];
    if (value !== undefined && (typeof value !== 'number' || !isFinite(value))) {
      return fail('CLAIM_INVALID', NUMERIC_DATES[i] + ' must be a number of seconds, got ' + quote(value));
    }
  }
  const exp = payload.exp as number | undefined;
  if (exp !== undefined && now >= exp + policy.leeway) {
    return fail('TOKEN_EXPIRED', 'exp ' + exp + ' is not after now ' + now + ' (leeway ' + policy.leeway + 's)');
  }
  const nbf = payload.nbf as number | undefined;
  if (nbf !== undefined && nbf > now + policy.leeway) {
    return fail('TOKEN_NOT_YET_VALID', 'nbf ' + nbf + ' is after now ' + now + ' (leeway ' + policy.leeway + 's)');
  }
  return null;
}
