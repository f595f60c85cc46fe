/**
 * Every setting of the gateway, in one place: a location or server sets it
 * with `set $auth_jwt_<name> value;`. The nginx snippets (the js_var
 * declarations, the auth_request hand-over and the cache key) and the README
 * reference (one nginx.org-style entry per setting, and the map from NGINX
 * Plus, Kong and APISIX names) are generated from it (`npm run snippets`; a unit test fails when
 * they are out of date), and njs/nginx/settings.ts parses each one (a unit
 * test checks that it reads exactly these names). Node-side only: the njs
 * bundle reads its settings by literal names, never through this table.
 */
/** The same thing in another product, as /work/shared/REFERENCE.md names it. */
export interface Equivalent {
  /** The directive or field as that product spells it, e.g. `auth_jwt_leeway`. */
  name: string;
  /** How this gateway differs, in a few words; omitted when it does not. */
  note?: string;
}

export interface SettingSpec {
  /** After `$auth_jwt_`. */
  name: string;
  /** The value in nginx.org's Syntax line: `set $auth_jwt_<name> <syntax>;`, e.g. `seconds`, `on | off`. */
  syntax: string;
  /** As the README shows it; an em dash when unset means "none". */
  default: string;
  /** The README text. */
  summary: string;
  /** NGINX Plus `auth_jwt*` directive; absent where none exists. */
  nginxPlus?: Equivalent;
  /** Kong `jwt` plugin field; absent where none exists. */
  kong?: Equivalent;
  /** APISIX `jwt-auth` plugin field; absent where none exists. */
  apisix?: Equivalent;
  /**
   * Whether it changes what the gateway answers: handed to the auth_request
   * verifier, kept across the auth subrequest, and part of the cache key.
   */
  decides: boolean;
}

