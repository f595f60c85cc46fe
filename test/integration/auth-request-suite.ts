/**
 * The auth_request style, run twice (auth-request.test.ts, and
 * auth-request-cached.test.ts for the cached style): an internal location
 * /_jwt_auth answers 204, or 401 with WWW-Authenticate and X-Jwt-Error,
 * either by itself (jwt.authorize) or through proxy_cache from the verifier
 * server; the protected location copies the identity from the answer with
 * auth_request_set, and a named location turns a denial into the JSON 401
 * users know. The config includes the shipped nginx/jwt-auth-*.conf snippets.
 */
import { SignJWT } from 'jose';
import { AuthRequestStyle, authRequestStyle, expectRejected, gatewayConfig, gatewayPerFile, MESSAGES, now, unique } from './helpers';

export function authRequestSuite(style: AuthRequestStyle): void {
  /** What a user would put in the server block (the shippable part is marked). */
  const CONFIG = gatewayConfig({
    http: `
      ${authRequestStyle(style).http}
      log_format ar escape=json '{"url":"$request_uri","status":"$status","consumer":"$jwt_ar_consumer","upstream":"$upstream_addr"}';
      log_format upstream_seen escape=json '{"url":"$request_uri","consumer":"$http_x_consumer_username"}';
      js_preload_object test_consumers from \${PREFIX}/consumers.json;
    `,
    accessLogFormat: 'ar',
    echo: { accessLog: '${PREFIX}/logs/upstream.log upstream_seen' },
    server: `
      set $auth_jwt_consumers test_consumers;

      ${authRequestStyle(style).locations}

      location /api/ {
          include \${ROOT}/nginx/jwt-auth-request.conf;
          proxy_pass http://echo_upstream;
      }

      # The same, with an anonymous consumer for requests without a valid token.
      location /anon/ {
          set $auth_jwt_anonymous_consumer guest;
          include \${ROOT}/nginx/jwt-auth-request.conf;
          proxy_pass http://echo_upstream;
      }

      # Authorization rules answer 403 through the same subrequest.
      location /admin/ {
          set $auth_jwt_claim_rules "roles contains admin";
          include \${ROOT}/nginx/jwt-auth-request.conf;
          proxy_pass http://echo_upstream;
      }

      # auth_request alone, without jwt-auth-request.conf: the location's
      # settings are unknown, so every request is denied, with nginx's own page.
      location /bare/ {
          auth_request /_jwt_auth;
          proxy_pass http://echo_upstream;
      }

      location /realm/ {
          set $auth_jwt_realm "my api";
          include \${ROOT}/nginx/jwt-auth-request.conf;
          proxy_pass http://echo_upstream;
      }
    `,
  });

  const SECRET = 'auth-request-test-secret-0123456789abcdefghij';
  const CONSUMERS = {
    consumers: [
      { username: 'dave', labels: { custom_id: 'd-7' }, credentials: [{ id: 'cred-dave', key: 'dave-key', secret: SECRET }] },
      { username: 'erin', credentials: [{ key: 'erin-key', secret: SECRET + '-erin' }] },
      { username: 'guest', credentials: [] },
    ],
  };

  const { it, g } = gatewayPerFile(() => ({ config: CONFIG, ports: ['PORT', 'ECHO_PORT'], files: { 'consumers.json': JSON.stringify(CONSUMERS) } }));

  function token(claims: { [name: string]: unknown }, secret = SECRET): Promise<string> {
    return new SignJWT({ key: 'dave-key', exp: now() + 600, ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
  }

  function upstreamSaw(probe: string): string[] {
    return g()
      .readLog('upstream.log')
      .split('\n')
      .filter((line) => line.includes(probe));
  }

  const forged = { 'X-Consumer-Username': 'admin', 'X-Credential-Identifier': 'x', 'X-Consumer-Custom-Id': 'y' };

  function expectDave(headers: { [name: string]: string }): void {
    expect({ username: headers['X-Consumer-Username'], credential: headers['X-Credential-Identifier'], customId: headers['X-Consumer-Custom-Id'] }).toEqual({
      username: 'dave',
      credential: 'cred-dave',
      customId: 'd-7',
    });
  }

  describe('a valid token, wherever it is', () => {
    it('Authorization: Bearer passes with the identity from the subrequest', async () => {
      const echo = await g().echo('/api/x', { Authorization: 'Bearer ' + (await token({})), ...forged });
      expectDave(echo.headers);
    });

    it('Authorization without a scheme passes', async () => {
      expectDave((await g().echo('/api/x', { Authorization: await token({}) })).headers);
    });

    it('the query argument passes (the subrequest reads $request_uri)', async () => {
      const probe = unique('query');
      const echo = await g().echo('/api/x?probe=' + probe + '&jwt=' + (await token({})) + '&other=1', forged);
      expectDave(echo.headers);
      expect(echo.args.probe).toBe(probe);
      expect(echo.args.other).toBe('1');
    });

    it('the query argument as the first argument passes', async () => {
      expectDave((await g().echo('/api/x?jwt=' + (await token({})))).headers);
    });

    it('a percent-encoded query argument passes', async () => {
      const jwt = await token({});
      const encoded = jwt.replace(/\./g, '%2E');
      expectDave((await g().echo('/api/x?jwt=' + encoded)).headers);
    });

    it('the cookie passes', async () => {
      expectDave((await g().echo('/api/x', { Cookie: 'a=b; jwt=' + (await token({})) + '; c=d', ...forged })).headers);
    });

    it('a consumer without credential id or custom_id gets those headers removed, not forwarded from the client', async () => {
      const echo = await g().echo('/api/x', { Authorization: 'Bearer ' + (await token({ key: 'erin-key' }, SECRET + '-erin')), ...forged });
      expect(echo.headers['X-Consumer-Username']).toBe('erin');
      expect(echo.headers['X-Credential-Identifier']).toBeUndefined();
      expect(echo.headers['X-Consumer-Custom-Id']).toBeUndefined();
    });

    it('a method other than GET passes', async () => {
      const reply = await g().request('/api/x', { method: 'DELETE', headers: { Authorization: 'Bearer ' + (await token({})) } });
      expect(reply.status).toBe(200);
      expect(reply.json().method).toBe('DELETE');
    });
  });

  describe('an anonymous consumer through auth_request', () => {
    it('no token or a bad one passes as the anonymous consumer, marked as such', async () => {
      const attempts: { [name: string]: string }[] = [{}, { Authorization: 'abc.def' }, { Authorization: 'Bearer ' + (await token({}, SECRET + '-wrong')) }];
      for (const headers of attempts) {
        const echo = await g().echo('/anon/x', { ...headers, ...forged, 'X-Anonymous-Consumer': 'false' });
        expect({ username: echo.headers['X-Consumer-Username'], anonymous: echo.headers['X-Anonymous-Consumer'], credential: echo.headers['X-Credential-Identifier'] }).toEqual({
          username: 'guest',
          anonymous: 'true',
          credential: undefined,
        });
      }
    });

    it('a valid token passes as its consumer, and a forged anonymous marker is removed', async () => {
      const echo = await g().echo('/anon/x', { Authorization: 'Bearer ' + (await token({})), ...forged, 'X-Anonymous-Consumer': 'true' });
      expectDave(echo.headers);
      expect(echo.headers['X-Anonymous-Consumer']).toBeUndefined();
    });
  });

  describe('denials through error_page 401 = @jwt_denied', () => {
    const cases: [string, () => Promise<{ path: string; headers: { [name: string]: string } }>, { message: string }, boolean][] = [
      ['no token', async () => ({ path: '/api/x', headers: {} }), MESSAGES.missing, false],
      ['abc.def', async () => ({ path: '/api/x', headers: { Authorization: 'abc.def' } }), MESSAGES.invalid, true],
      ['a bad signature', async () => ({ path: '/api/x', headers: { Authorization: 'Bearer ' + (await token({}, SECRET + '-wrong')) } }), MESSAGES.verifyFailed, true],
      ['an expired token', async () => ({ path: '/api/x', headers: { Authorization: 'Bearer ' + (await token({ exp: now() - 10 })) } }), MESSAGES.verifyFailed, true],
      ['an unknown key', async () => ({ path: '/api/x', headers: { Authorization: 'Bearer ' + (await token({ key: 'who' })) } }), MESSAGES.unknownKey, true],
      ['no key claim', async () => ({ path: '/api/x', headers: { Authorization: 'Bearer ' + (await token({ key: undefined })) } }), MESSAGES.noKey, true],
      ['a bad token in the query', async () => ({ path: '/api/x?jwt=' + (await token({}, SECRET + '-wrong')), headers: {} }), MESSAGES.verifyFailed, true],
      ['a bad token in the cookie', async () => ({ path: '/api/x', headers: { Cookie: 'jwt=abc.def' } }), MESSAGES.invalid, true],
    ];
    for (const [name, make, body, tokenSent] of cases) {
      it(name + ': 401 JSON with WWW-Authenticate, never proxied', async () => {
        const probe = unique('denied');
        const { path, headers } = await make();
        const reply = await g().get(path + (path.includes('?') ? '&' : '?') + 'probe=' + probe, { ...headers, ...forged });
        expectRejected(reply, body, { tokenSent });
        expect(reply.text).not.toContain('admin');
        expect(upstreamSaw(probe)).toEqual([]);
        const line = JSON.parse(await g().logLine('access.log', probe));
        expect(line).toEqual({ url: expect.stringContaining(probe), status: '401', consumer: '', upstream: '' });
      });
    }

    it('HEAD and POST are denied the same way', async () => {
      const head = await g().request('/api/x', { method: 'HEAD' });
      expect(head.status).toBe(401);
      expect(head.headers['www-authenticate']).toBe('Bearer realm="jwt"');
      expectRejected(await g().request('/api/x', { method: 'POST', headers: { Authorization: 'abc.def' } }), MESSAGES.invalid);
    });

    it('the realm of the location reaches WWW-Authenticate', async () => {
      expectRejected(await g().get('/realm/x'), MESSAGES.missing, { tokenSent: false, realm: 'my api' });
      expect((await g().echo('/realm/x', { Authorization: 'Bearer ' + (await token({})) })).headers['X-Consumer-Username']).toBe('dave');
    });

    it('a claim rule that does not hold: 403 JSON with error="insufficient_scope", never proxied', async () => {
      const probe = unique('forbidden');
      const reply = await g().get('/admin/x?probe=' + probe, { Authorization: 'Bearer ' + (await token({ roles: ['user'] })), ...forged });
      expect({ status: reply.status, body: reply.json() }).toEqual({ status: 403, body: { message: 'JWT claims do not permit this request' } });
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      expect(reply.headers['www-authenticate']).toBe('Bearer realm="jwt", error="insufficient_scope"');
      expect(upstreamSaw(probe)).toEqual([]);
      // A bad token there is still a 401, and the rule's holder passes.
      expectRejected(await g().get('/admin/x', { Authorization: 'abc.def' }), MESSAGES.invalid);
      const echo = await g().echo('/admin/x', { Authorization: 'Bearer ' + (await token({ roles: ['user', 'admin'] })), ...forged });
      expect(echo.headers['X-Consumer-Username']).toBe('dave');
    });

    it('auth_request without the snippet denies every request (nginx HTML 401), never proxies, and logs why', async () => {
      const probe = unique('bare');
      for (const authorization of ['abc.def', 'Bearer ' + (await token({}))]) {
        const reply = await g().get('/bare/x?probe=' + probe, { Authorization: authorization, ...forged });
        expect(reply.status).toBe(401);
      }
      expect(upstreamSaw(probe)).toEqual([]);
      await g().logLine('error.log', /jwt-gateway: config error: .*include jwt-auth-request\.conf/);
    });

    it('the internal location cannot be called directly', async () => {
      const reply = await g().get('/_jwt_auth', { Authorization: 'Bearer ' + (await token({})) });
      expect(reply.status).toBe(404);
    });

    it('each request is decided once (one rejection line per denied request)', async () => {
      const count = () => (g().nginx.errorLog().match(/jwt-gateway: rejected/g) || []).length;
      const before = count();
      const probe = unique('once');
      await g().get('/api/x?probe=' + probe, { Authorization: 'abc.def' });
      await g().logLine('access.log', probe);
      expect(count() - before).toBe(1);
    });
  });
}
