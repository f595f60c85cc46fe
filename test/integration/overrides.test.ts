/**
 * For every setting in the table (build/settings-table.ts), in every
 * style: a server sets it, one location sets it again otherwise, and one
 * request tells the two apart. /srv/ must answer as the server's value says,
 * /loc/ as the location's. The auth_request subrequest re-runs the server's
 * `set`s on variables it shares with the request, which once made the
 * location's value silently lose; the table of scenarios must name every
 * setting, so a new setting cannot be left out.
 */
import { chmodSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { SETTINGS } from '../../build/settings-table';
import { authRequestStyle, gatewayConfig, gatewayPerFile, now, Reply, unique } from '../support/gateway';
import { testCertificates } from '../support/identity-provider';
import { engine } from '../support/nginx';

type Style = 'direct' | 'error-page' | 'auth_request' | 'cached';
const STYLES: Style[] = ['direct', 'error-page', 'auth_request', 'cached'];

const SECRET_A = 'overrides-secret-a-0123456789abcdefghijklmnop';
const SECRET_B = 'overrides-secret-b-0123456789abcdefghijklmnop';
const encode = (text: string) => new TextEncoder().encode(text);
const b64 = (text: string) => Buffer.from(text).toString('base64url');

const FILES = {
  'ov_a.json': JSON.stringify({
    consumers: [
      { username: 'alice', credentials: [{ key: 'ka', secret: SECRET_A }] },
      { username: 'guest', credentials: [] },
    ],
  }),
  'ov_b.json': JSON.stringify({ consumers: [{ username: 'bob', credentials: [{ key: 'kb', secret: SECRET_B }] }] }),
  'jwks_a.json': JSON.stringify({ keys: [{ kty: 'oct', kid: 'a', alg: 'HS256', k: b64(SECRET_A) }] }),
  'jwks_b.json': JSON.stringify({ keys: [{ kty: 'oct', kid: 'b', alg: 'HS256', k: b64(SECRET_B) }] }),
  'deny_none.json': JSON.stringify({ jti: [] }),
  'deny_j1.json': JSON.stringify({ jti: ['j1'] }),
};

/** alice's token (credential ka, secret A), valid for 10 minutes, with `claims` over the defaults. */
function token(claims: { [name: string]: unknown } = {}, header: { [name: string]: unknown } = {}): Promise<string> {
  return new SignJWT({ key: 'ka', exp: now() + 600, ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header }).sign(encode(SECRET_A));
}

interface Sent {
  query?: string;
  headers?: { [name: string]: string };
}

interface Scenario {
  /** The value at server level and at location level (nginx text, quoted where needed). */
  server: string;
  location: string;
  /** Server-level settings besides this one (default: alice's consumer map). */
  base?: string[];
  styles?: Style[];
  send(): Promise<Sent>;
  /** What a user sees of the answer. */
  observe?(reply: Reply): unknown;
  atServer: unknown;
  atLocation: unknown;
}

/**
 * Identity providers (njs >= 0.8.1): the JWK Set jwks_a.json served by this nginx's main server and fetched by its
 * refresher. Their refresh settings are read only for a location with a provider, and only such engines have one.
 */
const PERIODIC = engine().features.periodic;
/** Where identity providers work: every style with the refresher (njs >= 0.8.1), else the auth_request styles, which fetch through /_jwt_jwks into $auth_jwt_jwks_dir. */
const fetching: Style[] = PERIODIC ? STYLES : ['auth_request', 'cached'];
const PROVIDER = ['set $auth_jwt_jwks_uri http://127.0.0.1:${PORT}/ov-jwks;', ...(PERIODIC ? [] : ['set $auth_jwt_jwks_dir ${PREFIX}/ov-keys;'])];
/** The fetching location of njs 0.7.9, and what it needs (nginx starts only with a trusted CA for proxy_ssl_verify). */
const FETCH_LOCATIONS = PERIODIC ? [] : ['include ${ROOT}/nginx/jwt-jwks-request-locations.conf;', 'proxy_ssl_trusted_certificate ${PREFIX}/ca.pem;'];

const statusOf = (reply: Reply) => reply.status;
const bearer = async (claims: { [name: string]: unknown } = {}, header: { [name: string]: unknown } = {}): Promise<Sent> => ({
  headers: { Authorization: 'Bearer ' + (await token(claims, header)) },
});

const SCENARIOS: { [name: string]: Scenario } = {
  consumers: { server: 'ov_a', location: 'ov_b', base: [], send: () => bearer(), atServer: 200, atLocation: 401 },
  key_file: { server: 'jwks_a', location: 'jwks_b', base: [], send: () => bearer({}, { kid: 'a' }), atServer: 200, atLocation: 401 },
  realm: {
    server: 'srv-realm',
    location: 'loc-realm',
    send: async () => ({}),
    observe: (reply) => [reply.status, reply.headers['www-authenticate']],
    atServer: [401, 'Bearer realm="srv-realm"'],
    atLocation: [401, 'Bearer realm="loc-realm"'],
  },
  header: { server: 'X-Srv-Token', location: 'X-Loc-Token', send: async () => ({ headers: { 'X-Loc-Token': await token() } }), atServer: 401, atLocation: 200 },
  query: { server: 'srvq', location: 'locq', send: async () => ({ query: 'locq=' + (await token()) }), atServer: 401, atLocation: 200 },
  cookie: { server: 'srvc', location: 'locc', send: async () => ({ headers: { Cookie: 'locc=' + (await token()) } }), atServer: 401, atLocation: 200 },
  reject_multiple_tokens: {
    server: 'on',
    location: 'off',
    send: async () => ({ query: 'jwt=' + (await token({ n: 2 })), headers: { Authorization: 'Bearer ' + (await token({ n: 1 })) } }),
    atServer: 401,
    atLocation: 200,
  },
  hide_credentials: {
    server: 'off',
    location: 'on',
    send: () => bearer(),
    observe: (reply) => [reply.status, reply.status === 200 ? 'Authorization' in reply.json().headers : null],
    atServer: [200, true],
    atLocation: [200, false],
  },
  key_claim_name: { server: 'key', location: 'cid', send: () => bearer({ key: undefined, cid: 'ka' }), atServer: 401, atLocation: 200 },
  anonymous_consumer: { server: 'guest', location: '""', send: async () => ({}), atServer: 200, atLocation: 401 },
  leeway: { server: '0', location: '120', send: () => bearer({ exp: now() - 30 }), atServer: 401, atLocation: 200 },
  claims_to_verify: { server: 'exp', location: 'nbf', send: () => bearer(), atServer: 200, atLocation: 401 },
  maximum_expiration: { server: '0', location: '60', send: () => bearer({ exp: now() + 3600 }), atServer: 200, atLocation: 401 },
  issuers: { server: 'https://a.example', location: 'https://b.example', send: () => bearer({ iss: 'https://a.example' }), atServer: 200, atLocation: 401 },
  audience: { server: 'aud-a', location: 'aud-b', send: () => bearer({ aud: 'aud-a' }), atServer: 200, atLocation: 401 },
  claim_rules: { server: '"roles contains user"', location: '"roles contains admin"', send: () => bearer({ roles: ['user'] }), atServer: 200, atLocation: 403 },
  require: { server: 'jwt_claim_sub', location: 'jwt_claim_jti', send: () => bearer({ sub: 'alice' }), atServer: 200, atLocation: 401 },
  // The server's report lets an expired token through; the location's enforce refuses it.
  mode: { server: 'report', location: 'enforce', send: () => bearer({ exp: now() - 60 }), atServer: 200, atLocation: 401 },
  require_error: {
    server: '401',
    location: '403',
    base: ['set $auth_jwt_consumers ov_a;', 'set $auth_jwt_require jwt_claim_jti;'],
    send: () => bearer(),
    atServer: 401,
    atLocation: 403,
  },
  claim_set: {
    server: 'jwt_ov_claim=a',
    location: 'jwt_ov_claim=b',
    base: ['set $auth_jwt_consumers ov_a;', 'set $auth_jwt_require jwt_ov_claim;'],
    send: () => bearer({ a: 'from-a' }),
    atServer: 200,
    atLocation: 401,
  },
  revocation_list: { server: 'deny_none', location: 'deny_j1', send: () => bearer({ jti: 'j1' }), atServer: 200, atLocation: 401 },
  // No such zone: a config error (401) on every engine; the location's "" clears it.
  revocation_zone: { server: 'no_such_zone', location: '""', send: () => bearer(), atServer: 401, atLocation: 200 },
  // Only the cached style has a cache: the same token twice, and how often the verifier was asked.
  cache: {
    server: 'on',
    location: 'off',
    styles: ['cached'],
    send: async () => ({ query: 'probe=' + unique('cache'), headers: { Authorization: 'Bearer ' + (await token()) } }),
    atServer: 1,
    atLocation: 2,
  },
  // A malformed value is a config error in every style, so the location's is the one read.
  cache_max_age: { server: '60', location: '5m', send: () => bearer(), atServer: 200, atLocation: 401 },
  // The direct styles' cache: no such zone is a config error (401) on every engine; the location's "" clears it.
  cache_zone: { server: 'no_such_zone', location: '""', styles: ['direct', 'error-page'], send: () => bearer(), atServer: 401, atLocation: 200 },
  max_token_size: { server: '16384', location: '100', send: () => bearer(), atServer: 200, atLocation: 401 },
  // With the server's consumer map, a provider is a second key source (a config error); the location's "" clears it.
  jwks_uri: { server: 'https://idp.example/jwks', location: '""', send: () => bearer(), atServer: 401, atLocation: 200 },
  oidc_issuer: { server: 'https://idp.example', location: '""', send: () => bearer(), atServer: 401, atLocation: 200 },
  // A malformed or missing value is a config error; the location's (the default) is the one read.
  jwks_zone: {
    server: 'no_such_zone',
    location: 'jwt_jwks',
    base: PROVIDER,
    // Read only where there is the refresher's zone.
    styles: PERIODIC ? STYLES : [],
    send: () => bearer({}, { kid: 'a' }),
    atServer: 401,
    atLocation: 200,
  },
  jwks_min_refresh: {
    server: '1m',
    location: '60',
    base: PROVIDER,
    styles: fetching,
    send: () => bearer({}, { kid: 'a' }),
    atServer: 401,
    atLocation: 200,
  },
  jwks_max_refresh: {
    server: '10m',
    location: '600',
    base: PROVIDER,
    styles: fetching,
    send: () => bearer({}, { kid: 'a' }),
    atServer: 401,
    atLocation: 200,
  },
  jwks_refetch_interval: {
    server: '30s',
    location: '30',
    base: PROVIDER,
    styles: fetching,
    send: () => bearer({}, { kid: 'a' }),
    atServer: 401,
    atLocation: 200,
  },
  // njs 0.7.9's auth_request styles: a directory that does not exist cannot keep the keys (401).
  jwks_dir: {
    server: '${PREFIX}/no-such-dir',
    location: '${PREFIX}/ov-keys',
    base: PROVIDER,
    styles: PERIODIC ? [] : ['auth_request', 'cached'],
    send: () => bearer({}, { kid: 'a' }),
    atServer: 401,
    atLocation: 200,
  },
  jwks_max_stale: {
    server: '1d',
    location: '86400',
    base: PROVIDER,
    styles: fetching,
    send: () => bearer({}, { kid: 'a' }),
    atServer: 401,
    atLocation: 200,
  },
};

const host = (name: string, style: Style) => name.split('_').join('-') + '.' + style + '.test';

const STYLE_PARTS: { [style in Style]: { server: string[]; location: string[] } } = {
  direct: { server: [], location: ['include ${ROOT}/nginx/jwt-auth.conf;', 'include ${ROOT}/nginx/jwt-proxy-headers.conf;'] },
  'error-page': {
    server: [
      'error_page 401 = @page401;',
      'error_page 403 = @page403;',
      'location @page401 { default_type application/json; add_header WWW-Authenticate $jwt_www_authenticate always; return 401 $jwt_auth_error; }',
      'location @page403 { default_type application/json; return 403 $jwt_auth_error; }',
    ],
    location: ['include ${ROOT}/nginx/jwt-auth-error-page.conf;', 'include ${ROOT}/nginx/jwt-proxy-headers.conf;'],
  },
  auth_request: { server: [authRequestStyle('uncached').locations, ...FETCH_LOCATIONS], location: ['include ${ROOT}/nginx/jwt-auth-request.conf;'] },
  cached: { server: [authRequestStyle('cached').locations], location: ['include ${ROOT}/nginx/jwt-auth-request.conf;'] },
};

function server(name: string, style: Style, scenario: Scenario): string {
  const base = scenario.base ?? ['set $auth_jwt_consumers ov_a;'];
  const parts = STYLE_PARTS[style];
  const location = (path: string, lines: string[]) => [
    'location ' + path + ' {',
    ...lines.map((line) => '    ' + line),
    ...parts.location.map((line) => '    ' + line),
    '    proxy_pass http://echo_upstream;',
    '}',
  ];
  return [
    'server {',
    '    listen 127.0.0.1:${PORT};',
    '    server_name ' + host(name, style) + ';',
    ...base.map((line) => '    ' + line),
    '    set $auth_jwt_' + name + ' ' + scenario.server + ';',
    ...parts.server.map((line) => '    ' + line),
    ...location('/srv/', []).map((line) => '    ' + line),
    ...location('/loc/', ['set $auth_jwt_' + name + ' ' + scenario.location + ';']).map((line) => '    ' + line),
    '}',
  ].join('\n');
}

const CASES = Object.keys(SCENARIOS).flatMap((name) => (SCENARIOS[name].styles ?? STYLES).map((style) => ({ name, style })));
const preload = Object.keys(FILES)
  .map((file) => 'js_preload_object ' + file.replace('.json', '') + ' from ${PREFIX}/' + file + ';')
  .join('\n');

const CONFIG = gatewayConfig({
  http: [
    preload,
    'js_var $jwt_ov_claim;',
    'server_names_hash_bucket_size 128;',
    authRequestStyle('cached', undefined, FETCH_LOCATIONS).http,
    PERIODIC ? 'js_shared_dict_zone zone=jwt_jwks:1m;' : 'proxy_cache_path ${PREFIX}/jwks-cache keys_zone=jwt_jwks_cache:1m;',
  ].join('\n'),
  servers: CASES.map((entry) => server(entry.name, entry.style, SCENARIOS[entry.name])),
  // The provider's JWK Set and the refresher (the fetch's Host is 127.0.0.1), and a location to wait for its first fetch.
  server: [
    'location / { return 404; }',
    'server_name 127.0.0.1;',
    'location = /ov-jwks { default_type application/json; alias ${PREFIX}/jwks_a.json; }',
    ...(PERIODIC
      ? ['include ${ROOT}/nginx/jwt-jwks-refresh.conf;', 'location /fetched/ { ' + PROVIDER[0] + ' include ${ROOT}/nginx/jwt-auth.conf; return 204; }']
      : []),
  ],
});

const { it, g } = gatewayPerFile(
  () => ({
    config: CONFIG,
    ports: ['PORT', 'ECHO_PORT'],
    files: { ...FILES, 'ov-keys/.keep': '', 'ca.pem': readFileSync(path.join(testCertificates(), 'ca.pem'), 'utf8') },
  }),
  30000,
);

// The worker user (nobody, under a root master) keeps njs 0.7.9's fetched keys there.
beforeAll(() => chmodSync(path.join(g().nginx.prefix, 'ov-keys'), 0o777));

if (PERIODIC) {
  beforeAll(async () => {
    const headers = (await bearer({}, { kid: 'a' })).headers!;
    for (let tries = 0; (await g().get('/fetched/x', headers)).status !== 204; tries++) {
      if (tries > 100) throw new Error("the provider's keys were not fetched within 20 s");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 30000);
}

test('the scenarios name every setting of the table, and nothing else', () => {
  expect(Object.keys(SCENARIOS).sort()).toEqual(SETTINGS.map((setting) => setting.name).sort());
});

async function answer(name: string, style: Style, where: '/srv/' | '/loc/'): Promise<unknown> {
  const scenario = SCENARIOS[name];
  const sent = await scenario.send();
  const path = where + 'x' + (sent.query ? '?' + sent.query : '');
  const headers = { ...sent.headers, Host: host(name, style) };
  if (name === 'cache') {
    // The same request twice; the verifier's log counts the verifications of its probe.
    for (let i = 0; i < 2; i++) expect((await g().get(path, headers)).status).toBe(200);
    const probe = sent.query!.slice('probe='.length);
    await g().logLine('access.log', probe);
    return g()
      .readLog('verifier.log')
      .split('\n')
      .filter((line) => line.endsWith(' ' + probe)).length;
  }
  const reply = await g().get(path, headers);
  return (scenario.observe ?? statusOf)(reply);
}

describe.each(STYLES)('%s style: a location overrides the server', (style) => {
  for (const { name } of CASES.filter((entry) => entry.style === style)) {
    it('$auth_jwt_' + name, async () => {
      const scenario = SCENARIOS[name];
      expect({ setting: name, where: 'server', saw: await answer(name, style, '/srv/') }).toEqual({ setting: name, where: 'server', saw: scenario.atServer });
      expect({ setting: name, where: 'location', saw: await answer(name, style, '/loc/') }).toEqual({
        setting: name,
        where: 'location',
        saw: scenario.atLocation,
      });
    });
  }
});
