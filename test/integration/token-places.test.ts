/**
 * Where the token may be, against real nginx in the direct style
 * (jwt-auth.conf + jwt-proxy-headers.conf), for three findings:
 *   F5: every spelling of the token's cookie or query argument counts, so two
 *       different tokens are 401 "Multiple tokens provided" however they are
 *       sent (duplicate and case-variant cookies, a comma as a separator, two
 *       Cookie headers, percent-encoded or case-variant argument names);
 *   F6: with $auth_jwt_hide_credentials on the upstream (echo) receives no
 *       token in any form, and every other cookie and argument as sent;
 *   F2: a catastrophic `match` claim rule answers 403 promptly (PCRE used to
 *       throw and let the request pass; QuickJS hung the worker), and a
 *       normal one still works.
 * Tokens are minted with jose.
 */
import { SignJWT } from 'jose';
import {
  authLocation,
  Echo,
  expectRejected,
  gatewayConfig,
  gatewayPerFile,
  expectForbidden,
  MESSAGES,
  now,
  rawRequest,
  Reply,
  unique,
  expectTokenGone,
  headersBesideToken,
  expectBesideTokenKept,
} from '../support/gateway';

const SECRET = 'token-places-secret-0123456789abcdefghijklmnop';
const CONSUMERS = {
  consumers: [
    { username: 'dave', labels: { custom_id: 'd-7' }, credentials: [{ id: 'cred-dave', key: 'dave-key', secret: SECRET }] },
    { username: 'erin', credentials: [{ id: 'cred-erin', key: 'erin-key', secret: SECRET + '-erin' }] },
  ],
};

const SET = 'set $auth_jwt_consumers places_consumers;';
const CATASTROPHIC = 'email match ^([a-zA-Z0-9]+[._-]?)+@example[.]com';

const CONFIG = gatewayConfig({
  http: 'js_preload_object places_consumers from ${PREFIX}/consumers.json;',
  server: [
    authLocation('/plain/', [SET]),
    authLocation('/hidden/', [SET, 'set $auth_jwt_hide_credentials on;']),
    // jwt-proxy-headers.conf hides only on exactly "on" (nginx decides, without JavaScript): other spellings must deny.
    authLocation('/hidden-upper/', [SET, 'set $auth_jwt_hide_credentials ON;']),
    authLocation('/hidden-one/', [SET, 'set $auth_jwt_hide_credentials 1;']),
    authLocation('/lenient/', [SET, 'set $auth_jwt_reject_multiple_tokens off;']),
    authLocation('/rules/', [SET, 'set $auth_jwt_claim_rules "' + CATASTROPHIC + '";']),
    authLocation('/normal-rules/', [SET, 'set $auth_jwt_claim_rules "sub match ^user-[0-9]{1,6}; email match @example[.](com|org); roles contains admin";']),
    authLocation('/bad-rule/', [SET, 'set $auth_jwt_claim_rules "roles contains admin; email match ^(a)\\1";']),
  ],
});

const { it, g } = gatewayPerFile(() => ({
  config: CONFIG,
  ports: ['PORT', 'ECHO_PORT'],
  files: { 'consumers.json': JSON.stringify(CONSUMERS) },
}));

