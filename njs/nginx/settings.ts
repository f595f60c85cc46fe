/**
 * Per-location settings, read from nginx variables that the config sets with
 * `set $auth_jwt_<name> value;` (names follow NGINX Plus auth_jwt_* and the
 * APISIX/Kong plugin fields). One typed accessor with the defaults, so nothing
 * else reads r.variables for them.
 */
import { ClaimRule, parseClaimRules } from '../core/claim-rules';
import { DEFAULT_MAX_TOKEN_BYTES } from '../core/token';

export interface Settings {
  /** JWK Set: a js_preload_object name or a file path. */
  keyFile: string;
  /** Consumer map: a js_preload_object name or a file path. */
  consumers: string;
  realm: string;
  leeway: number;
  header: string;
  query: string;
  cookie: string;
  keyClaim: string;
  maxTokenBytes: number;
  requiredClaims: string[];
  issuers: string[];
  audiences: string[];
  maxLifetime: number;
  hideCredentials: boolean;
  rejectMultipleTokens: boolean;
  anonymousConsumer: string;
  claimRules: ClaimRule[];
  /** Names of variables that must all be non-empty and not "0" (NGINX Plus auth_jwt_require). */
  require: string[];
  requireStatus: 401 | 403;
  /** `variable=claim.path` pairs written into js_var variables after verification. */
  claimSet: { variable: string; path: string }[];
  revocationList: string;
  revocationZone: string;
}

export interface SettingsProblem {
  variable: string;
  message: string;
}

/**
 * Helpers take the variable's value (read with a literal property name: a
 * computed name costs njs a string concatenation per setting and request)
 * and its name, used only in messages.
 */
function text(value: string | undefined, fallback: string): string {
  return value === undefined || value === '' ? fallback : value;
}

/** A space- or comma-separated list. String splits only: a regex split costs 5-30 us in njs. */
function words(value: string | undefined): string[] {
  if (!value) return [];
  const out: string[] = [];
  const parts = value.split(',').join(' ').split(' ');
  for (let i = 0; i < parts.length; i++) {
    const word = parts[i].trim();
    if (word !== '') out.push(word);
  }
  return out;
}

function wholeNumber(value: string | undefined, name: string, fallback: number, problems: SettingsProblem[]): number {
  if (!value) return fallback;
  if (!/^[0-9]{1,9}$/.test(value)) {
    problems.push({ variable: '$auth_jwt_' + name, message: 'must be a whole number, got ' + JSON.stringify(value) });
    return fallback;
  }
  return Number(value);
}

function flag(value: string | undefined, name: string, fallback: boolean, problems: SettingsProblem[]): boolean {
  if (!value) return fallback;
  if (value !== 'on' && value !== 'off') problems.push({ variable: '$auth_jwt_' + name, message: 'must be on or off, got ' + JSON.stringify(value) });
  return value === 'on';
}

function claimSet(value: string | undefined, problems: SettingsProblem[]): { variable: string; path: string }[] {
  const out: { variable: string; path: string }[] = [];
  const pairs = words(value);
  for (let i = 0; i < pairs.length; i++) {
    const match = /^\$?([A-Za-z0-9_]+)=(.+)$/.exec(pairs[i]);
    if (match) out.push({ variable: match[1], path: match[2] });
    else problems.push({ variable: '$auth_jwt_claim_set', message: 'expected variable=claim.path, got ' + JSON.stringify(pairs[i]) });
  }
  return out;
}

export function readSettings(r: NginxHTTPRequest): { settings: Settings; problems: SettingsProblem[] } {
  const v = r.variables;
  const problems: SettingsProblem[] = [];
  const ruleText = v.auth_jwt_claim_rules;
  const rules = ruleText ? parseClaimRules(ruleText) : [];
  if (typeof rules === 'string') problems.push({ variable: '$auth_jwt_claim_rules', message: rules });
  const requireStatus = text(v.auth_jwt_require_error, '401');
  if (requireStatus !== '401' && requireStatus !== '403') problems.push({ variable: '$auth_jwt_require_error', message: 'must be 401 or 403' });
  const settings: Settings = {
    keyFile: text(v.auth_jwt_key_file, ''),
    consumers: text(v.auth_jwt_consumers, ''),
    realm: text(v.auth_jwt_realm, 'jwt'),
    leeway: wholeNumber(v.auth_jwt_leeway, 'leeway', 0, problems),
    header: text(v.auth_jwt_header, 'authorization'),
    query: text(v.auth_jwt_query, 'jwt'),
    cookie: text(v.auth_jwt_cookie, 'jwt'),
    keyClaim: text(v.auth_jwt_key_claim_name, 'key'),
    maxTokenBytes: wholeNumber(v.auth_jwt_max_token_size, 'max_token_size', DEFAULT_MAX_TOKEN_BYTES, problems),
    requiredClaims: words(v.auth_jwt_claims_to_verify),
    issuers: words(v.auth_jwt_issuers),
    audiences: words(v.auth_jwt_audience),
    maxLifetime: wholeNumber(v.auth_jwt_maximum_expiration, 'maximum_expiration', 0, problems),
    hideCredentials: flag(v.auth_jwt_hide_credentials, 'hide_credentials', false, problems),
    rejectMultipleTokens: flag(v.auth_jwt_reject_multiple_tokens, 'reject_multiple_tokens', true, problems),
    anonymousConsumer: text(v.auth_jwt_anonymous_consumer, ''),
    claimRules: typeof rules === 'string' ? [] : rules,
    require: words(v.auth_jwt_require),
    requireStatus: requireStatus === '403' ? 403 : 401,
    claimSet: claimSet(v.auth_jwt_claim_set, problems),
    revocationList: text(v.auth_jwt_revocation_list, ''),
    revocationZone: text(v.auth_jwt_revocation_zone, ''),
  };
  if (settings.keyFile && settings.consumers) {
    problems.push({ variable: '$auth_jwt_key_file', message: 'set either $auth_jwt_key_file or $auth_jwt_consumers in a location, not both' });
  }
  if (!settings.keyFile && !settings.consumers) {
    problems.push({ variable: '$auth_jwt_key_file', message: 'no key source: set $auth_jwt_key_file (JWK Set) or $auth_jwt_consumers (consumer map)' });
  }
  return { settings, problems };
}
