/**
 * One coded problem type for the whole gateway, as jose has one coded error:
 * a plain value (Error subclasses are unreliable in njs) with a stable `code`
 * and a user-facing `message`. A request's failure carries the APISIX wording
 * clients know as `message`, its HTTP `status`, and a `detail` for the log
 * only (never secrets or signatures). A config problem (code CONFIG_INVALID)
 * says what is wrong in `message` and where in `file`, `entry` and `field`.
 */
/** How the gateway's lines in nginx's error log begin. */
export const LOG_PREFIX = 'jwt-gateway: ';

export type FailureCode =
  | 'TOKEN_MISSING'
  | 'TOKEN_MALFORMED'
  | 'TOKEN_TOO_LARGE'
  | 'KEY_CLAIM_MISSING'
  | 'CREDENTIAL_UNKNOWN'
  | 'ALG_NOT_ALLOWED'
  | 'CRIT_UNSUPPORTED'
  | 'KEY_NOT_FOUND'
  | 'KEYS_UNAVAILABLE'
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

export interface Problem {
  ok: false;
  code: FailureCode;
  message: string;
  /** For the log only; '' for config problems, whose message says it all. */
  detail: string;
  status: 401 | 403;
  /** Where a config problem is: the file (or js_preload_object), the entry in it, the field of the entry. */
  file?: string;
  entry?: string;
  field?: string;
  /** Broken config entries that played a part in a failure (a disabled credential, skipped keys); logged at warn. */
  configProblems?: Problem[];
  /**
   * 'error': the rejection needs the operator (an identity provider's keys
   * not there), logged at error instead of info; 'warning': for `check`, a
   * setting to know of that is no mistake (a report-only location).
   */
  severity?: 'error' | 'warning';
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

export function fail(code: FailureCode, detail: string): Problem {
  return { ok: false, code, status: 401, message: messageFor(code), detail };
}

/** A problem in configuration; `field` alone (a key's JWK member) is placed in its file and entry later, by `located`. */
export function configProblem(file: string | undefined, entry: string | undefined, field: string | undefined, message: string): Problem {
  return { ok: false, code: 'CONFIG_INVALID', status: 401, message, detail: '', file, entry, field };
}

/** The same problem, at an entry of a file. */
export function located(problem: Problem, file: string, entry: string): Problem {
  return configProblem(file, entry, problem.field, problem.message);
}

/** A config problem as log lines and `check` print it: `file: entry: field "name": message`, leaving out what it lacks. */
export function describeProblem(problem: Problem): string {
  let text = problem.file !== undefined ? problem.file + ': ' : '';
  if (problem.entry !== undefined) text += problem.entry + ': ';
  if (problem.field !== undefined) text += 'field "' + problem.field + '": ';
  return text + problem.message;
}

/** Config problems as one log text each. */
export function describeProblems(problems: Problem[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < problems.length; i++) out.push(describeProblem(problems[i]));
  return out;
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

export function isProblem<T>(value: T | Problem): value is Problem {
  return value !== null && typeof value === 'object' && (value as Problem).ok === false;
}
