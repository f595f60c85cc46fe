/**
 * What the gateway decided, counted: after a mixed run of known requests
 * (allowed, expired, forged, failing a claim rule, without a token,
 * anonymous) in the direct and auth_request styles, over two workers, the
 * metrics page (js_content jwt.metrics, a js_shared_dict_zone) shows exactly
 * those counts by style, outcome, reason and consumer; and $jwt_auth_reason
 * ($jwt_ar_reason in the auth_request styles) gives each request's code to
 * the access log, which is what njs 0.7.9 has (its metrics page is a 501
 * saying so).
 */
import { SignJWT } from 'jose';
import { authRequestStyle, gatewayConfig, gatewayPerFile, now, whenPassing } from '../support/gateway';
import { engine } from '../support/nginx';

const SHARED = engine().features.sharedDict;
const PERIODIC = engine().features.periodic;
const SECRET = 'metrics-test-secret-of-good-length-0123456789abcdef';
const CONSUMERS = JSON.stringify({
  consumers: [
    { username: 'alice', credentials: [{ key: 'ka', secret: SECRET }] },
    { username: 'guest', credentials: [] },
  ],
});

function token(claims: { [name: string]: unknown } = {}, secret = SECRET): Promise<string> {
  return new SignJWT({ key: 'ka', scope: 'read', exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

const { it, g } = gatewayPerFile(() => ({
  config: gatewayConfig({
    workers: 2,
    http: [
      ...(SHARED ? ['js_shared_dict_zone zone=jwt_metrics:1m type=number;', 'js_shared_dict_zone zone=jwt_verified:1m timeout=60s;'] : []),
      ...(PERIODIC ? ['js_shared_dict_zone zone=jwt_jwks:1m;'] : []),
      'log_format direct_reasons \'$arg_probe $status "$jwt_auth_reason"\';',
      'log_format ar_reasons \'$arg_probe $status "$jwt_ar_reason"\';',
    ].join('\n'),
    server: [
      'set $auth_jwt_consumers ${PREFIX}/consumers.json;',
      'location = /metrics { js_content jwt.metrics; }',
      // The direct style's cache, and keys fetched by the refresher from this server (its Host is 127.0.0.1).
      'server_name 127.0.0.1;',
      'location = /keys { default_type application/json; alias ${PREFIX}/keys.json; }',
      ...(PERIODIC ? ['include ${ROOT}/nginx/jwt-jwks-refresh.conf;'] : []),
      [
        'location /api/ {',
        '    access_log ${PREFIX}/logs/direct.log direct_reasons;',
        '    set $auth_jwt_claim_rules "scope contains read";',
        '    include ${ROOT}/nginx/jwt-auth.conf;',
        '    include ${ROOT}/nginx/jwt-proxy-headers.conf;',
        '    proxy_pass http://echo_upstream;',
        '}',
        'location /cached/ {',
        '    set $auth_jwt_cache_zone jwt_verified;',
        '    include ${ROOT}/nginx/jwt-auth.conf;',
        '    proxy_pass http://echo_upstream;',
        '}',
        'location /fetched/ {',
        '    set $auth_jwt_consumers "";',
        '    set $auth_jwt_jwks_uri http://127.0.0.1:${PORT}/keys;',
        '    include ${ROOT}/nginx/jwt-auth.conf;',
        '    proxy_pass http://echo_upstream;',
        '}',
        'location /anon/ {',
        '    set $auth_jwt_anonymous_consumer guest;',
        '    include ${ROOT}/nginx/jwt-auth.conf;',
        '    include ${ROOT}/nginx/jwt-proxy-headers.conf;',
        '    proxy_pass http://echo_upstream;',
        '}',
      ].join('\n'),
    ],
    // The auth_request style in a server of its own, whose access log (at server level, so the error pages' lines too) has $jwt_ar_reason.
    servers: [
      [
        'server {',
        '    listen 127.0.0.1:${AR_PORT};',
        '    access_log ${PREFIX}/logs/ar.log ar_reasons;',
        '    set $auth_jwt_consumers ${PREFIX}/consumers.json;',
        '    ' + authRequestStyle('uncached').locations,
        '    location /ar/ {',
        '        include ${ROOT}/nginx/jwt-auth-request.conf;',
        '        proxy_pass http://echo_upstream;',
        '    }',
        '}',
      ].join('\n'),
    ],
  }),
  ports: ['PORT', 'ECHO_PORT', 'AR_PORT'],
  files: {
    'consumers.json': CONSUMERS,
    'keys.json': JSON.stringify({ keys: [{ kty: 'oct', kid: 'k1', alg: 'HS256', k: Buffer.from(SECRET).toString('base64url') }] }),
  },
}));

const bearer = (value: string) => ({ Authorization: 'Bearer ' + value });

/** The mixed run: each request's path (with its probe), token, and the status it must get. */
async function mixedRun(): Promise<[string, { [name: string]: string }, number][]> {
  const good = await token();
  const expired = await token({ exp: now() - 60 });
  const forged = await token({}, 'another-secret-of-good-length-0123456789abcdefgh');
  const writer = await token({ scope: 'write' });
  const run: [string, { [name: string]: string }, number][] = [];
  const add = (times: number, path: string, headers: { [name: string]: string }, status: number) => {
    for (let i = 0; i < times; i++) run.push([path + '?probe=' + run.length, headers, status]);
  };
  add(5, '/api/x', bearer(good), 200);
  add(3, '/api/x', bearer(expired), 401);
  add(2, '/api/x', bearer(forged), 401);
  add(4, '/api/x', bearer(writer), 403);
  add(2, '/api/x', {}, 401);
  add(3, '/anon/x', {}, 200);
  add(2, '/ar/x', bearer(good), 200);
  add(1, '/ar/x', bearer(expired), 401);
  return run;
}

it('each request logs its reason code: $jwt_auth_reason in the direct style, $jwt_ar_reason in the auth_request styles', async () => {
  for (const [path, headers, status] of await mixedRun()) {
    const reply = await g().request(path, { headers, port: path.startsWith('/ar/') ? 'AR_PORT' : 'PORT' });
    expect([path, reply.status]).toEqual([path, status]);
  }
  // Access log lines come when their requests end: wait for the last of each log.
  await g().logLine('direct.log', /^15 /);
  await g().logLine('ar.log', /^21 /);
  const lines = (file: string) =>
    g()
      .readLog(file)
      .split('\n')
      .filter((line) => line)
      .map((line) => line.replace(/^[0-9]+ /, ''));
  expect(lines('direct.log')).toEqual([
    ...Array(5).fill('200 ""'),
    ...Array(3).fill('401 "TOKEN_EXPIRED"'),
    ...Array(2).fill('401 "SIGNATURE_INVALID"'),
    ...Array(4).fill('403 "CLAIM_RULE_FAILED"'),
    ...Array(2).fill('401 "TOKEN_MISSING"'),
  ]);
  expect(lines('ar.log')).toEqual(['200 ""', '200 ""', '401 "TOKEN_EXPIRED"']);
});

if (SHARED) {
  it('the metrics page counts exactly that run, by style, outcome, reason and consumer, across two workers', async () => {
    const page = await g().get('/metrics');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const counts = page.text.split('\n').filter((line) => line && !line.startsWith('#'));
    expect(counts).toEqual([
      'jwt_gateway_requests_total{style="auth_request",outcome="allowed"} 2',
      'jwt_gateway_requests_total{style="auth_request",outcome="denied"} 1',
      'jwt_gateway_requests_total{style="direct",outcome="allowed"} 5',
      'jwt_gateway_requests_total{style="direct",outcome="anonymous"} 3',
      'jwt_gateway_requests_total{style="direct",outcome="denied"} 11',
      'jwt_gateway_denials_total{code="CLAIM_RULE_FAILED",status="403"} 4',
      'jwt_gateway_denials_total{code="SIGNATURE_INVALID",status="401"} 2',
      'jwt_gateway_denials_total{code="TOKEN_EXPIRED",status="401"} 4',
      'jwt_gateway_denials_total{code="TOKEN_MISSING",status="401"} 2',
      'jwt_gateway_consumer_requests_total{consumer="alice",outcome="allowed"} 7',
      'jwt_gateway_consumer_requests_total{consumer="alice",outcome="denied"} 4',
      'jwt_gateway_consumer_requests_total{consumer="guest",outcome="anonymous"} 3',
    ]);
    expect(page.text).toContain('# TYPE jwt_gateway_requests_total counter');
  });
  it("then: the direct style's cache hits and misses, and the refresher's fetches", async () => {
    const cached = await token();
    for (let i = 0; i < 2; i++) expect((await g().get('/cached/x', bearer(cached))).status).toBe(200);
    const counts = async () => (await g().get('/metrics')).text;
    expect(await counts()).toContain('jwt_gateway_cache_total{result="hit"} 1\njwt_gateway_cache_total{result="miss"} 1\n');
    if (PERIODIC) {
      const fetched = new SignJWT({ exp: now() + 600 }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode(SECRET));
      expect((await whenPassing(g(), '/fetched/x', await fetched)).status).toBe(200);
      expect(await counts()).toMatch(/jwt_gateway_jwks_fetches_total\{provider="http:\/\/127\.0\.0\.1:[0-9]+\/keys",result="ok"\} [1-9]/);
    }
  });
} else {
  it('without js_shared_dict_zone (njs < 0.8.0) the metrics page is a 501 that says what to use instead', async () => {
    // Asked past the gateway helper, which holds every 5xx of a file for a defect: this one is the answer the page gives here.
    const page = await fetch(g().nginx.url('/metrics'));
    expect(page.status).toBe(501);
    expect(await page.json()).toEqual({ message: expect.stringMatching(/metrics need njs >= 0\.8\.0 .* log \$jwt_auth_reason/) });
  });
}
