/**
 * `$auth_jwt_mode report`, for rolling out a stricter policy: in the direct
 * and both auth_request styles, expired, tampered and rule-failing tokens
 * reach the upstream without an identity (no consumer headers), and are
 * logged ("would deny") and counted as such; a good token still runs as its
 * consumer; what the gateway itself cannot decide (a config error) is a 401
 * all the same; and the cached style never keeps a pass it would deny.
 */
import { SignJWT } from 'jose';
import { authRequestStyle, expectRejected, gatewayConfig, gatewayPerFile, MESSAGES, now } from '../support/gateway';
import { engine } from '../support/nginx';

const SHARED = engine().features.sharedDict;
const SECRET = 'report-only-test-secret-of-good-length-0123456789';
const POLICY = [
  'set $auth_jwt_mode report;',
  'set $auth_jwt_claim_rules "scope contains read";',
  'set $auth_jwt_claim_set "jwt_scope=scope";',
  'set $auth_jwt_revocation_list ${PREFIX}/revoked.json;',
];
/** What the upstream gets of the token besides the consumer headers: a claim, the payload, a claim-set variable. */
const CLAIM_HEADERS = ['proxy_set_header X-Sub $jwt_claim_sub;', 'proxy_set_header X-Payload $jwt_payload;', 'proxy_set_header X-Scope $jwt_scope;'];
const cached = authRequestStyle('cached');