export const SETTINGS: SettingSpec[] = [
  {
    name: 'consumers',
    syntax: 'name | path',
    default: '—',
    summary:
      'consumer map: a `js_preload_object` name, or a file path (contains `/`). A map written by `jwt-gateway index` is read by position (a few small reads a lookup, on every engine: the way for large maps); any other file is parsed whole when a VM first needs it (per request on the classic engine, so preload small unindexed maps)',
    decides: true,
  },
  {
    name: 'key_file',
    syntax: 'name | path',
    default: '—',
    summary:
      'JWK Set (RFC 7517), same two forms. Set exactly one key source: this, `$auth_jwt_consumers`, or identity providers (`$auth_jwt_jwks_uri`, `$auth_jwt_oidc_issuer`)',
    nginxPlus: { name: 'auth_jwt_key_file', note: 'one JWK Set here; repeatable there' },
    decides: true,
  },
  {
    name: 'jwks_uri',
    syntax: '"URL ..."',
    default: '—',
    summary:
      'JWK Set URLs, space-separated: nginx fetches them and keeps their keys in `$auth_jwt_jwks_zone` (njs >= 0.8.1; see "Identity providers"). Tokens of no `$auth_jwt_oidc_issuer` are tried with these keys',
    nginxPlus: { name: 'auth_jwt_key_request', note: 'a URL here, a subrequest location there' },
    decides: true,
  },
  {
    name: 'oidc_issuer',
    syntax: '"[name=]issuer ..."',
    default: '—',
    summary:
      "OpenID Providers by issuer URL, space-separated: each one's keys come from its discovery document's `jwks_uri` (whose `issuer` must be this one). A token's `iss` chooses the provider, so its tokens carry its `iss`; `name=` makes `name` the token's `$jwt_consumer`. Combines with `$auth_jwt_jwks_uri`, not with `$auth_jwt_key_file` or `$auth_jwt_consumers`",
    decides: true,
  },
  {
    name: 'jwks_zone',
    syntax: 'zone',
    default: '`jwt_jwks`',
    summary:
      'the `js_shared_dict_zone` that keeps fetched keys for every worker, a zone of its own (not the cache or revocation zone); the refresher (`nginx/jwt-jwks-refresh.conf`) fills it, and reads this name from `js_var $auth_jwt_jwks_zone` where its location declares one',
    decides: true,
  },
  {
    name: 'jwks_dir',
    syntax: 'path',
    default: '—',
    summary:
      "on njs 0.7.9 (no `js_shared_dict_zone`), for the auth_request styles: a directory only the nginx worker user can write, where each identity provider's last good keys are kept between requests (fetched through `nginx/jwt-jwks-request-locations.conf`); unset, a provider there is a config error. Not read on njs >= 0.8.1",
    decides: true,
  },
  {
    name: 'jwks_min_refresh',
    syntax: 'seconds',
    default: '`60`',
    summary: "fetched keys are used at least this long before the next fetch, whatever the answer's `Cache-Control: max-age` says (`no-cache`, `max-age=0`)",
    decides: true,
  },
  {
    name: 'jwks_max_refresh',
    syntax: 'seconds',
    default: '`600`',
    summary: 'and at most this long: the next fetch comes after the `max-age` within these bounds, or after this without one',
    decides: true,
  },
  {
    name: 'jwks_refetch_interval',
    syntax: 'seconds',
    default: '`30`',
    summary:
      'a token with a `kid` none of the keys has makes the refresher fetch again, at most once this often for the whole nginx (however many such tokens come); also the wait before retrying a failed fetch',
    decides: true,
  },
  {
    name: 'jwks_max_stale',
    syntax: 'seconds',
    default: '`86400`',
    summary:
      'while a provider cannot be reached or answers what is not a usable JWK Set (which never replaces good keys), its last good keys are used until this long after their last successful fetch; then its tokens get 401 (those the direct style caches too) and the error log says why. At least `$auth_jwt_jwks_max_refresh` + `$auth_jwt_jwks_refetch_interval`',
    decides: true,
  },
  {
    name: 'realm',
    syntax: 'realm',
    default: '`jwt`',
    summary: 'realm in `WWW-Authenticate: Bearer realm="..."`',
    nginxPlus: { name: 'auth_jwt "realm"' },
    kong: { name: 'realm' },
    apisix: { name: 'realm' },
    decides: true,
  },
  {
    name: 'header',
    syntax: 'name',
    default: '`authorization`',
    summary: 'request header with the token; `Bearer ` prefix optional, any case',
    nginxPlus: { name: 'auth_jwt ... token=$http_NAME', note: 'query and cookie are tried too here' },
    kong: { name: 'header_names', note: 'one name here' },
    apisix: { name: 'header' },
    decides: true,
  },
  {
    name: 'query',
    syntax: 'name',
    default: '`jwt`',
    summary: 'query argument with the token (used when the header is absent)',
    nginxPlus: { name: 'auth_jwt ... token=$arg_NAME', note: 'header and cookie are tried too here' },
    kong: { name: 'uri_param_names', note: 'one name here' },
    apisix: { name: 'query' },
    decides: true,
  },
  {
    name: 'cookie',
    syntax: 'name',
    default: '`jwt`',
    summary: 'cookie with the token (used when header and query argument are absent)',
    nginxPlus: { name: 'auth_jwt ... token=$cookie_NAME', note: 'header and query are tried too here' },
    kong: { name: 'cookie_names', note: 'one name here' },
    apisix: { name: 'cookie' },
    decides: true,
  },
  {
    name: 'reject_multiple_tokens',
    syntax: 'on | off',
    default: '`on`',
    summary: 'different tokens in header, query and cookie: 401 `Multiple tokens provided`',
    decides: true,
  },
  {
    name: 'hide_credentials',
    syntax: 'on | off',
    default: '`off`',
    summary: '`on`: the upstream gets no token (header, query argument or cookie removed, the rest kept)',
    apisix: { name: 'hide_credentials' },
    decides: true,
  },
  {
    name: 'key_claim_name',
    syntax: 'claim',
    default: '`key`',
    summary: "claim naming the consumer's credential: looked up in the payload, then in the header (so `kid` works)",
    kong: { name: 'key_claim_name', note: "Kong's default is `iss`" },
    apisix: { name: 'key_claim_name' },
    decides: true,
  },
  {
    name: 'anonymous_consumer',
    syntax: 'username',
    default: '—',
    summary: 'consumer a request without a valid token runs as, instead of a 401',
    kong: { name: 'anonymous' },
    apisix: { name: 'anonymous_consumer' },
    decides: true,
  },
  {
    name: 'leeway',
    syntax: 'seconds',
    default: '`0`',
    summary: 'seconds of clock skew allowed for `exp` and `nbf`',
    nginxPlus: { name: 'auth_jwt_leeway' },
    decides: true,
  },
  {
    name: 'claims_to_verify',
    syntax: '"claim ..."',
    default: '—',
    summary: 'claims that must be present, e.g. `"exp nbf"` (`exp`/`nbf` are always checked when present)',
    kong: { name: 'claims_to_verify' },
    apisix: { name: 'claims_to_verify' },
    decides: true,
  },
  {
    name: 'maximum_expiration',
    syntax: 'seconds',
    default: '`0` (off)',
    summary: 'seconds: `exp` is required and may lie at most this far after now and after `iat` (Kong `maximum_expiration`)',
    kong: { name: 'maximum_expiration' },
    decides: true,
  },
  {
    name: 'issuers',
    syntax: '"issuer ..."',
    default: '—',
    summary: 'allowed `iss` values, space-separated',
    decides: true,
  },
  {
    name: 'audience',
    syntax: '"audience ..."',
    default: '—',
    summary: "accepted audiences, space-separated; the token's `aud` (string or array) must name one",
    decides: true,
  },
  {
    name: 'claim_rules',
    syntax: '"claim operator value; ..."',
    default: '—',
    summary: 'authorization rules on claims, answered with 403 (see the recipe)',
    decides: true,
  },
  {
    name: 'require',
    syntax: '"variable ..."',
    default: '—',
    summary: 'names of variables (without `$`) that must all be non-empty and not `0` (NGINX Plus `auth_jwt_require`)',
    nginxPlus: { name: 'auth_jwt_require $v ...', note: 'names without `$` here' },
    decides: true,
  },
  {
    name: 'mode',
    syntax: 'enforce | report',
    default: '`enforce`',
    summary:
      '`report` lets through what the token or the policy would deny (bad token, claim rule, requirement), without an identity (no consumer headers, empty claim variables), and logs and counts it as `would deny`: a stricter policy can be watched before it is enforced. Config errors, unavailable keys, internal errors and revoked tokens deny all the same. `jwt-gateway check` warns where it is on',
    decides: true,
  },
  {
    name: 'require_error',
    syntax: '401 | 403',
    default: '`401`',
    summary: 'status when a `$auth_jwt_require` variable fails: `401` or `403`',
    nginxPlus: { name: 'auth_jwt_require ... error=401|403' },
    decides: true,
  },
  {
    name: 'claim_set',
    syntax: '"variable=claim.path ..."',
    default: '—',
    summary: '`variable=claim.path` pairs: nested claims into your own `js_var` variables (NGINX Plus `auth_jwt_claim_set`)',
    nginxPlus: { name: 'auth_jwt_claim_set $v name...', note: 'declare the variable with `js_var`' },
    decides: true,
  },
  {
    name: 'revocation_list',
    syntax: 'name | path',
    default: '—',
    summary: 'deny list of `jti`/`sub`/`kid` values: a `js_preload_object` name or a file path',
    decides: true,
  },
  {
    name: 'revocation_zone',
    syntax: 'zone',
    default: '—',
    summary: 'a `js_shared_dict_zone` with run-time revocations (njs >= 0.8.0)',
    decides: true,
  },
  {
    name: 'cache',
    syntax: 'on | off',
    default: '`on`',
    summary:
      'both caching styles (the cached auth_request style, and the direct style with `$auth_jwt_cache_zone`): `off` verifies every request of the location',
    decides: false,
  },
  {
    name: 'cache_max_age',
    syntax: 'seconds',
    default: '`60`',
    summary: 'both caching styles: seconds an "allowed" may be reused at most (never past the token\'s `exp`); `0` stores nothing',
    decides: true,
  },
  {
    name: 'cache_zone',
    syntax: 'zone',
    default: '—',
    summary:
      'direct style: a `js_shared_dict_zone` (njs >= 0.8.0) where every worker keeps verified tokens (see the recipe); nothing is cached when unset, and a zone that does not exist is a config error',
    decides: false,
  },
  {
    name: 'max_token_size',
    syntax: 'bytes',
    default: '`16384`',
    summary:
      'longer tokens are rejected as invalid. nginx itself answers 400 to request headers over `large_client_header_buffers` (default `4 8k`): raise it (e.g. `4 32k`) to accept tokens over about 8 KB',
    decides: true,
  },
];

export const SETTING_PREFIX = '$auth_jwt_';
