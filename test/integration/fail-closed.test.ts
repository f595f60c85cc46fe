/**
 * Fail closed: an exception in any phase of verification, or a verifier that
 * cannot be reached, is a 401 with a log line, never a pass and never a 500,
 * in every style. The faults are injected by the tests' build of the bundle
 * (build/dist/jwt-gateway-faults.js, njs/nginx/faults.ts): `?fault=PHASE`
 * makes that phase throw. Each phase runs with an HS256 token (verified
 * synchronously) and an RS256 token (through WebCrypto's promises).
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { importPKCS8, SignJWT } from 'jose';
import { engine, ROOT } from '../support/nginx';
import { Gateway, gatewayConfig, now, startGateway, unique, testsWithLogs, withLogs } from '../support/gateway';

const FAULTS_BUNDLE = path.join(ROOT, 'build', 'dist', 'jwt-gateway-faults.js');
const SECRET = 'fail-closed-secret-0123456789abcdefghijklmnop';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const CONSUMERS = JSON.stringify({
  consumers: [
    { username: 'hs', credentials: [{ key: 'hs-key', secret: SECRET }] },
    { username: 'rs', credentials: [{ key: 'rs-key', algorithm: 'RS256', public_key: rsa.publicKey.export({ type: 'spki', format: 'pem' }) }] },
  ],
});

type Style = 'direct' | 'error-page' | 'auth_request' | 'cached' | 'direct-shared-cache';
const PHASES = ['settings', 'keys', 'token', 'verify', 'verified', 'revocation', 'claim-variables', 'decision', 'answer', 'authorize'];
/** Where the engine has ngx.shared: the direct style with $auth_jwt_cache_zone, whose cache lookup is a phase too. */
const SHARED_DICT = engine().features.sharedDict;
/**
 * The phases each style runs: the direct styles answer through js_set variables, the auth_request ones through jwt.authorize.
 * With the shared cache the control has stored both tokens, so the later requests are hits: no key source, no verification.
 */
const RUNS: { [style: string]: string[] } = {
  direct: PHASES.filter((phase) => phase !== 'authorize'),
  'error-page': PHASES.filter((phase) => phase !== 'authorize'),
  auth_request: PHASES.filter((phase) => phase !== 'answer'),
  cached: PHASES.filter((phase) => phase !== 'answer'),
  ...(SHARED_DICT ? { 'direct-shared-cache': ['cache', ...PHASES.filter((phase) => !['authorize', 'keys', 'verify'].includes(phase))] } : {}),
};
const PORTS: { [style in Style]: string } = {
  direct: 'PORT',
  'error-page': 'PAGE_PORT',
  auth_request: 'AR_PORT',
  cached: 'CACHED_PORT',
  'direct-shared-cache': 'SHARED_PORT',
};

const protectedLocation = (includes: string[]) =>
  [
    'location /api/ {',
    '    set $jwt_test_fault $arg_fault;',
    ...includes.map((file) => '    include ${ROOT}/nginx/' + file + ';'),
    '    proxy_pass http://echo_upstream;',
    '}',
  ].join('\n');

/** A server of one style: its server-level lines, and /api/ with the style's location snippets. */
const styleServer = (port: string, serverLines: string[], includes: string[]) =>
  [
    'server {',
    '    listen 127.0.0.1:${' + port + '};',
    '    set $auth_jwt_consumers fc_consumers;',
    ...serverLines.map((line) => '    ' + line),
    protectedLocation(includes),
    '}',
  ].join('\n');

const CONFIG = gatewayConfig({
  http: `
    js_preload_object fc_consumers from \${PREFIX}/consumers.json;
    js_var $jwt_test_fault;
    include \${ROOT}/nginx/jwt-boot-id.conf;
    log_format upstream_seen '$request_uri';
    proxy_cache_path \${PREFIX}/jwt-cache levels=1:2 keys_zone=jwt_cache:1m max_size=10m inactive=10m use_temp_path=off;
    ${SHARED_DICT ? 'js_shared_dict_zone zone=fc_verified:1m timeout=60s evict;' : ''}
    upstream jwt_verifier { server unix:\${PREFIX}/verifier.sock; }
    server {
        listen unix:\${PREFIX}/verifier.sock;
        location / {
            set $jwt_test_fault $arg_fault;
            include \${ROOT}/nginx/jwt-verifier.conf;
        }
    }
  `,
  echo: { accessLog: '${PREFIX}/logs/upstream.log upstream_seen' },
  servers: [
    styleServer(
      'PAGE_PORT',
      ['error_page 401 = @page401;', 'location @page401 { default_type application/json; return 401 \'{"message":"denied by the page"}\'; }'],
      ['jwt-auth-error-page.conf', 'jwt-proxy-headers.conf'],
    ),
    styleServer('AR_PORT', ['include ${ROOT}/nginx/jwt-auth-request-locations.conf;'], ['jwt-auth-request.conf']),
    styleServer('CACHED_PORT', ['include ${ROOT}/nginx/jwt-auth-cache-locations.conf;'], ['jwt-auth-request.conf']),
    ...(SHARED_DICT ? [styleServer('SHARED_PORT', ['set $auth_jwt_cache_zone fc_verified;'], ['jwt-auth.conf', 'jwt-proxy-headers.conf'])] : []),
  ],
  server: ['set $auth_jwt_consumers fc_consumers;', protectedLocation(['jwt-auth.conf', 'jwt-proxy-headers.conf'])],
}).replace('${BUNDLE}', FAULTS_BUNDLE);