function token(claims: { [name: string]: unknown } = {}, secret = SECRET): Promise<string> {
  return new SignJWT({ key: 'ka', scope: 'read', exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

const location = (path: string, lines: string[], snippets: string[]) =>
  [
    'location ' + path + ' {',
    ...lines.map((line) => '    ' + line),
    ...snippets.map((snippet) => '    include ${ROOT}/nginx/' + snippet + ';'),
    '    proxy_pass http://echo_upstream;',
    '}',
  ].join('\n');

const { it, g } = gatewayPerFile(() => ({
  config: gatewayConfig({
    http: [
      ...(SHARED ? ['js_shared_dict_zone zone=jwt_metrics:1m type=number;'] : []),
      'js_var $jwt_scope;',
      // An NGINX Plus style requirement on the consumer, which the decision reads.
      'map $jwt_consumer $is_alice { alice 1; default 0; }',
      cached.http,
    ].join('\n'),
    servers: [
      [
        'server {',
        '    listen 127.0.0.1:${CACHED_PORT};',
        '    set $auth_jwt_consumers ${PREFIX}/consumers.json;',
        '    ' + cached.locations,
        '    ' + location('/cached/', POLICY, ['jwt-auth-request.conf']),
        '}',
      ].join('\n'),
    ],
    server: [
      'set $auth_jwt_consumers ${PREFIX}/consumers.json;',
      'location = /metrics { js_content jwt.metrics; }',
      authRequestStyle('uncached').locations,
      location('/direct/', POLICY, ['jwt-auth.conf', 'jwt-proxy-headers.conf']).replace(
        '    proxy_pass',
        CLAIM_HEADERS.map((line) => '    ' + line).join('\n') + '\n    proxy_pass',
      ),
      location('/alice-only/', [...POLICY, 'set $auth_jwt_require is_alice;'], ['jwt-auth.conf', 'jwt-proxy-headers.conf']),
      location('/subrequest/', POLICY, ['jwt-auth-request.conf']),
      location('/broken/', [...POLICY, 'set $auth_jwt_leeway soon;'], ['jwt-auth.conf']),
    ],
  }),
  ports: ['PORT', 'ECHO_PORT', 'CACHED_PORT'],
  files: {
    'consumers.json': JSON.stringify({
      consumers: [
        { username: 'alice', credentials: [{ key: 'ka', secret: SECRET }] },
        { username: 'bob', credentials: [{ key: 'kb', secret: SECRET }] },
      ],
    }),
    'revoked.json': JSON.stringify({ jti: ['revoked-1'] }),
  },
}));

const STYLES: [string, string, string][] = [
  ['direct', '/direct/x', 'PORT'],
  ['auth_request', '/subrequest/x', 'PORT'],
  ['cached auth_request', '/cached/x', 'CACHED_PORT'],
];

for (const [style, path, port] of STYLES) {
  it(style + ': expired, tampered and rule-failing tokens reach the upstream as nobody, logged as "would deny"; a good one as its consumer', async () => {
    const send = async (value: string, probe: string) => {
      const reply = await g().request(path + '?probe=' + probe, { headers: { Authorization: 'Bearer ' + value }, port: port as 'PORT' });
      expect(reply.status).toBe(200);
      return (reply.json() as { headers: { [name: string]: string } }).headers;
    };
    const cases: [string, Promise<string>, string][] = [
      ['expired', token({ exp: now() - 60 }), 'would deny 401 TOKEN_EXPIRED'],
      ['tampered', token({}, 'another-secret-of-good-length-0123456789abcdef'), 'would deny 401 SIGNATURE_INVALID'],
      ['rule', token({ scope: 'write' }), 'would deny 403 CLAIM_RULE_FAILED'],
    ];
    for (const [what, value, line] of cases) {
      const headers = await send(await value, style + '-' + what);
      expect([what, headers['X-Consumer-Username'], headers['X-Credential-Identifier']]).toEqual([what, undefined, undefined]);
      await g().logLine('error.log', line);
    }
    expect((await send(await token(), style + '-good'))['X-Consumer-Username']).toBe('alice');
  });
}

it('direct style: a token that verifies but would be denied gives the upstream none of its claims either', async () => {
  const reply = await g().get('/direct/x', { Authorization: 'Bearer ' + (await token({ scope: 'write', sub: 'alice-sub' })) });
  expect(reply.status).toBe(200);
  const headers = (reply.json() as { headers: { [name: string]: string } }).headers;
  expect([headers['X-Sub'], headers['X-Payload'], headers['X-Scope'], headers['X-Consumer-Username']]).toEqual([undefined, undefined, undefined, undefined]);
  const allowed = (await g().echo('/direct/x', { Authorization: 'Bearer ' + (await token({ sub: 'alice-sub' })) })).headers;
  expect([allowed['X-Sub'], allowed['X-Scope'], allowed['X-Consumer-Username']]).toEqual(['alice-sub', 'read', 'alice']);
});

it('a requirement on $jwt_consumer reads it as in enforce mode: alice passes as alice, bob is let through as nobody', async () => {
  expect((await g().echo('/alice-only/x', { Authorization: 'Bearer ' + (await token()) })).headers['X-Consumer-Username']).toBe('alice');
  const bob = await g().echo('/alice-only/x', { Authorization: 'Bearer ' + (await token({ key: 'kb' })) });
  expect(bob.headers['X-Consumer-Username']).toBeUndefined();
  await g().logLine('error.log', 'would deny 401 REQUIREMENT_FAILED: required variable $is_alice is "0"');
});

it('a revoked token is refused in report mode too: revocation stops a token at once', async () => {
  expectRejected(await g().get('/direct/x', { Authorization: 'Bearer ' + (await token({ jti: 'revoked-1' })) }), MESSAGES.verifyFailed);
});

it('the cached style keeps no pass it would deny: the same rule-failing token is verified each time', async () => {
  const failing = await token({ scope: 'write' });
  for (let i = 0; i < 2; i++) {
    expect((await g().request('/cached/x?probe=kept', { headers: { Authorization: 'Bearer ' + failing }, port: 'CACHED_PORT' })).status).toBe(200);
  }
  await g().logLine('verifier.log', /^204 kept$/m);
  const verified = () =>
    g()
      .readLog('verifier.log')
      .split('\n')
      .filter((line) => line === '204 kept').length;
  expect(verified()).toBe(2);
});

it('what the gateway cannot decide (a config error) is a 401 in report mode too', async () => {
  expectRejected(await g().get('/broken/x', { Authorization: 'Bearer ' + (await token()) }), MESSAGES.verifyFailed, { tokenSent: false });
});

if (SHARED) {
  it('the counters say "would_deny", by reason, apart from denials', async () => {
    const page = (await g().get('/metrics')).text;
    // One per style, two for the cached style's test, one for the claims test.
    expect(page).toContain('jwt_gateway_would_deny_total{code="CLAIM_RULE_FAILED",status="403"} 6\n');
    expect(page).toContain('jwt_gateway_would_deny_total{code="REQUIREMENT_FAILED",status="401"} 1\n');
    expect(page).toContain('jwt_gateway_would_deny_total{code="TOKEN_EXPIRED",status="401"} 3\n');
    expect(page).toContain('jwt_gateway_requests_total{style="direct",outcome="would_deny"} 5\n');
    expect(page).not.toMatch(/jwt_gateway_denials_total\{code="(TOKEN_EXPIRED|SIGNATURE_INVALID|CLAIM_RULE_FAILED)"/);
    expect(page).toContain('jwt_gateway_denials_total{code="CONFIG_INVALID",status="401"} 1\n');
    expect(page).toContain('jwt_gateway_denials_total{code="TOKEN_REVOKED",status="401"} 1\n');
  });
}
