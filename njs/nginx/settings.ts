/**
 * Per-location settings, read from nginx variables that the config sets with
 * `set $auth_jwt_<name> value;` (names follow NGINX Plus auth_jwt_* and the
 * APISIX/Kong plugin fields). One typed accessor with the defaults, so nothing
 * else reads r.variables for them.
 */
import { ClaimRule, parseClaimRules } from '../core/claim-rules';
import { DEFAULT_CACHE_MAX_AGE } from '../core/cache-lifetime';
import { configProblem, Problem } from '../core/errors';
import { DEFAULT_MAX_TOKEN_BYTES } from '../core/token';
import { Provider, RefreshPolicy } from '../core/keys/remote';

export interface Settings {
  /** JWK Set: a js_preload_object name or a file path. */
  keyFile: string;
  /** Consumer map: a js_preload_object name or a file path. */
  consumers: string;
  /** Identity providers ($auth_jwt_jwks_uri, then $auth_jwt_oidc_issuer); empty when the keys are local. */
  providers: Provider[];
  /** Where the providers' fetched keys are kept, and how often they are fetched; only read with providers. */
  jwksZone: string;
  /** njs 0.7.9's auth_request styles: where each provider's last good keys are kept ('' when unset). */
  jwksDir: string;
  jwksRefresh: RefreshPolicy;
  jwksMaxStale: number;
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
  /** $auth_jwt_mode report. */
  reportOnly: boolean;
  /** `variable=claim.path` pairs written into js_var variables after verification. */
  claimSet: { variable: string; path: string }[];
  revocationList: string;
  revocationZone: string;
  /** Both caching styles: seconds an "allowed" may be reused at most. */
  cacheMaxAge: number;
  /** `$auth_jwt_cache`: false when the location switches caching off. */
  cache: boolean;
  /** The direct style's js_shared_dict_zone of verified tokens ('' for none: nothing is cached). */
  cacheZone: string;
  /** Every deciding setting's value as set, one per line, for the direct style's cache key; '' without a cache zone. */
  fingerprint: string;
}

/**
 * Helpers take the variable's value (read with a literal property name: a
 * computed name costs njs a string concatenation per setting and request)
 * and its name, used only in messages. They are called only for values that
 * are set: this runs per request, and calls and `[]` are dear in njs (README,
 * "Measured costs"), so unset settings take their default inline.
 */

/** $auth_jwt_jwks_max_stale's default: a day of an identity provider's outage. */
const DEFAULT_MAX_STALE = 86400;
/** What a location without identity providers has for their refresh (never used). */
const NO_REFRESH: RefreshPolicy = { minRefresh: 0, maxRefresh: 0, refetchInterval: 0 };

/** A setting that is wrong: the problem's entry is the variable, as `$auth_jwt_leeway: must be ...`. */
function invalid(variable: string, message: string): Problem {
  return configProblem(undefined, variable, undefined, message);
}

/** A space- or comma-separated list. String splits only: a regex split is many times dearer in njs (README, "Measured costs"). */
function words(value: string): string[] {
  const out: string[] = [];
  const parts = value.split(',').join(' ').split(' ');
  for (let i = 0; i < parts.length; i++) {
    const word = parts[i].trim();
    if (word !== '') out.push(word);
  }
  return out;
}

function wholeNumber(value: string, name: string, fallback: number, problems: Problem[]): number {
  if (!/^[0-9]{1,9}$/.test(value)) {
    problems.push(invalid('$auth_jwt_' + name, 'must be a whole number, got ' + JSON.stringify(value)));
    return fallback;
  }
  return Number(value);
}

function flag(value: string, name: string, problems: Problem[]): boolean {
  if (value !== 'on' && value !== 'off') problems.push(invalid('$auth_jwt_' + name, 'must be on or off, got ' + JSON.stringify(value)));
  return value === 'on';
}

function claimSet(value: string, problems: Problem[]): { variable: string; path: string }[] {
  const out: { variable: string; path: string }[] = [];
  const pairs = words(value);
  for (let i = 0; i < pairs.length; i++) {
    const match = /^\$?([A-Za-z0-9_]+)=(.+)$/.exec(pairs[i]);
    if (match) out.push({ variable: match[1], path: match[2] });
    else problems.push(invalid('$auth_jwt_claim_set', 'expected variable=claim.path, got ' + JSON.stringify(pairs[i])));
  }
  return out;
}