function token(claims: { [name: string]: unknown } = {}, secret = SECRET): Promise<string> {
  return new SignJWT({ key: 'dave-key', exp: now() + 600, ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

/** Two different valid tokens, for dave and erin. */
async function twoTokens(): Promise<[string, string]> {
  return [await token({ sub: 'first' }), await token({ key: 'erin-key', sub: 'second' }, SECRET + '-erin')];
}

const raw = (path: string, headerLines: string[]) => rawRequest(g(), path, headerLines);

function expectDave(echo: Echo): void {
  expect({ username: echo.headers['X-Consumer-Username'], credential: echo.headers['X-Credential-Identifier'] }).toEqual({
    username: 'dave',
    credential: 'cred-dave',
  });
}

/** The reply, or a failure after `ms`: a worker that hangs must fail the test, not stall it. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer within ' + ms + ' ms')), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

describe('F5: two different tokens, however they are spelled, are "Multiple tokens provided"', () => {
  const variants: [string, (a: string, b: string) => { path: string; headers: { [name: string]: string } }][] = [
    ['Cookie: jwt=A; jwt=B', (a, b) => ({ path: '/plain/x', headers: { Cookie: 'jwt=' + a + '; jwt=' + b } })],
    ['Cookie: JWT=A; jwt=B', (a, b) => ({ path: '/plain/x', headers: { Cookie: 'JWT=' + a + '; jwt=' + b } })],
    ['Cookie: a=1, jwt=A; jwt=B', (a, b) => ({ path: '/plain/x', headers: { Cookie: 'a=1, jwt=' + a + '; jwt=' + b } })],
    ['Cookie: a=1; Jwt=A, jwt=B', (a, b) => ({ path: '/plain/x', headers: { Cookie: 'a=1; Jwt=' + a + ', jwt=' + b } })],
    ['?j%77t=A&jwt=B', (a, b) => ({ path: '/plain/x?j%77t=' + a + '&jwt=' + b, headers: {} })],
    ['?JWT=A&jwt=B', (a, b) => ({ path: '/plain/x?JWT=' + a + '&jwt=' + b, headers: {} })],
    ['?jwt=A and Cookie: JWT=B', (a, b) => ({ path: '/plain/x?jwt=' + a, headers: { Cookie: 'JWT=' + b } })],
    ['Authorization: A and ?J%57T=B', (a, b) => ({ path: '/plain/x?J%57T=' + b, headers: { Authorization: 'Bearer ' + a } })],
    ['with hiding on too (/hidden/)', (a, b) => ({ path: '/hidden/x', headers: { Cookie: 'a=1, jwt=' + a + '; JWT=' + b } })],
  ];
  for (const [name, make] of variants) {
    it(name + ': 401, never proxied', async () => {
      const [a, b] = await twoTokens();
      const { path, headers } = make(a, b);
      expectRejected(await g().get(path, headers), MESSAGES.multiple);
    });
  }

  it('two Cookie headers, one token in each: 401 (nginx sees both)', async () => {
    const [a, b] = await twoTokens();
    const reply = await raw('/plain/x', ['Cookie: jwt=' + a, 'Cookie: jwt=' + b]);
    expect({ status: reply.status, body: JSON.parse(reply.body) }).toEqual({ status: 401, body: MESSAGES.multiple });
    const second = await raw('/plain/x', ['Cookie: a=1', 'Cookie: JWT=' + a + ', b=2; jwt=' + b]);
    expect(second.status).toBe(401);
  });

  it('the same token repeated in every spelling passes', async () => {
    const a = await token();
    expectDave(
      await g().echo('/plain/x?jwt=' + a + '&j%77t=' + a + '&JWT=' + a, { Authorization: 'Bearer ' + a, Cookie: 'jwt=' + a + '; JWT=' + a + ', Jwt=' + a }),
    );
    const twice = await raw('/plain/x', ['Cookie: jwt=' + a, 'Cookie: JWT=' + a]);
    expect(twice.status).toBe(200);
  });

  it('each spelling alone is the token', async () => {
    const a = await token();
    for (const [path, headers] of [
      ['/plain/x?j%77t=' + a, {}],
      ['/plain/x?JWT=' + a, {}],
      ['/plain/x', { Cookie: 'JWT=' + a }],
      ['/plain/x', { Cookie: 'a=1, jwt=' + a }],
    ] as [string, { [name: string]: string }][]) {
      expectDave(await g().echo(path, headers));
    }
  });

  it('with $auth_jwt_reject_multiple_tokens off the first one found is taken (header, query, cookies in order)', async () => {
    const [a, b] = await twoTokens();
    expectDave(await g().echo('/lenient/x?jwt=' + b, { Authorization: 'Bearer ' + a, Cookie: 'jwt=' + b }));
    expectDave(await g().echo('/lenient/x', { Cookie: 'a=1, JWT=' + a + '; jwt=' + b }));
  });
});

describe('F6: with hide_credentials on the upstream gets no token in any form, and the rest as sent', () => {
  /** Asserts the upstream saw no trace of the token. */

  const cookies: [string, (t: string) => string, string][] = [
    ['JWT=T', (t) => 'JWT=' + t, ''],
    ['Jwt=T', (t) => 'Jwt=' + t, ''],
    ['a=1, jwt=T', (t) => 'a=1, jwt=' + t, 'a=1'],
    ['a=1; JWT=T; b=2', (t) => 'a=1; JWT=' + t + '; b=2', 'a=1; b=2'],
    ['a=1, Jwt=T; b="x y"; jwt=T', (t) => 'a=1, Jwt=' + t + '; b="x y"; jwt=' + t, 'a=1, b="x y"'],
    ['j%77t=T; c=3', (t) => 'j%77t=' + t + '; c=3', 'c=3'],
  ];
  for (const [name, cookie, kept] of cookies) {
    it('Cookie: ' + name + ' -> the upstream gets ' + JSON.stringify(kept), async () => {
      const t = await token();
      const echo = await g().echo('/hidden/c', { Cookie: cookie(t) });
      expectDave(echo);
      expectTokenGone(echo, t);
      expect(echo.headers.Cookie).toBe(kept === '' ? undefined : kept);
    });
  }

  const queries: [string, (t: string) => string, string][] = [
    ['?j%77t=T', (t) => 'j%77t=' + t, ''],
    ['?JWT=T&a=1', (t) => 'JWT=' + t + '&a=1', 'a=1'],
    ['?x=1&j%77t=T&y=%20z+w&Jwt=T', (t) => 'x=1&j%77t=' + t + '&y=%20z+w&Jwt=' + t, 'x=1&y=%20z+w'],
    ['?a=1&jwt=T&b=2', (t) => 'a=1&jwt=' + t + '&b=2', 'a=1&b=2'],
  ];
  for (const [name, query, kept] of queries) {
    it(name + ' -> the upstream gets ' + JSON.stringify(kept === '' ? '/hidden/q' : '/hidden/q?' + kept), async () => {
      const t = await token();
      const echo = await g().echo('/hidden/q?' + query(t));
      expectDave(echo);
      expectTokenGone(echo, t);
      expect(echo.url).toBe(kept === '' ? '/hidden/q' : '/hidden/q?' + kept);
    });
  }

  for (const [location, value] of [
    ['/hidden-upper/', 'ON'],
    ['/hidden-one/', '1'],
  ]) {
    it('$auth_jwt_hide_credentials ' + value + ' (neither on nor off) is a config error: 401, the token never reaches the upstream', async () => {
      const t = await token();
      const reply = await g().get(location + 'h', { Authorization: 'Bearer ' + t, Cookie: 'jwt=' + t });
      expectRejected(reply, MESSAGES.verifyFailed, { tokenSent: false });
      expect(reply.text).not.toContain(t.slice(t.lastIndexOf('.') + 1));
      expect(g().nginx.errorLog()).toContain('jwt-gateway: config error: $auth_jwt_hide_credentials: must be on or off, got "' + value + '"');
    });
  }

  it('the Authorization header is removed, other headers are not', async () => {
    const t = await token();
    const echo = await g().echo('/hidden/h?keep=1', headersBesideToken(t));
    expectDave(echo);
    expectTokenGone(echo, t);
    expectBesideTokenKept(echo, '/hidden/h?keep=1');
  });

  it('two Cookie headers: the token goes, the others arrive as one Cookie header', async () => {
    const t = await token();
    const reply = await raw('/hidden/c', ['Cookie: a=1', 'Cookie: JWT=' + t + ', b=2']);
    expect(reply.status).toBe(200);
    const echo = JSON.parse(reply.body) as Echo;
    expectDave(echo);
    expectTokenGone(echo, t);
    expect(echo.headers.Cookie).toBe('a=1; b=2');
  });

  it('control: without hiding (/plain/) the upstream does see every one of those forms', async () => {
    const t = await token();
    expect((await g().echo('/plain/c', { Cookie: 'a=1, Jwt=' + t })).headers.Cookie).toBe('a=1, Jwt=' + t);
    expect((await g().echo('/plain/q?j%77t=' + t)).url).toBe('/plain/q?j%77t=' + t);
    expect((await g().echo('/plain/h', { Authorization: 'Bearer ' + t })).headers.Authorization).toBe('Bearer ' + t);
  });
});

describe('F2: match claim rules never stall a worker', () => {
  it('the catastrophic rule on 40 letters and a "!" answers 403 at once', async () => {
    const t = await token({ email: 'a'.repeat(40) + '!@example.com' });
    const started = Date.now();
    const reply = await within(5000, g().get('/rules/x', { Authorization: 'Bearer ' + t }));
    expectForbidden(reply);
    expect(Date.now() - started).toBeLessThan(1000);
    await g().logLine('error.log', 'rejected 403 CLAIM_RULE_FAILED: claim rule "' + CATASTROPHIC + '" does not hold');
    // The worker still answers, and the rule still lets a matching claim through.
    expectDave(await within(5000, g().echo('/rules/x', { Authorization: 'Bearer ' + (await token({ email: 'a'.repeat(40) + '@example.com' })) })));
  });

  it('many such requests in parallel are all answered promptly', async () => {
    const t = await token({ email: 'a'.repeat(60) + '!@example.com' });
    const started = Date.now();
    const replies = await within(5000, Promise.all(Array.from({ length: 20 }, () => g().get('/rules/x', { Authorization: t }))));
    expect(replies.map((reply) => reply.status)).toEqual(Array(20).fill(403));
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a claim over 256 bytes is not examined: 403', async () => {
    const t = await token({ email: 'a'.repeat(245) + '@example.com' });
    expectForbidden(await within(5000, g().get('/rules/x', { Authorization: t })));
    expectDave(await g().echo('/rules/x', { Authorization: await token({ email: 'a'.repeat(244) + '@example.com' }) }));
  });

  it('a normal set of match rules still decides', async () => {
    const good = { sub: 'user-42', email: 'ops@example.org', roles: ['admin'] };
    expectDave(await g().echo('/normal-rules/x', { Authorization: await token(good) }));
    for (const broken of [{ sub: 'admin-42' }, { sub: 'user-' }, { email: 'ops@example.net' }, { email: 42 }, { roles: ['user'] }]) {
      expectForbidden(await g().get('/normal-rules/x', { Authorization: await token({ ...good, ...broken }) }));
    }
  });

  it('a pattern outside the subset is a config error naming the rule: 401, never a pass', async () => {
    const reply = await g().get('/bad-rule/x', { Authorization: await token({ email: 'a@example.com', roles: ['admin'] }) });
    // The settings are refused before the token is looked at.
    expectRejected(reply, MESSAGES.verifyFailed, { tokenSent: false });
    const line = await g().logLine('error.log', 'config error: $auth_jwt_claim_rules');
    expect(line).toContain('rule "email match ^(a)\\1": not a regular expression of the supported subset');
    expect(line).toContain('backreferences');
    expect(line).toMatch(/\[error\]/);
  });

  it('a probe is never proxied when denied', async () => {
    const probe = unique('probe');
    const reply: Reply = await g().get('/rules/x?probe=' + probe, { Authorization: await token({ email: 'b'.repeat(30) + '-!@example.com' }) });
    expect(reply.status).toBe(403);
    expect(reply.text).not.toContain(probe);
  });
});
