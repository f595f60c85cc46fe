/**
 * Failures are plain values with a stable code (Error subclasses are unreliable
 * in njs). `message` is what the client sees (the APISIX wording users know);
 * `detail` is for the log only and never holds secrets or signatures.
 */
export type FailureCode =
  | 'TOKEN_MISSING'
  | 'TOKEN_MALFORMED'
  | 'TOKEN_TOO_LARGE'
  | 'KEY_CLAIM_MISSING'
  | 'CREDENTIAL_UNKNOWN'
  | 'ALG_NOT_ALLOWED'
  | 'CRIT_UNSUPPORTED'
  | 'KEY_NOT_FOUND'
  | 'SIGNATURE_INVALID'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'CLAIM_MISSING'
  | 'CLAIM_INVALID'
  | 'TOKEN_MULTIPLE'
  | 'TOKEN_REVOKED'
  | 'CLAIM_RULE_FAILED'
  | 'REQUIREMENT_FAILED'
  | 'CONFIG_INVALID'
  | 'INTERNAL';

export interface Failure {
  ok: false;
  code: FailureCode;
  status: 401 | 403;
  message: string;
  detail: string;
  /** Broken config entries that played a part (a disabled credential, skipped keys); logged at warn. */
  configProblems?: string[];
}

/** The client-facing text of a code (a function, not a table: module top-level objects cost per request in njs). */
function messageFor(code: FailureCode): string {
  if (code === 'TOKEN_MISSING') return 'Missing JWT token in request';
  if (code === 'TOKEN_MALFORMED' || code === 'TOKEN_TOO_LARGE') return 'JWT token invalid';
  if (code === 'KEY_CLAIM_MISSING') return 'missing user key in JWT token';
  if (code === 'CREDENTIAL_UNKNOWN') return 'Invalid user key in JWT token';
  if (code === 'TOKEN_MULTIPLE') return 'Multiple tokens provided';
  return 'failed to verify jwt';
}

export function fail(code: FailureCode, detail: string): Failure {
  return { ok: false, code, status: 401, message: messageFor(code), detail };
}

/**
 * Token-derived text in log lines: bounded and printable, so a hostile token
 * cannot flood or forge log lines. A character loop, not a global regex
 * (those can hang njs 0.7.9 on non-ASCII text).
 */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const clipped = text === undefined ? 'undefined' : text.length > 64 ? text.slice(0, 64) + '...' : text;
  let out = '';
  for (let i = 0; i < clipped.length; i++) {
    const c = clipped.charCodeAt(i);
    out += c < 0x20 || c > 0x7e || c === 34 || c === 92 ? '?' : clipped.charAt(i);
  }
  return '"' + out + '"';
}

export function isFailure<T>(value: T | Failure): value is Failure {
  return (value as Failure).ok === false;
}