let gw: Gateway | undefined;
const g = () => gw as Gateway;
const tokens: { [alg: string]: string } = {};

beforeAll(async () => {
  if (!existsSync(FAULTS_BUNDLE)) execFileSync(process.execPath, [path.join(ROOT, 'build', 'build.mjs'), '--njs-tests'], { stdio: 'pipe' });
  tokens.HS256 = await new SignJWT({ key: 'hs-key', exp: now() + 600 }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
  const privateKey = await importPKCS8(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'RS256');
  tokens.RS256 = await new SignJWT({ key: 'rs-key', exp: now() + 600 }).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
  gw = await startGateway({
    config: CONFIG,
    ports: ['PORT', 'ECHO_PORT', 'PAGE_PORT', 'AR_PORT', 'CACHED_PORT', ...(SHARED_DICT ? ['SHARED_PORT'] : [])],
    files: { 'consumers.json': CONSUMERS },
  });
}, 30000);

afterAll(async () => {
  if (!gw) return;
  const errorLog = g().nginx.errorLog();
  await g().nginx.stop();
  expect(errorLog.split('\n').filter((line) => /exited on signal|\[alert\]|\[emerg\]/.test(line))).toEqual([]);
  expect(g().seen.filter((entry) => entry.status >= 500)).toEqual([]);
});

const it = testsWithLogs(() => gw, 20000);
const upstreamSaw = (probe: string) => g().readLog('upstream.log').includes(probe);

describe.each(Object.keys(RUNS) as Style[])('%s style', (style) => {
  const get = (query: string, headers: { [name: string]: string } = {}) => g().request('/api/x?' + query, { headers, port: PORTS[style] });

  it('control: without a fault both tokens pass', async () => {
    for (const alg of Object.keys(tokens)) expect((await get('probe=' + unique('ok'), { Authorization: 'Bearer ' + tokens[alg] })).status).toBe(200);
  });

  for (const phase of RUNS[style]) {
    it('an exception in phase "' + phase + '" is a 401 with a log line, and the upstream never sees the request', async () => {
      for (const alg of Object.keys(tokens)) {
        const probe = unique(phase);
        const reply = await get('fault=' + phase + '&probe=' + probe, { Authorization: 'Bearer ' + tokens[alg] });
        expect({ alg, status: reply.status }).toEqual({ alg, status: 401 });
        if (style !== 'error-page') expect(reply.json()).toEqual({ message: 'failed to verify jwt' });
        expect(upstreamSaw(probe)).toBe(false);
      }
      await g().logLine('error.log', 'injected fault: ' + phase);
    });
  }
});

/** The cached style alone, with its verifier upstream at a socket where nobody listens, or answering 500. */
const brokenVerifier = (verifier: string) =>
  gatewayConfig({
    http: `
      js_preload_object fc_consumers from \${PREFIX}/consumers.json;
      include \${ROOT}/nginx/jwt-boot-id.conf;
      proxy_cache_path \${PREFIX}/jwt-cache levels=1:2 keys_zone=jwt_cache:1m max_size=10m inactive=10m use_temp_path=off;
      upstream jwt_verifier { server unix:\${PREFIX}/verifier.sock; }
      ${verifier}
    `,
    server: ['set $auth_jwt_consumers fc_consumers;', 'include ${ROOT}/nginx/jwt-auth-cache-locations.conf;', protectedLocation(['jwt-auth-request.conf'])],
  });

describe.each([
  ['cannot be reached', '', /auth request unexpected status: 502/],
  ['answers 500', 'server { listen unix:${PREFIX}/verifier.sock; location / { return 500; } }', /auth request unexpected status: 500/],
])('cached style, a verifier that %s', (_name, verifier, logged) => {
  test('is a 401 with a log line, not a 500, and the upstream never sees the request', async () => {
    const broken = await startGateway({ config: brokenVerifier(verifier), ports: ['PORT', 'ECHO_PORT'], files: { 'consumers.json': CONSUMERS } });
    try {
      await withLogs(
        () => broken,
        async () => {
          const reply = await broken.get('/api/x', { Authorization: 'Bearer ' + tokens.HS256 });
          expect({ status: reply.status, body: reply.json() }).toEqual({ status: 401, body: { message: 'failed to verify jwt' } });
          expect(reply.headers['www-authenticate']).toBe('Bearer realm="jwt"');
          await broken.logLine('error.log', logged);
        },
      )();
    } finally {
      await broken.nginx.stop();
    }
  }, 20000);
});
