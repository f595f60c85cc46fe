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
import {
  AuthRequestStyle,
  authRequestStyle,
  Echo,
  expectRejected,
  Gateway,
  gatewayConfig,
  gatewayPerFile,
  expectForbidden,
  MESSAGES,
  now,
  rawRequest,
  unique,
  expectTokenGone,
  headersBesideToken,
  expectBesideTokenKept,
} from '../support/gateway';

/** What a user would put in the server block (the shippable part is marked). */
function suiteConfig(style: AuthRequestStyle): string {
  return gatewayConfig({
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

      # hide_credentials: no form of the token reaches the upstream (F6).
      location /hidden/ {
          set $auth_jwt_hide_credentials on;
          include \${ROOT}/nginx/jwt-auth-request.conf;
          proxy_pass http://echo_upstream;
      }

      # A match rule that makes backtracking engines explode (F2), and ordinary ones.
      location /rules/ {
          set $auth_jwt_claim_rules "email match ^([a-zA-Z0-9]+[._-]?)+@example[.]com";
          include \${ROOT}/nginx/jwt-auth-request.conf;
          proxy_pass http://echo_upstream;
      }
      location /normal-rules/ {
          set $auth_jwt_claim_rules "sub match ^user-[0-9]{1,6}; email match @example[.](com|org)";
          include \${ROOT}/nginx/jwt-auth-request.conf;
          proxy_pass http://echo_upstream;
      }
    `,
  });
}

const SECRET = 'auth-request-test-secret-0123456789abcdefghij';
const CONSUMERS = {
  consumers: [
    { username: 'dave', labels: { custom_id: 'd-7' }, credentials: [{ id: 'cred-dave', key: 'dave-key', secret: SECRET }] },
    { username: 'erin', credentials: [{ key: 'erin-key', secret: SECRET + '-erin' }] },
    { username: 'guest', credentials: [] },
  ],
};

function token(claims: { [name: string]: unknown }, secret = SECRET): Promise<string> {
  return new SignJWT({ key: 'dave-key', exp: now() + 600, ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

const forged = { 'X-Consumer-Username': 'admin', 'X-Credential-Identifier': 'x', 'X-Consumer-Custom-Id': 'y' };

function expectDave(headers: { [name: string]: string }): void {
  expect({ username: headers['X-Consumer-Username'], credential: headers['X-Credential-Identifier'], customId: headers['X-Consumer-Custom-Id'] }).toEqual({
    username: 'dave',
    credential: 'cred-dave',
    customId: 'd-7',
  });
}

/** What each group of tests uses: the file's gateway, and what reaches its upstream and its raw socket. */
interface Suite {
  it: (name: string, body: () => Promise<void>) => void;
  g: () => Gateway;
  upstreamSaw(probe: string): string[];
  raw(path: string, headerLines: string[]): Promise<{ status: number; body: string }>;
}

/** Two different valid tokens, for dave and erin. */
async function twoTokens(): Promise<[string, string]> {
  return [await token({ sub: 'first' }), await token({ key: 'erin-key', sub: 'second' }, SECRET + '-erin')];
}

/** A valid token in each place the gateway reads it passes with the identity from the subrequest. */
function validTokens({ it, g }: Suite): void {
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
}

/** The anonymous consumer through auth_request. */
function anonymousConsumer({ it, g }: Suite): void {
  describe('an anonymous consumer through auth_request', () => {
    it('no token or a bad one passes as the anonymous consumer, marked as such', async () => {
      const attempts: { [name: string]: string }[] = [{}, { Authorization: 'abc.def' }, { Authorization: 'Bearer ' + (await token({}, SECRET + '-wrong')) }];
      for (const headers of attempts) {
        const echo = await g().echo('/anon/x', { ...headers, ...forged, 'X-Anonymous-Consumer': 'false' });
        expect({
          username: echo.headers['X-Consumer-Username'],
          anonymous: echo.headers['X-Anonymous-Consumer'],
          credential: echo.headers['X-Credential-Identifier'],
        }).toEqual({
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
}

/** Denials: JSON 401 (or 403) through error_page, never proxied. */
function denials({ it, g, upstreamSaw }: Suite): void {
  describe('denials through error_page 401 = @jwt_denied', () => {
    const cases: [string, () => Promise<{ path: string; headers: { [name: string]: string } }>, { message: string }, boolean][] = [
      ['no token', async () => ({ path: '/api/x', headers: {} }), MESSAGES.missing, false],
      ['abc.def', async () => ({ path: '/api/x', headers: { Authorization: 'abc.def' } }), MESSAGES.invalid, true],
      [
        'a bad signature',
        async () => ({ path: '/api/x', headers: { Authorization: 'Bearer ' + (await token({}, SECRET + '-wrong')) } }),
        MESSAGES.verifyFailed,
        true,
      ],
      [
        'an expired token',
        async () => ({ path: '/api/x', headers: { Authorization: 'Bearer ' + (await token({ exp: now() - 10 })) } }),
        MESSAGES.verifyFailed,
        true,
      ],
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
      const count = () =>
        (
          g()
            .nginx.errorLog()
            .match(/jwt-gateway: rejected/g) || []
        ).length;
      const before = count();
      const probe = unique('once');
      await g().get('/api/x?probe=' + probe, { Authorization: 'abc.def' });
      await g().logLine('access.log', probe);
      expect(count() - before).toBe(1);
    });
  });
}

/** F5: two different tokens are refused. */
function multipleTokens({ it, g, upstreamSaw, raw }: Suite): void {
  describe('F5: two different tokens, however they are spelled, are "Multiple tokens provided"', () => {
    const variants: [string, (a: string, b: string) => { path: string; headers: { [name: string]: string } }][] = [
      ['Cookie: jwt=A; jwt=B', (a, b) => ({ path: '/api/x', headers: { Cookie: 'jwt=' + a + '; jwt=' + b } })],
      ['Cookie: JWT=A; jwt=B', (a, b) => ({ path: '/api/x', headers: { Cookie: 'JWT=' + a + '; jwt=' + b } })],
      ['Cookie: a=1, jwt=A; jwt=B', (a, b) => ({ path: '/api/x', headers: { Cookie: 'a=1, jwt=' + a + '; jwt=' + b } })],
      ['?j%77t=A&jwt=B (the subrequest parses $request_uri)', (a, b) => ({ path: '/api/x?j%77t=' + a + '&jwt=' + b, headers: {} })],
      ['?JWT=A&jwt=B', (a, b) => ({ path: '/api/x?JWT=' + a + '&jwt=' + b, headers: {} })],
      ['Authorization: A and Cookie: a=1, Jwt=B', (a, b) => ({ path: '/api/x', headers: { Authorization: 'Bearer ' + a, Cookie: 'a=1, Jwt=' + b } })],
      ['with hiding on (/hidden/)', (a, b) => ({ path: '/hidden/x?J%57T=' + a, headers: { Cookie: 'jwt=' + b } })],
    ];
    for (const [name, make] of variants) {
      it(name + ': 401, never proxied', async () => {
        const [a, b] = await twoTokens();
        const probe = unique('multiple');
        const { path, headers } = make(a, b);
        expectRejected(await g().get(path + (path.includes('?') ? '&' : '?') + 'probe=' + probe, headers), MESSAGES.multiple);
        expect(upstreamSaw(probe)).toEqual([]);
      });
    }

    it('two Cookie headers, one token in each: 401', async () => {
      const [a, b] = await twoTokens();
      const reply = await raw('/api/x', ['Cookie: jwt=' + a, 'Cookie: jwt=' + b]);
      expect({ status: reply.status, body: JSON.parse(reply.body) }).toEqual({ status: 401, body: MESSAGES.multiple });
    });

    it('the same token repeated in every spelling passes', async () => {
      const a = await token({});
      expectDave((await g().echo('/api/x?jwt=' + a + '&j%77t=' + a, { Authorization: 'Bearer ' + a, Cookie: 'jwt=' + a + '; JWT=' + a })).headers);
      expect((await raw('/api/x', ['Cookie: jwt=' + a, 'Cookie: Jwt=' + a])).status).toBe(200);
    });
  });
}

/** F6: hide_credentials through auth_request. */
function hiddenCredentials({ it, g, raw }: Suite): void {
  describe('F6: with hide_credentials on the upstream gets no token in any form, and the rest as sent', () => {
    const cookies: [string, (t: string) => string, string | undefined][] = [
      ['JWT=T', (t) => 'JWT=' + t, undefined],
      ['Jwt=T', (t) => 'Jwt=' + t, undefined],
      ['a=1, jwt=T', (t) => 'a=1, jwt=' + t, 'a=1'],
      ['a=1; JWT=T; b=2', (t) => 'a=1; JWT=' + t + '; b=2', 'a=1; b=2'],
    ];
    for (const [name, cookie, kept] of cookies) {
      it('Cookie: ' + name + ' -> the upstream gets ' + JSON.stringify(kept ?? 'no Cookie'), async () => {
        const t = await token({});
        const echo = await g().echo('/hidden/c', { Cookie: cookie(t) });
        expectDave(echo.headers);
        expectTokenGone(echo, t);
        expect(echo.headers.Cookie).toBe(kept);
      });
    }

    it('?j%77t=T and ?x=1&JWT=T&y=%20z: the argument goes, the others stay as sent', async () => {
      const t = await token({});
      const first = await g().echo('/hidden/q?j%77t=' + t);
      expectDave(first.headers);
      expectTokenGone(first, t);
      expect(first.url).toBe('/hidden/q');
      const second = await g().echo('/hidden/q?x=1&JWT=' + t + '&y=%20z');
      expectTokenGone(second, t);
      expect(second.url).toBe('/hidden/q?x=1&y=%20z');
    });

    it('the Authorization header goes, other headers and cookies stay', async () => {
      const t = await token({});
      const echo = await g().echo('/hidden/h?keep=1', headersBesideToken(t));
      expectDave(echo.headers);
      expectTokenGone(echo, t);
      expectBesideTokenKept(echo, '/hidden/h?keep=1');
    });

    it('two Cookie headers: the token goes, the others arrive as one Cookie header', async () => {
      const t = await token({});
      const reply = await raw('/hidden/c', ['Cookie: a=1', 'Cookie: JWT=' + t + ', b=2']);
      expect(reply.status).toBe(200);
      const echo = JSON.parse(reply.body) as Echo;
      expectDave(echo.headers);
      expectTokenGone(echo, t);
      expect(echo.headers.Cookie).toBe('a=1; b=2');
    });

    it('control: without hiding (/api/) the upstream does see those forms', async () => {
      const t = await token({});
      expect((await g().echo('/api/c', { Cookie: 'a=1, Jwt=' + t })).headers.Cookie).toBe('a=1, Jwt=' + t);
      expect((await g().echo('/api/q?j%77t=' + t)).url).toBe('/api/q?j%77t=' + t);
    });
  });
}

/** F2: match rules never stall a worker. */
function matchRules({ it, g }: Suite): void {
  describe('F2: match claim rules never stall a worker', () => {
    function within<T>(ms: number, work: Promise<T>): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer within ' + ms + ' ms')), ms);
      });
      return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
    }

    it('the catastrophic rule on 40 letters and a "!" answers 403 at once; a matching claim passes', async () => {
      const started = Date.now();
      expectForbidden(await within(5000, g().get('/rules/x', { Authorization: await token({ email: 'a'.repeat(40) + '!@example.com' }) })));
      expect(Date.now() - started).toBeLessThan(1000);
      expectDave((await within(5000, g().echo('/rules/x', { Authorization: await token({ email: 'a'.repeat(40) + '@example.com' }) }))).headers);
    });

    it('a normal match rule still decides', async () => {
      const good = { sub: 'user-42', email: 'ops@example.org' };
      expectDave((await g().echo('/normal-rules/x', { Authorization: await token(good) })).headers);
      expectForbidden(await g().get('/normal-rules/x', { Authorization: await token({ ...good, sub: 'admin-42' }) }));
      expectForbidden(await g().get('/normal-rules/x', { Authorization: await token({ ...good, email: 'ops@example.net' }) }));
    });
  });
}

export function authRequestSuite(style: AuthRequestStyle): void {
  const { it, g } = gatewayPerFile(() => ({
    config: suiteConfig(style),
    ports: ['PORT', 'ECHO_PORT'],
    files: { 'consumers.json': JSON.stringify(CONSUMERS) },
  }));
  const suite: Suite = {
    it,
    g,
    upstreamSaw(probe: string): string[] {
      return g()
        .readLog('upstream.log')
        .split('\n')
        .filter((line) => line.includes(probe));
    },
    raw: (path, headerLines) => rawRequest(g(), path, headerLines),
  };
  validTokens(suite);
  anonymousConsumer(suite);
  denials(suite);
  multipleTokens(suite);
  hiddenCredentials(suite);
  matchRules(suite);
}