/** An http(s) URL, as the providers' settings take them. */
const URL_PATTERN = /^https?:\/\/[^\s"]+$/;

/**
 * $auth_jwt_jwks_uri and $auth_jwt_oidc_issuer: URLs, each issuer optionally
 * `name=` first (the name has neither `:` nor `/`, so a URL's own `=` stays).
 */
function providers(jwksUris: string, issuers: string, problems: Problem[]): Provider[] {
  const out: Provider[] = [];
  const uris = words(jwksUris);
  for (let i = 0; i < uris.length; i++) {
    if (URL_PATTERN.test(uris[i])) out.push({ jwksUri: uris[i] });
    else problems.push(invalid('$auth_jwt_jwks_uri', 'expected http(s) URLs, got ' + JSON.stringify(uris[i])));
  }
  const named = words(issuers);
  for (let i = 0; i < named.length; i++) {
    const match = /^(?:([A-Za-z0-9._@-]+)=)?(.*)$/.exec(named[i])!;
    if (URL_PATTERN.test(match[2])) out.push(match[1] ? { issuer: match[2], name: match[1] } : { issuer: match[2] });
    else problems.push(invalid('$auth_jwt_oidc_issuer', 'expected [name=]issuer with an http(s) issuer URL, got ' + JSON.stringify(named[i])));
  }
  return out;
}

/** The refresh bounds, read only for a location with providers. */
function refreshPolicy(v: NginxHTTPRequest['variables'], problems: Problem[]): RefreshPolicy {
  const min = v.auth_jwt_jwks_min_refresh;
  const max = v.auth_jwt_jwks_max_refresh;
  const refetch = v.auth_jwt_jwks_refetch_interval;
  const policy = {
    minRefresh: min ? wholeNumber(min, 'jwks_min_refresh', 60, problems) : 60,
    maxRefresh: max ? wholeNumber(max, 'jwks_max_refresh', 600, problems) : 600,
    refetchInterval: refetch ? wholeNumber(refetch, 'jwks_refetch_interval', 30, problems) : 30,
  };
  if (policy.minRefresh < 1) problems.push(invalid('$auth_jwt_jwks_min_refresh', 'must be at least 1 second'));
  if (policy.refetchInterval < 1) problems.push(invalid('$auth_jwt_jwks_refetch_interval', 'must be at least 1 second'));
  if (policy.maxRefresh < policy.minRefresh) problems.push(invalid('$auth_jwt_jwks_max_refresh', 'must not be less than $auth_jwt_jwks_min_refresh'));
  return policy;
}

export function readSettings(r: NginxHTTPRequest): { settings: Settings; problems: Problem[] } {
  const v = r.variables;
  const problems: Problem[] = [];
  /** Every unset list shares it; nothing appends to settings. */
  const none: never[] = [];
  const ruleText = v.auth_jwt_claim_rules;
  const rules = ruleText ? parseClaimRules(ruleText) : none;
  if (typeof rules === 'string') problems.push(invalid('$auth_jwt_claim_rules', rules));
  const mode = v.auth_jwt_mode || 'enforce';
  if (mode !== 'enforce' && mode !== 'report') problems.push(invalid('$auth_jwt_mode', 'must be enforce or report'));
  const requireStatus = v.auth_jwt_require_error || '401';
  if (requireStatus !== '401' && requireStatus !== '403') problems.push(invalid('$auth_jwt_require_error', 'must be 401 or 403'));
  const leeway = v.auth_jwt_leeway;
  const maxTokenSize = v.auth_jwt_max_token_size;
  const requiredClaims = v.auth_jwt_claims_to_verify;
  const issuers = v.auth_jwt_issuers;
  const audiences = v.auth_jwt_audience;
  const maxLifetime = v.auth_jwt_maximum_expiration;
  const hideCredentials = v.auth_jwt_hide_credentials;
  const rejectMultipleTokens = v.auth_jwt_reject_multiple_tokens;
  const requirements = v.auth_jwt_require;
  const claimSetText = v.auth_jwt_claim_set;
  const cacheMaxAge = v.auth_jwt_cache_max_age;
  const keyFile = v.auth_jwt_key_file || '';
  const consumers = v.auth_jwt_consumers || '';
  const jwksUri = v.auth_jwt_jwks_uri || '';
  const oidcIssuer = v.auth_jwt_oidc_issuer || '';
  const remote = jwksUri !== '' || oidcIssuer !== '';
  const jwksZone = remote ? v.auth_jwt_jwks_zone : '';
  const jwksDir = remote ? v.auth_jwt_jwks_dir : '';
  const jwksMaxStale = remote ? v.auth_jwt_jwks_max_stale : '';
  const jwksRefresh = remote ? refreshPolicy(v, problems) : NO_REFRESH;
  const realm = v.auth_jwt_realm;
  const header = v.auth_jwt_header;
  const query = v.auth_jwt_query;
  const cookie = v.auth_jwt_cookie;
  const keyClaim = v.auth_jwt_key_claim_name;
  const anonymousConsumer = v.auth_jwt_anonymous_consumer || '';
  const revocationList = v.auth_jwt_revocation_list || '';
  const revocationZone = v.auth_jwt_revocation_zone || '';
  const cache = v.auth_jwt_cache;
  const cacheZone = v.auth_jwt_cache_zone || '';
  const settings: Settings = {
    keyFile,
    consumers,
    providers: remote ? providers(jwksUri, oidcIssuer, problems) : none,
    jwksZone: jwksZone || 'jwt_jwks',
    jwksDir: jwksDir || '',
    jwksRefresh,
    jwksMaxStale: jwksMaxStale ? wholeNumber(jwksMaxStale, 'jwks_max_stale', DEFAULT_MAX_STALE, problems) : DEFAULT_MAX_STALE,
    realm: realm || 'jwt',
    leeway: leeway ? wholeNumber(leeway, 'leeway', 0, problems) : 0,
    header: header || 'authorization',
    query: query || 'jwt',
    cookie: cookie || 'jwt',
    keyClaim: keyClaim || 'key',
    maxTokenBytes: maxTokenSize ? wholeNumber(maxTokenSize, 'max_token_size', DEFAULT_MAX_TOKEN_BYTES, problems) : DEFAULT_MAX_TOKEN_BYTES,
    requiredClaims: requiredClaims ? words(requiredClaims) : none,
    issuers: issuers ? words(issuers) : none,
    audiences: audiences ? words(audiences) : none,
    maxLifetime: maxLifetime ? wholeNumber(maxLifetime, 'maximum_expiration', 0, problems) : 0,
    hideCredentials: hideCredentials ? flag(hideCredentials, 'hide_credentials', problems) : false,
    rejectMultipleTokens: rejectMultipleTokens ? flag(rejectMultipleTokens, 'reject_multiple_tokens', problems) : true,
    anonymousConsumer,
    claimRules: typeof rules === 'string' ? none : rules,
    require: requirements ? words(requirements) : none,
    requireStatus: requireStatus === '403' ? 403 : 401,
    reportOnly: mode === 'report',
    claimSet: claimSetText ? claimSet(claimSetText, problems) : none,
    revocationList,
    revocationZone,
    cacheMaxAge: cacheMaxAge ? wholeNumber(cacheMaxAge, 'cache_max_age', DEFAULT_CACHE_MAX_AGE, problems) : DEFAULT_CACHE_MAX_AGE,
    cache: cache ? flag(cache, 'cache', problems) : true,
    cacheZone,
    // Every setting the table marks `decides` (build/settings-table.ts), as set; a unit test changes each one and expects another value.
    fingerprint: cacheZone
      ? [
          consumers,
          keyFile,
          jwksUri,
          oidcIssuer,
          // Read here, not above: only a location with providers reads them for itself.
          v.auth_jwt_jwks_zone,
          v.auth_jwt_jwks_dir,
          v.auth_jwt_jwks_min_refresh,
          v.auth_jwt_jwks_max_refresh,
          v.auth_jwt_jwks_refetch_interval,
          v.auth_jwt_jwks_max_stale,
          realm,
          header,
          query,
          cookie,
          rejectMultipleTokens,
          hideCredentials,
          keyClaim,
          anonymousConsumer,
          leeway,
          requiredClaims,
          maxLifetime,
          issuers,
          audiences,
          ruleText,
          requirements,
          requireStatus,
          mode,
          claimSetText,
          revocationList,
          revocationZone,
          cacheMaxAge,
          maxTokenSize,
        ].join('\n')
      : '',
  };
  if (remote && settings.jwksMaxStale < jwksRefresh.maxRefresh + jwksRefresh.refetchInterval) {
    problems.push(
      invalid(
        '$auth_jwt_jwks_max_stale',
        'must be at least $auth_jwt_jwks_max_refresh + $auth_jwt_jwks_refetch_interval: the keys would be refused before their next fetch',
      ),
    );
  }
  if (remote && (settings.jwksZone === cacheZone || settings.jwksZone === revocationZone)) {
    problems.push(invalid('$auth_jwt_jwks_zone', 'must be a zone of its own, not the cache or revocation zone'));
  }
  if (cacheZone && cacheZone === revocationZone) {
    problems.push(
      invalid('$auth_jwt_cache_zone', 'must not be the revocation zone: a full cache zone may drop its oldest entries, and revocations must never be dropped'),
    );
  }
  const sources = (keyFile ? 1 : 0) + (consumers ? 1 : 0) + (remote ? 1 : 0);
  if (sources > 1) {
    problems.push(
      invalid(
        '$auth_jwt_key_file',
        'set one key source in a location: $auth_jwt_key_file, $auth_jwt_consumers, or identity providers ($auth_jwt_jwks_uri, $auth_jwt_oidc_issuer)',
      ),
    );
  }
  if (sources === 0) {
    problems.push(
      invalid(
        '$auth_jwt_key_file',
        'no key source: set $auth_jwt_key_file (JWK Set), $auth_jwt_consumers (consumer map) or identity providers ($auth_jwt_jwks_uri, $auth_jwt_oidc_issuer); in the auth_request styles, include jwt-auth-request.conf in the location',
      ),
    );
  }
  return { settings, problems };
}
