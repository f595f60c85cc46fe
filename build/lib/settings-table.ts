/**
 * Every setting of the gateway, in one place: a location or server sets it
 * with `set $auth_jwt_<name> value;`. The nginx snippets (the js_var
 * declarations, the auth_request hand-over and the cache key) and the README
 * table are generated from it (`npm run snippets`; a unit test fails when
 * they are out of date), and njs/nginx/settings.ts parses each one (a unit
 * test checks that it reads exactly these names). Node-side only: the njs
 * bundle reads its settings by literal names, never through this table.
 */
export interface SettingSpec {
  /** After `$auth_jwt_`. */
  name: string;
  /** As the README shows it; an em dash when unset means "none". */
  default: string;
  /** The README text. */
  summary: string;
  /**
   * Whether it changes what the gateway answers: handed to the auth_request
   * verifier, kept across the auth subrequest, and part of the cache key.
   */
  decides: boolean;
}

export const SETTINGS: SettingSpec[] = [
  {
    name: 'consumers',
    default: '—',
    summary: 'consumer map: a `js_preload_object` name, or a file path (contains `/`; read once per VM, i.e. per request on the classic engine, so prefer preloading)',
    decides: true,
  },
  {
    name: 'key_file',
    default: '—',
    summary: 'JWK Set (RFC 7517), same two forms. Set exactly one of the two',
    decides: true,
  },
  {
    name: 'realm',
    default: '`jwt`',
    summary: 'realm in `WWW-Authenticate: Bearer realm="..."`',
    decides: true,
  },
  {
    name: 'header',
    default: '`authorization`',
    summary: 'request header with the token; `Bearer ` prefix optional, any case',
    decides: true,
  },
  {
    name: 'query',
    default: '`jwt`',
    summary: 'query argument with the token (used when the header is absent)',
    decides: true,
  },
  {
    name: 'cookie',
    default: '`jwt`',
    summary: 'cookie with the token (used when header and query argument are absent)',
    decides: true,
  },
  {
    name: 'reject_multiple_tokens',
    default: '`on`',
    summary: 'different tokens in header, query and cookie: 401 `Multiple tokens provided`',
    decides: true,
  },
  {
    name: 'hide_credentials',
    default: '`off`',
    summary: '`on`: the upstream gets no token (header, query argument or cookie removed, the rest kept)',
    decides: true,
  },
  {
    name: 'key_claim_name',
    default: '`key`',
    summary: 'claim naming the consumer\'s credential: looked up in the payload, then in the header (so `kid` works)',
    decides: true,
  },
  {
    name: 'anonymous_consumer',
    default: '—',
    summary: 'consumer a request without a valid token runs as, instead of a 401',
    decides: true,
  },
  {
    name: 'leeway',
    default: '`0`',
    summary: 'seconds of clock skew allowed for `exp` and `nbf`',
    decides: true,
  },
  {
    name: 'claims_to_verify',
    default: '—',
    summary: 'claims that must be present, e.g. `"exp nbf"` (`exp`/`nbf` are always checked when present)',
    decides: true,
  },
  {
    name: 'maximum_expiration',
    default: '`0` (off)',
    summary: 'seconds: `exp` is required and may lie at most this far after now and after `iat` (Kong `maximum_expiration`)',
    decides: true,
  },
  {
    name: 'issuers',
    default: '—',
    summary: 'allowed `iss` values, space-separated',
    decides: true,
  },
  {
    name: 'audience',
    default: '—',
    summary: 'accepted audiences, space-separated; the token\'s `aud` (string or array) must name one',
    decides: true,
  },
  {
    name: 'claim_rules',
    default: '—',
    summary: 'authorization rules on claims, answered with 403 (see the recipe)',
    decides: true,
  },
  {
    name: 'require',
    default: '—',
    summary: 'names of variables (without `$`) that must all be non-empty and not `0` (NGINX Plus `auth_jwt_require`)',
    decides: true,
  },
  {
    name: 'require_error',
    default: '`401`',
    summary: 'status when a `$auth_jwt_require` variable fails: `401` or `403`',
    decides: true,
  },
  {
    name: 'claim_set',
    default: '—',
    summary: '`variable=claim.path` pairs: nested claims into your own `js_var` variables (NGINX Plus `auth_jwt_claim_set`)',
    decides: true,
  },
  {
    name: 'revocation_list',
    default: '—',
    summary: 'deny list of `jti`/`sub`/`kid` values: a `js_preload_object` name or a file path',
    decides: true,
  },
  {
    name: 'revocation_zone',
    default: '—',
    summary: 'a `js_shared_dict_zone` with run-time revocations (njs >= 0.8.0)',
    decides: true,
  },
  {
    name: 'cache',
    default: '`on`',
    summary: 'cached auth_request style only: `off` verifies every request of the location',
    decides: false,
  },
  {
    name: 'cache_max_age',
    default: '`60`',
    summary: 'cached auth_request style only: seconds an "allowed" may be reused at most (never past the token\'s `exp`); `0` stores nothing',
    decides: true,
  },
  {
    name: 'max_token_size',
    default: '`16384`',
    summary: 'longer tokens are rejected as invalid. nginx itself answers 400 to request headers over `large_client_header_buffers` (default `4 8k`): raise it (e.g. `4 32k`) to accept tokens over about 8 KB',
    decides: true,
  },
];

export const SETTING_PREFIX = '$auth_jwt_';
