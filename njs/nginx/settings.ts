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

function text(r: NginxHTTPRequest, name: string, fallback: string): string {
  const value = r.variables['auth_jwt_' + name];
  return value === undefined || value === '' ? fallback : value;
}

/** A space- or comma-separated list. String splits only: a regex split costs 5-30 us in njs. */
function words(r: NginxHTTPRequest, name: string): string[] {
  const value = text(r, name, '');
  if (value === '') return [];
  const out: string[] = [];
  const parts = value.split(',').join(' ').split(' ');
  for (let i = 0; i < parts.length; i++) {
    const word = parts[i].trim();
    if (word !== '') out.push(word);
  }
  return out;
}

function wholeNumber(r: NginxHTTPRequest, name: string, fallback: number, problems: SettingsProblem[]): number {
  const value = text(r, name, '');
  if (value === '') return fallback;
  if (!/^[0-9]{1,9}$/.test(value)) {
    problems.push({ variable: '$auth_jwt_' + name, message: 'must be a whole number, got ' + JSON.stringify(value) });
    return fallback;
  }
  return Number(value);
}

function flag(r: NginxHTTPRequest, name: string, fallback: boolean, problems: SettingsProblem[]): boolean {
  const value = text(r, name, '');
  if (value === '') return fallback;
  if (value !== 'on' && value !== 'off') problems.push({ variable: '$auth_jwt_' + name, message: 'must be on or off, got ' + JSON.stringify(value) });
  return value === 'on';
}

function claimSet(r: NginxHTTPRequest, problems: SettingsProblem[]): { variable: string; path: string }[] {
  const pairs = words(r, 'claim_set');
  const out: { variable: string; path: string }[] = [];
  if (pairs.length === 0) return out;
  for (let i = 0; i < pairs.length; i++) {
    const match = /^\$?([A-Za-z0-9_]+)=(.+)$/.exec(pairs[i]);
    if (match) out.push({ variable: match[1], path: match[2] });
    else problems.push({ variable: '$auth_jwt_claim_set', message: 'expected variable=claim.path, got ' + JSON.stringify(pairs[i]) });
  }
  return out;
}

export function readSettings(r: NginxHTTPRequest): { settings: Settings; problems: SettingsProblem[] } {
  const problems: SettingsProblem[] = [];
  const ruleText = text(r, 'claim_rules', '');
  const rules = ruleText ? parseClaimRules(ruleText) : [];
  if (typeof rules === 'string') problems.push({ variable: '$auth_jwt_claim_rules', message: rules });
  const requireStatus = text(r, 'require_error', '401');
  if (requireStatus !== '401' && requireStatus !== '403') problems.push({ variable: '$auth_jwt_require_error', message: 'must be 401 or 403' });
  const settings: Settings = {
    keyFile: text(r, 'key_file', ''),
    consumers: text(r, 'consumers', ''),
    realm: text(r, 'realm', 'jwt'),
    leeway: wholeNumber(r, 'leeway', 0, problems),
    header: text(r, 'header', 'authorization'),
    query: text(r, 'query', 'jwt'),
    cookie: text(r, 'cookie', 'jwt'),
    keyClaim: text(r, 'key_claim_name', 'key'),
    maxTokenBytes: wholeNumber(r, 'max_token_size', DEFAULT_MAX_TOKEN_BYTES, problems),
    requiredClaims: words(r, 'claims_to_verify'),
    issuers: words(r, 'issuers'),
    audiences: words(r, 'audience'),
    maxLifetime: wholeNumber(r, 'maximum_expiration', 0, problems),
    hideCredentials: flag(r, 'hide_credentials', false, problems),
    rejectMultipleTokens: flag(r, 'reject_multiple_tokens', true, problems),
    anonymousConsumer: text(r, 'anonymous_consumer', ''),
    claimRules: typeof rules === 'string' ? [] : rules,
    require: words(r, 'require'),
    requireStatus: requireStatus === '403' ? 403 : 401,
    claimSet: claimSet(r, problems),
    revocationList: text(r, 'revocation_list', ''),
    revocationZone: text(r, 'revocation_zone', ''),
  };
  if (settings.keyFile && settings.consumers) {
    problems.push({ variable: '$auth_jwt_key_file', message: 'set either $auth_jwt_key_file or $auth_jwt_consumers in a location, not both' });
  }
  if (!settings.keyFile && !settings.consumers) {
    problems.push({ variable: '$auth_jwt_key_file', message: 'no key source: set $auth_jwt_key_file (JWK Set) or $auth_jwt_consumers (consumer map)' });
  }
  return { settings, problems };
}
