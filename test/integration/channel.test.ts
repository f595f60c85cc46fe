/**
 * What a client sends never becomes a setting, an identity or a cache hit it
 * did not earn (the findings F3, F4 and F10 of the fail-closed issue), with
 * `underscores_in_headers on`, under which nginx passes `X_Foo` on and
 * matches it as `$http_x_foo`. Each attack has a control that passes.
 */
import { SignJWT } from 'jose';
import { authRequestStyle, expectRejected, gatewayConfig, gatewayPerFile, MESSAGES, now, tampered, unique } from '../support/gateway';

const SECRET = 'channel-test-secret-0123456789abcdefghijklmnop';
const CONSUMERS = JSON.stringify({
  consumers: [
    { username: 'jack', credentials: [{ id: 'cred-jack', key: 'jack-key', secret: SECRET }] },
    { username: 'anonymous', credentials: [] },
  ],
});

const cached = authRequestStyle('cached');
const locations = (include: string) =>
  ['api', 'strict'].map((name) =>
    [
      `location /${name}/ {`,
      name === 'strict' ? '    set $auth_jwt_leeway 0;' : '',
      `    include \${ROOT}/nginx/${include};`,
      include === 'jwt-auth.conf' ? '    include ${ROOT}/nginx/jwt-proxy-headers.conf;' : '',
      '    proxy_pass http://echo_upstream;',
      '}',
    ].join('\n'),
  );

const CONFIG = gatewayConfig({
  http: `
    underscores_in_headers on;
    large_client_header_buffers 4 32k;
    ${cached.http}
    log_format upstream_seen '$request_uri auth=$http_authorization';
    js_preload_object channel_consumers from \${PREFIX}/consumers.json;
  `,
  echo: { accessLog: '${PREFIX}/logs/upstream.log upstream_seen' },
  servers: [
    ['direct', 'jwt-auth.conf', ''],
    ['uncached', 'jwt-auth-request.conf', authRequestStyle('uncached').locations],
  ].map(
    ([name, include, serverParts]) => `
    server {
        listen 127.0.0.1:\${${name.toUpperCase()}_PORT};
        set $auth_jwt_consumers channel_consumers;
        ${serverParts}
        ${locations(include).join('\n')}
    }
    `,
  ),
  server: ['set $auth_jwt_consumers channel_consumers;', cached.locations, ...locations('jwt-auth-request.conf')],
});

const { it, g } = gatewayPerFile(
  () => ({ config: CONFIG, ports: ['PORT', 'ECHO_PORT', 'DIRECT_PORT', 'UNCACHED_PORT'], files: { 'consumers.json': CONSUMERS } }),
  20000,
);

function token(claims: { [name: string]: unknown } = {}): Promise<string> {
  return new SignJWT({ key: 'jack-key', exp: now() + 600, jti: unique('jti'), ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRET));
}

const STYLES: [string, string][] = [
  ['direct', 'DIRECT_PORT'],
  ['auth_request', 'UNCACHED_PORT'],
  ['cached auth_request', 'PORT'],
];

/** The upstream's access log lines that carry this probe. */
function upstreamSaw(probe: string): string[] {
  return g()
    .readLog('upstream.log')
    .split('\n')
    .filter((line) => line.includes(probe));
}

describe.each(STYLES)('%s style', (_style, port) => {
  const get = (path: string, headers: { [name: string]: string }) => g().request(path, { headers, port });

  it('F3: settings sent as headers, hyphenated or with underscores, are not settings', async () => {
    // Control: no token is a 401, and an expired token is a 401.
    expectRejected(await get('/api/x', {}), MESSAGES.missing, { tokenSent: false });
    const expired = await token({ exp: now() - 60 });
    expectRejected(await get('/strict/x', { Authorization: expired }), MESSAGES.verifyFailed);
    for (const [anonymous, leeway] of [
      ['X_Auth_Jwt_Anonymous_Consumer', 'X_Auth_Jwt_Leeway'],
      ['X-Auth-Jwt-Anonymous-Consumer', 'X-Auth-Jwt-Leeway'],
    ]) {
      expectRejected(await get('/api/x', { [anonymous]: 'anonymous' }), MESSAGES.missing, { tokenSent: false });
      expectRejected(await get('/strict/x', { Authorization: expired, [leeway]: '999999999' }), MESSAGES.verifyFailed);
    }
  });

  it("F4: no query, Authorization and Cookie can be arranged to reuse another request's cache entry", async () => {
    const valid = await token();
    const forged = tampered(await token({ sub: 'someone-else' }));
    const probe = unique('f4');
    // Prime: the valid token in the query, the forged one hidden in another argument.
    expect((await get('/api/x?probe=' + probe + '&jwt=' + valid + '&x=|' + forged + '|', {})).status).toBe(200);
    // The same bytes spread over query, Authorization and Cookie: a different request, judged on its own.
    const reply = await get('/api/x?probe=' + probe + '&jwt=' + valid + '&x=', { Authorization: forged, Cookie: '||' });
    expect(reply.status).toBe(401);
    await g().logLine('access.log', probe);
    expect(upstreamSaw(probe).filter((line) => line.includes('auth=' + forged))).toEqual([]);
    expect(upstreamSaw(probe).length).toBe(1);
  });

  it('F10: identity headers with underscores never reach the upstream', async () => {
    const sent = { X_Consumer_Username: 'admin', X_Credential_Identifier: 'x', X_Consumer_Custom_Id: 'y', X_Anonymous_Consumer: 'true' };
    const reply = await get('/api/x', { Authorization: 'Bearer ' + (await token()), ...sent });
    expect(reply.status).toBe(200);
    const names = Object.keys(reply.json().headers).map((name) => name.toLowerCase());
    expect(names).toContain('x-consumer-username');
    expect(names.filter((name) => name.includes('_'))).toEqual([]);
    expect(reply.json().headers['X-Consumer-Username']).toBe('jack');
  });
});
