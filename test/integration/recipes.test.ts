/**
 * Every recipe of README.md ("## Recipes"), run as written: the blocks are
 * read from the README (readme-recipes.ts), put together into one nginx.conf
 * and served by one real nginx in front of the echo upstream. A recipe that
 * disappears from the README, or a new one without a test here, fails the
 * suite, so the README and the tests cannot drift apart.
 */
import http from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { SignJWT } from 'jose';
import { rateLimitConfig } from '../../cli/rate-limits';
import { describeProblems } from '../../njs/core/errors';
import { engine, Nginx, startNginx } from '../support/nginx';
import { composeConfig, getRecipe, locationsOf, parseRecipes, Place, readmeRecipes, runnable } from '../support/readme-recipes';

/** The recipes this suite runs: exactly those the README has. */
const RECIPES: [string, Place][] = [
  ['consumers', 'http'],
  ['hide-credentials', 'server'],
  ['multiple-tokens', 'server'],
  ['anonymous-consumer', 'server'],
  ['key-claim', 'server'],
  ['claim-requirements', 'server'],
  ['claim-rules', 'server'],
  ['require', 'http'],
  ['require', 'server'],
  ['claim-set', 'http'],
  ['claim-set', 'server'],
  ['revocation', 'http'],
  ['revocation', 'server'],
  ['consumer-rate-limits', 'http'],
  ['consumer-rate-limits', 'server'],
  ['per-sub', 'http'],
  ['per-sub', 'server'],
  ['env-secrets', 'main'],
  ['error-pages', 'server'],
];

const SEED_TOKEN = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJqYWNrLWtleSIsIm5iZiI6MTcyOTEzMjI3MX0.UEPXy5jpid624T1XpfjM0PLY73LZPjV3Qt8yZ92kVuU';
const JACK_SECRET = 'jack-hs256-secret-that-is-very-long';
const KONG_ISSUER = 'https://issuer.example';
const KONG_SECRET = 'kong-style-secret-for-the-issuer-credential';
const KID = 'kid-credential-2024';
const KID_SECRET = 'kid-named-credential-secret-0123456789';
const GRACE_SECRET = 'grace-period-credential-secret-0123456789';
const GRACE_SECONDS = 120;
/**
 * Values only the environment knows; the logs must never show them. They go
 * into the real process environment, which nginx inherits, and stay there (see
 * exportToChildren): a later file in the same Jest process sees them in its
 * copy of process.env and reuses them.
 */
const ENV_SECRET = process.env.JWT_TEST_SECRET || 'env-secret-' + randomBytes(16).toString('hex');
const SVC_SECRET = process.env.SVC_JWT_SECRET || 'svc-secret-' + randomBytes(16).toString('hex');

const CONSUMERS = {
  consumers: [
    {
      username: 'jack',
      labels: { custom_id: '495aec6a' },
      limit: { count: 3, time_window: 30 },
      credentials: [{ id: 'cred-jack-jwt-auth', key: 'jack-key', secret: JACK_SECRET }],
    },
    { username: 'anonymous', labels: { custom_id: 'anon-1' }, limit: { count: 1, time_window: 30 }, credentials: [] },
    // Kong's jwt plugin names the credential by `iss`.
    { username: 'kong-user', credentials: [{ id: 'cred-kong', key: KONG_ISSUER, secret: KONG_SECRET }] },
    // Named by the token header's `kid`.
    { username: 'kid-user', credentials: [{ id: 'cred-kid', key: KID, secret: KID_SECRET }] },
    { username: 'grace-user', credentials: [{ id: 'cred-grace', key: 'grace-key', secret: GRACE_SECRET, lifetime_grace_period: GRACE_SECONDS }] },
    { username: 'env-user', credentials: [{ id: 'cred-env', key: 'env-key', secret: '$env://JWT_TEST_SECRET' }] },
    { username: 'env-unset-user', credentials: [{ id: 'cred-env-unset', key: 'env-unset-key', secret: '$env://JWT_TEST_UNSET' }] },
    // The README's own example, with the variable its `env` recipe names.
    { username: 'svc', credentials: [{ id: 'cred-svc', key: 'svc-key', secret: '$env://SVC_JWT_SECRET' }] },
  ],
};

const REVOKED = { jti: ['jti-revoked'], sub: ['sub-revoked'], kid: ['kid-revoked'] };

/** Test-only config around the recipes. */
const RUNTIME_REVOKE_LOCATION = ['location = /test/revoke {', '    set $auth_jwt_revocation_zone jwt_revoked;', '    js_content jwt.revoke;', '}'].join('\n');

/**
 * Where the engine has js_shared_dict_zone (njs >= 0.8.0), the README's
 * run-time revocation block: the zone, and a location that checks it.
 */
const SHARED_DICT = engine().features.sharedDict;
const REVOCATION_ZONE = 'js_shared_dict_zone zone=jwt_revoked:1m timeout=1d;';
const ZONE_LOCATION = [
  'location /revocable-zone/ {',
  '    set $auth_jwt_consumers consumers;',
  '    set $auth_jwt_revocation_zone jwt_revoked;',
  '    include /etc/nginx/jwt/jwt-auth.conf;',
  '    include /etc/nginx/jwt/jwt-proxy-headers.conf;',
  '    proxy_pass http://backend;',
  '}',
].join('\n');
/** From njs 0.8.8 a worker sees only the variables `env` names: the test's own variable is named like the README's. */
const ENV_LINES = engine().features.envDirectiveOnly ? ['env JWT_TEST_SECRET;'] : [];

const FAILED = { message: 'failed to verify jwt' };
const FORBIDDEN = { message: 'JWT claims do not permit this request' };

let nginx: Nginx | undefined;
/** Every response of this file; 5xx are allowed only where a test expects one. */
const responses: { path: string; status: number }[] = [];
const expected5xx = new Set<string>();

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): any;
}

interface Echo {
  method: string;
  url: string;
  path: string;
  args: { [name: string]: string };
  headers: { [name: string]: string };
}

function gw(): Nginx {
  if (!nginx) throw new Error('nginx did not start (see the beforeAll error)');
  return nginx;
}

/** node:http, a fresh connection each time: any Cookie header goes out as given, and a reload never meets an old keepalive connection. */
function request(pathAndQuery: string, headers: { [name: string]: string } = {}, method = 'GET', body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(gw().url(pathAndQuery), { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        responses.push({ path: pathAndQuery, status: res.statusCode ?? 0 });
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json() {
            try {
              return JSON.parse(text);
            } catch (e) {
              throw new Error('not JSON (status ' + res.statusCode + '): ' + text, { cause: e });
            }
          },
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A request that must reach the echo upstream: what the upstream received. */
async function echo(pathAndQuery: string, headers: { [name: string]: string } = {}): Promise<Echo> {
  const reply = await request(pathAndQuery, headers);
  if (reply.status !== 200) throw new Error('expected 200 from ' + pathAndQuery + ', got ' + reply.status + ': ' + reply.text);
  return reply.json() as Echo;
}

async function expectRejected(pathAndQuery: string, headers: { [name: string]: string }, status: number, body: object): Promise<Reply> {
  const reply = await request(pathAndQuery, headers);
  expect({ status: reply.status, body: reply.text === '' ? '' : reply.json() }).toEqual({ status, body });
  return reply;
}

const now = () => Math.floor(Date.now() / 1000);
const bytes = (text: string) => new TextEncoder().encode(text);
const unique = (name: string) => name + '-' + randomBytes(4).toString('hex');
const bearer = (token: string) => ({ Authorization: 'Bearer ' + token });

function sign(payload: object, secret: string, header: object = {}): Promise<string> {
  return new SignJWT({ ...payload }).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header }).sign(bytes(secret));
}

/** A token of jack's credential, valid for ten minutes; `claims` adds or (with undefined) removes claims. */
function jack(claims: object = {}, header: object = {}): Promise<string> {
  return sign({ key: 'jack-key', sub: 'jack', iat: now(), exp: now() + 600, ...claims }, JACK_SECRET, header);
}

/** jack's claims, signed with the wrong secret. */
function forged(claims: object = {}): Promise<string> {
  return sign({ key: 'jack-key', sub: 'jack', iat: now(), exp: now() + 600, ...claims }, 'not-' + JACK_SECRET);
}

function expectJack(headers: { [name: string]: string }): void {
  expect({
    username: headers['X-Consumer-Username'],
    credential: headers['X-Credential-Identifier'],
    customId: headers['X-Consumer-Custom-Id'],
    anonymous: headers['X-Anonymous-Consumer'],
  }).toEqual({ username: 'jack', credential: 'cred-jack-jwt-auth', customId: '495aec6a', anonymous: undefined });
}

function readPrefixFile(name: string): string {
  const file = path.join(gw().prefix, name);
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The line of a log in the prefix that matches, once nginx has written it. */
function logLine(file: string, pattern: RegExp): Promise<string> {
  return waitFor(file + ' line ' + pattern, () =>
    readPrefixFile(file)
      .split('\n')
      .find((line) => pattern.test(line)),
  );
}

function count(statuses: number[]): { [status: number]: number } {
  const counts: { [status: number]: number } = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** Adds nginx's logs to a failing test's message. */
function it(name: string, body: () => Promise<void>): void {
  test(
    name,
    async () => {
      try {
        await body();
      } catch (e) {
        if (nginx && e instanceof Error) {
          e.message += '\n\n--- error.log (tail) ---\n' + nginx.errorLog().split('\n').slice(-40).join('\n');
        }
        throw e;
      }
    },
    15000,
  );
}

beforeAll(async () => {
  if (process.env.JWT_TEST_UNSET !== undefined) throw new Error('JWT_TEST_UNSET must not be set in the environment of this test');
  const all = readmeRecipes();
  const recipes = RECIPES.map(([name, place]) => getRecipe(all, name, place));
  const limits = rateLimitConfig(CONSUMERS, 'consumers.json');
  if (limits.problems.length) throw new Error('rate-limits: ' + describeProblems(limits.problems).join('; '));
  nginx = await startNginx({
    config: composeConfig(recipes, {
      main: ENV_LINES,
      http: SHARED_DICT ? [REVOCATION_ZONE] : [],
      server: SHARED_DICT ? [RUNTIME_REVOKE_LOCATION, ZONE_LOCATION] : [RUNTIME_REVOKE_LOCATION],
    }),
    env: { JWT_TEST_SECRET: ENV_SECRET, SVC_JWT_SECRET: SVC_SECRET },
    ports: ['PORT', 'ECHO_PORT'],
    files: {
      'consumers.json': JSON.stringify(CONSUMERS, null, 2),
      'revoked.json': JSON.stringify(REVOKED),
      'jwt-rate-limit-zones.conf': limits.zones,
      'jwt-rate-limits.conf': limits.limits,
    },
  });
}, 20000);

afterAll(async () => {
  if (nginx) await nginx.stop();
});

describe('the README and this suite', () => {
  it('the README has every recipe this suite runs, and no other', async () => {
    const names = readmeRecipes().map((r) => r.name + ' ' + r.place);
    expect(names.slice().sort()).toEqual(RECIPES.map(([name, place]) => name + ' ' + place).sort());
  });

  it('a missing recipe is an error naming it', async () => {
    const recipes = parseRecipes('<!-- recipe: one server -->\n```nginx\nlocation /one/ { return 204; }\n```\n');
    expect(getRecipe(recipes, 'one', 'server').body).toBe('location /one/ { return 204; }');
    expect(() => getRecipe(recipes, 'two', 'server')).toThrow('README.md has no recipe "two server"');
    expect(() => getRecipe(recipes, 'one', 'http')).toThrow('no recipe "one http"');
  });

  it('a marker must name a place and be followed by an nginx block', async () => {
    expect(() => parseRecipes('<!-- recipe: one location -->\n```nginx\n```\n')).toThrow('PLACE main, http or server');
    expect(() => parseRecipes('<!-- recipe: one server -->\n```json\n{}\n```\n')).toThrow('not followed by a ```nginx block');
    expect(() => parseRecipes('<!-- recipe: one server -->\n```nginx\nx;\n```\n<!-- recipe: one server -->\n```nginx\ny;\n```\n')).toThrow('also at line 1');
  });

  it('two recipes defining the same location fail loudly', async () => {
    const recipes = parseRecipes(
      '<!-- recipe: a server -->\n```nginx\nlocation /same/ {\n    return 204;\n}\n```\n\n<!-- recipe: b server -->\n```nginx\nlocation /same/ { return 200; }\n```\n',
    );
    expect(() => composeConfig(recipes)).toThrow(/location \/same\/ is defined twice/);
    expect(locationsOf('location = /x { }\nlocation ~ ^/y(/|$) {\n}\n  location /z/{')).toEqual(['= /x', '~ ^/y(/|$)', '/z/']);
  });

  it('installed paths map onto the repository and the test prefix', async () => {
    expect(runnable('include /etc/nginx/jwt/jwt-auth.conf;')).toBe('include ${ROOT}/nginx/jwt-auth.conf;');
    expect(runnable('js_preload_object c from /etc/nginx/jwt/consumers.json;')).toBe('js_preload_object c from ${PREFIX}/consumers.json;');
    expect(runnable('include /etc/nginx/jwt/jwt-rate-limits.conf;')).toBe('include ${PREFIX}/jwt-rate-limits.conf;');
    expect(runnable('access_log /var/log/nginx/a.log x;')).toBe('access_log ${PREFIX}/logs/a.log x;');
    expect(runnable('proxy_pass http://backend;')).toBe('proxy_pass http://echo_upstream;');
    expect(runnable('proxy_pass http://backend_v2;')).toBe('proxy_pass http://backend_v2;');
  });

  it('the composed config runs every recipe block', async () => {
    const conf = readPrefixFile('nginx.conf');
    for (const [name, place] of RECIPES) expect(conf).toContain('README recipe: ' + name + ' ' + place + ' ');
    expect(conf).not.toContain('/etc/nginx/');
    expect(conf).not.toContain('http://backend');
  });
});

describe('hide-credentials (/hidden/)', () => {
  it('a token in the header does not reach the upstream', async () => {
    const seen = await echo('/hidden/h', bearer(await jack()));
    expect(seen.headers.Authorization).toBeUndefined();
    expectJack(seen.headers);
  });

  it('a token in the query: the jwt argument is removed, the others kept in order', async () => {
    const token = await jack();
    const seen = await echo('/hidden/q?a=1&jwt=' + token + '&b=2');
    expect(seen.url).toBe('/hidden/q?a=1&b=2');
    expect(seen.args).toEqual({ a: '1', b: '2' });
    expect(JSON.stringify(seen)).not.toContain(token);
    expectJack(seen.headers);
  });

  it('a token in a cookie: the jwt cookie is removed, the others kept', async () => {
    const token = await jack();
    const seen = await echo('/hidden/c', { Cookie: 'a=1; jwt=' + token + '; b=2' });
    expect(seen.headers.Cookie).toBe('a=1; b=2');
    expect(JSON.stringify(seen)).not.toContain(token);
    expectJack(seen.headers);
  });

  it('without hiding (/lenient/) the upstream does see the token in all three places', async () => {
    const token = await jack();
    expect((await echo('/lenient/h', bearer(token))).headers.Authorization).toBe('Bearer ' + token);
    const query = await echo('/lenient/q?a=1&jwt=' + token + '&b=2');
    expect(query.args).toEqual({ a: '1', jwt: token, b: '2' });
    expect((await echo('/lenient/c', { Cookie: 'a=1; jwt=' + token + '; b=2' })).headers.Cookie).toBe('a=1; jwt=' + token + '; b=2');
  });

  it('a credential with lifetime_grace_period accepts a slightly expired token where there is no leeway', async () => {
    const expired = { iat: now() - 600, exp: now() - 20 };
    const grace = await sign({ key: 'grace-key', sub: 'g', ...expired }, GRACE_SECRET);
    expect((await echo('/hidden/grace', bearer(grace))).headers['X-Consumer-Username']).toBe('grace-user');
    await expectRejected('/hidden/grace', bearer(await jack(expired)), 401, FAILED);
    const tooLate = await sign({ key: 'grace-key', sub: 'g', iat: now() - 600, exp: now() - GRACE_SECONDS - 20 }, GRACE_SECRET);
    await expectRejected('/hidden/grace', bearer(tooLate), 401, FAILED);
  });
});

describe('multiple-tokens', () => {
  it('two different valid tokens (header and query) are refused by default (/hidden/)', async () => {
    const first = await jack({ sub: 'first' });
    const second = await jack({ sub: 'second' });
    const reply = await expectRejected('/hidden/m?jwt=' + second, bearer(first), 401, { message: 'Multiple tokens provided' });
    expect(reply.headers['www-authenticate']).toBe('Bearer realm="jwt", error="invalid_token"');
    await expectRejected('/hidden/m', { ...bearer(first), Cookie: 'jwt=' + second }, 401, { message: 'Multiple tokens provided' });
  });

  it('the same token twice is fine', async () => {
    const token = await jack();
    expectJack((await echo('/hidden/m?jwt=' + token, bearer(token))).headers);
    expectJack((await echo('/hidden/m?jwt=' + token, { ...bearer(token), Cookie: 'jwt=' + token })).headers);
  });

  it('/lenient/ takes the first token found (the header)', async () => {
    const grace = await sign({ key: 'grace-key', sub: 'g', exp: now() + 600 }, GRACE_SECRET);
    const seen = await echo('/lenient/m?jwt=' + grace, bearer(await jack()));
    expectJack(seen.headers);
    const fromQuery = await echo('/lenient/m?jwt=' + grace, { Cookie: 'jwt=' + (await jack()) });
    expect(fromQuery.headers['X-Consumer-Username']).toBe('grace-user');
  });
});

describe('anonymous-consumer (/public/)', () => {
  function expectAnonymous(headers: { [name: string]: string }): void {
    expect({
      username: headers['X-Consumer-Username'],
      credential: headers['X-Credential-Identifier'],
      customId: headers['X-Consumer-Custom-Id'],
      anonymous: headers['X-Anonymous-Consumer'],
    }).toEqual({ username: 'anonymous', credential: undefined, customId: 'anon-1', anonymous: 'true' });
  }

  it('no token: the request runs as the anonymous consumer, with its custom_id', async () => {
    expectAnonymous((await echo('/public/a')).headers);
  });

  it('a bad token (malformed, forged, expired) also runs as anonymous', async () => {
    expectAnonymous((await echo('/public/a', bearer('not-a-jwt'))).headers);
    expectAnonymous((await echo('/public/a', bearer(await forged()))).headers);
    expectAnonymous((await echo('/public/a', bearer(await jack({ exp: now() - 100 })))).headers);
  });

  it('identity headers sent by the client never reach the upstream', async () => {
    const spoofed = {
      'X-Consumer-Username': 'admin',
      'X-Anonymous-Consumer': 'false',
      'X-Credential-Identifier': 'cred-admin',
      'X-Consumer-Custom-Id': 'root',
    };
    expectAnonymous((await echo('/public/a', spoofed)).headers);
    const seen = await echo('/public/a', { ...spoofed, 'X-Anonymous-Consumer': 'true', ...bearer(await jack()) });
    expectJack(seen.headers);
  });

  it('a valid token runs as its consumer, not as anonymous', async () => {
    expectJack((await echo('/public/a', bearer(await jack()))).headers);
  });

  it('without the recipe (/hidden/) no token is a 401', async () => {
    const reply = await expectRejected('/hidden/a', {}, 401, { message: 'Missing JWT token in request' });
    expect(reply.headers['www-authenticate']).toBe('Bearer realm="jwt"');
  });
});

describe('key-claim', () => {
  it('/kong-style/: the credential is named by iss', async () => {
    const token = await sign({ iss: KONG_ISSUER, sub: 'k', exp: now() + 600 }, KONG_SECRET);
    const seen = await echo('/kong-style/x', bearer(token));
    expect([seen.headers['X-Consumer-Username'], seen.headers['X-Credential-Identifier']]).toEqual(['kong-user', 'cred-kong']);
    await expectRejected('/hidden/x', bearer(token), 401, { message: 'missing user key in JWT token' });
    const unknown = await sign({ iss: 'https://other.example', exp: now() + 600 }, KONG_SECRET);
    await expectRejected('/kong-style/x', bearer(unknown), 401, { message: 'Invalid user key in JWT token' });
  });

  it('/by-kid/: the credential is named by the header kid', async () => {
    const token = await sign({ sub: 'k', exp: now() + 600 }, KID_SECRET, { kid: KID });
    const seen = await echo('/by-kid/x', bearer(token));
    expect([seen.headers['X-Consumer-Username'], seen.headers['X-Credential-Identifier']]).toEqual(['kid-user', 'cred-kid']);
    await expectRejected('/hidden/x', bearer(token), 401, { message: 'missing user key in JWT token' });
    const wrongSecret = await sign({ sub: 'k', exp: now() + 600 }, JACK_SECRET, { kid: KID });
    await expectRejected('/by-kid/x', bearer(wrongSecret), 401, FAILED);
  });
});

describe('claim-requirements (/strict/)', () => {
  /** Passes every requirement of the recipe. */
  const good = () => ({ sub: 'strict-user', iss: 'https://idp.example.com', aud: 'orders-api', iat: now() - 10, exp: now() + 600 });

  it('a token meeting every requirement passes (aud as a string, either issuer)', async () => {
    expectJack((await echo('/strict/x', bearer(await jack(good())))).headers);
    expectJack((await echo('/strict/x', bearer(await jack({ ...good(), iss: 'https://login.example.com' })))).headers);
  });

  it('a missing sub or exp is refused', async () => {
    await expectRejected('/strict/x', bearer(await jack({ ...good(), sub: undefined })), 401, FAILED);
    await expectRejected('/strict/x', bearer(await jack({ ...good(), exp: undefined })), 401, FAILED);
  });

  it('exp more than 3600 s away is refused', async () => {
    await expectRejected('/strict/x', bearer(await jack({ ...good(), iat: undefined, exp: now() + 3700 })), 401, FAILED);
    expectJack((await echo('/strict/x', bearer(await jack({ ...good(), iat: undefined, exp: now() + 3500 })))).headers);
  });

  it('exp more than 3600 s after iat is refused', async () => {
    await expectRejected('/strict/x', bearer(await jack({ ...good(), iat: now() - 3000, exp: now() + 1000 })), 401, FAILED);
    expectJack((await echo('/strict/x', bearer(await jack({ ...good(), iat: now() - 2000, exp: now() + 1000 })))).headers);
  });

  it('another issuer, or none, is refused', async () => {
    await expectRejected('/strict/x', bearer(await jack({ ...good(), iss: 'https://evil.example.com' })), 401, FAILED);
    await expectRejected('/strict/x', bearer(await jack({ ...good(), iss: undefined })), 401, FAILED);
  });

  it('aud: an array naming orders-api passes; no match is refused', async () => {
    expectJack((await echo('/strict/x', bearer(await jack({ ...good(), aud: ['billing-api', 'orders-api'] })))).headers);
    await expectRejected('/strict/x', bearer(await jack({ ...good(), aud: 'billing-api' })), 401, FAILED);
    await expectRejected('/strict/x', bearer(await jack({ ...good(), aud: ['billing-api', 'orders'] })), 401, FAILED);
    await expectRejected('/strict/x', bearer(await jack({ ...good(), aud: undefined })), 401, FAILED);
  });

  it('leeway 30: expired 10 s ago passes, 60 s ago is refused', async () => {
    expectJack((await echo('/strict/x', bearer(await jack({ ...good(), iat: now() - 100, exp: now() - 10 })))).headers);
    await expectRejected('/strict/x', bearer(await jack({ ...good(), iat: now() - 100, exp: now() - 60 })), 401, FAILED);
    // The same 10 s on a location without leeway.
    await expectRejected('/hidden/x', bearer(await jack({ ...good(), iat: now() - 100, exp: now() - 10 })), 401, FAILED);
  });
});

describe('claim-rules (/admin/)', () => {
  const allowed = { roles: ['user', 'admin'], scope: 'read write', org: { tier: 'gold' }, level: 3, email: 'ops@example.com' };
  const broken: [string, object][] = [
    ['roles contains admin', { roles: ['user'] }],
    ['scope contains write', { scope: 'read writer' }],
    ['org.tier in gold,silver', { org: { tier: 'bronze' } }],
    ['level ge 3', { level: 2 }],
    ['email suffix @example.com', { email: 'ops@example.com.evil' }],
    ['roles present', { roles: undefined }],
  ];

  it('all rules satisfied: 200', async () => {
    expectJack((await echo('/admin/x', bearer(await jack(allowed)))).headers);
    expectJack((await echo('/admin/x', bearer(await jack({ ...allowed, org: { tier: 'silver' }, level: 7 })))).headers);
  });

  for (const [rule, change] of broken) {
    it('broken "' + rule + '": 403 insufficient_scope', async () => {
      const reply = await expectRejected('/admin/x', bearer(await jack({ ...allowed, ...change })), 403, FORBIDDEN);
      expect(reply.headers['www-authenticate']).toBe('Bearer realm="jwt", error="insufficient_scope"');
    });
  }

  it('the log names the broken rule', async () => {
    await expectRejected('/admin/logged', bearer(await jack({ ...allowed, level: 1 })), 403, FORBIDDEN);
    await logLine('logs/error.log', /rejected 403 CLAIM_RULE_FAILED: claim rule "level ge 3" does not hold/);
  });

  it('an invalid token is a 401, not a 403', async () => {
    const reply = await expectRejected('/admin/x', bearer(await forged(allowed)), 401, FAILED);
    expect(reply.headers['www-authenticate']).toBe('Bearer realm="jwt", error="invalid_token"');
    await expectRejected('/admin/x', {}, 401, { message: 'Missing JWT token in request' });
  });
});

describe('require (/plus-style/)', () => {
  it('trusted issuer and role admin: 200', async () => {
    expectJack((await echo('/plus-style/x', bearer(await jack({ iss: 'https://idp.example.com', role: 'admin' })))).headers);
  });

  it('role user: 403', async () => {
    const reply = await expectRejected('/plus-style/x', bearer(await jack({ iss: 'https://idp.example.com', role: 'user' })), 403, FORBIDDEN);
    expect(reply.headers['www-authenticate']).toBe('Bearer realm="jwt", error="insufficient_scope"');
    await expectRejected('/plus-style/x', bearer(await jack({ iss: 'https://idp.example.com' })), 403, FORBIDDEN);
  });

  it('another issuer: 403', async () => {
    await expectRejected('/plus-style/x', bearer(await jack({ iss: 'https://login.example.com', role: 'admin' })), 403, FORBIDDEN);
    await expectRejected('/plus-style/x', bearer(await jack({ role: 'admin' })), 403, FORBIDDEN);
  });

  it('an invalid token stays a 401', async () => {
    await expectRejected('/plus-style/x', bearer(await forged({ iss: 'https://idp.example.com', role: 'admin' })), 401, FAILED);
  });
});

describe('claim-set (/org/)', () => {
  it('nested claims reach the upstream as headers', async () => {
    const seen = await echo('/org/x', bearer(await jack({ org: { id: 'o-42', tier: 'gold' }, realm_access: { roles: ['a', 'b'] } })));
    expect([seen.headers['X-Org-Id'], seen.headers['X-Roles']]).toEqual(['o-42', 'a,b']);
    expectJack(seen.headers);
  });

  it('absent claims: the headers are absent, and a client cannot send them', async () => {
    const seen = await echo('/org/x', { ...bearer(await jack({ org: { tier: 'gold' } })), 'X-Org-Id': 'o-spoofed', 'X-Roles': 'admin' });
    expect([seen.headers['X-Org-Id'], seen.headers['X-Roles']]).toEqual([undefined, undefined]);
  });
});

describe('revocation (/revocable/)', () => {
  it('a revoked jti, sub or kid is refused; other tokens pass', async () => {
    await expectRejected('/revocable/x', bearer(await jack({ jti: 'jti-revoked' })), 401, FAILED);
    await expectRejected('/revocable/x', bearer(await jack({ sub: 'sub-revoked' })), 401, FAILED);
    await expectRejected('/revocable/x', bearer(await jack({}, { kid: 'kid-revoked' })), 401, FAILED);
    await logLine('logs/error.log', /rejected 401 TOKEN_REVOKED: kid "kid-revoked" is on the deny list/);
    expectJack((await echo('/revocable/x', bearer(await jack({ jti: 'jti-fine', sub: 'sub-fine' }, { kid: 'kid-fine' })))).headers);
    // The deny list applies only where the recipe sets it.
    expectJack((await echo('/hidden/x', bearer(await jack({ jti: 'jti-revoked' })))).headers);
  });

  it('the list is re-read on reload: a newly revoked sub is refused, an un-revoked one passes', async () => {
    const later = unique('sub-later');
    const before = await jack({ sub: later });
    expectJack((await echo('/revocable/x', bearer(before))).headers);
    const shutdowns = (
      gw()
        .errorLog()
        .match(/gracefully shutting down/g) || []
    ).length;
    await gw().reload({ 'revoked.json': JSON.stringify({ jti: ['jti-revoked'], sub: [later], kid: ['kid-revoked'] }) });
    // The old worker stops accepting once it logs this.
    await waitFor(
      'the old worker to shut down',
      () =>
        (
          gw()
            .errorLog()
            .match(/gracefully shutting down/g) || []
        ).length > shutdowns,
      5000,
    );
    await expectRejected('/revocable/x', bearer(before), 401, FAILED);
    await expectRejected('/revocable/x', bearer(await jack({ sub: later })), 401, FAILED);
    expectJack((await echo('/revocable/x', bearer(await jack({ sub: 'sub-revoked' })))).headers);
    await expectRejected('/revocable/x', bearer(await jack({ jti: 'jti-revoked' })), 401, FAILED);
  });

  if (!SHARED_DICT) {
    it('jwt.revoke (run-time revocation) answers 501 with a reason where there is no shared zone', async () => {
      expected5xx.add('/test/revoke');
      const reply = await request('/test/revoke', { 'Content-Type': 'application/json' }, 'POST', '{"jti":"abc","ttl":60}');
      expect(reply.status).toBe(501);
      expect(reply.json().message).toMatch(/njs >= 0\.8\.0.*js_shared_dict_zone/);
    });
  } else {
    const revoke = (body: string) => request('/test/revoke', { 'Content-Type': 'application/json' }, 'POST', body);

    it('jwt.revoke (run-time revocation) into the shared zone: a revoked jti, sub or kid is refused at once, without a reload', async () => {
      const jti = unique('jti-zone');
      const sub = unique('sub-zone');
      const kid = unique('kid-zone');
      const tokens = { jti: await jack({ jti }), sub: await jack({ sub }), kid: await jack({}, { kid }) };
      for (const token of Object.values(tokens)) expectJack((await echo('/revocable-zone/x', bearer(token))).headers);
      const workers = (
        gw()
          .errorLog()
          .match(/start worker process/g) || []
      ).length;
      for (const body of [{ jti, ttl: 60 }, { sub }, { kid, ttl: 60 }]) {
        const reply = await revoke(JSON.stringify(body));
        expect({ status: reply.status, body: reply.json() }).toEqual({ status: 200, body: { message: 'revoked' } });
      }
      for (const token of Object.values(tokens)) await expectRejected('/revocable-zone/x', bearer(token), 401, FAILED);
      await logLine('logs/error.log', new RegExp('rejected 401 TOKEN_REVOKED: jti "' + jti + '" is revoked in zone jwt_revoked'));
      await logLine('logs/error.log', new RegExp('rejected 401 TOKEN_REVOKED: kid "' + kid + '" is revoked in zone jwt_revoked'));
      // No reload happened, other tokens pass, and the zone applies only where a location names it.
      expect(
        (
          gw()
            .errorLog()
            .match(/start worker process/g) || []
        ).length,
      ).toBe(workers);
      expectJack((await echo('/revocable-zone/x', bearer(await jack({ jti: unique('jti-other') })))).headers);
      expectJack((await echo('/hidden/x', bearer(tokens.jti))).headers);
    });

    it('jwt.revoke refuses a body that names nothing to revoke, or is not JSON', async () => {
      for (const body of ['{}', '{"jti":""}', '{"jti":5,"sub":["x"]}']) {
        const reply = await revoke(body);
        expect({ body, status: reply.status, reply: reply.json() }).toEqual({
          body,
          status: 400,
          reply: { message: 'nothing to revoke: give jti, sub or kid' },
        });
      }
      const reply = await revoke('not json');
      expect({ status: reply.status, body: reply.json() }).toEqual({ status: 400, body: { message: 'body must be JSON like {"jti":"..."}' } });
    });
  }
});

describe('consumer-rate-limits (/anything, the seed scenario)', () => {
  it("five quick requests with jack's seed token: 3 pass, 2 get 429", async () => {
    const replies: Reply[] = [];
    for (let i = 0; i < 5; i++) replies.push(await request('/anything', { Authorization: SEED_TOKEN }));
    expect(count(replies.map((r) => r.status))).toEqual({ 200: 3, 429: 2 });
    expectJack(replies[0].json().headers);
  });

  it('five quick requests without a token (the anonymous consumer): 1 passes, 4 get 429', async () => {
    const replies: Reply[] = [];
    for (let i = 0; i < 5; i++) replies.push(await request('/anything'));
    expect(count(replies.map((r) => r.status))).toEqual({ 200: 1, 429: 4 });
    expect(replies[0].json().headers['X-Consumer-Username']).toBe('anonymous');
  });

  it('the limits apply only in that location', async () => {
    for (let i = 0; i < 4; i++) expectJack((await echo('/public/after-limit', { Authorization: SEED_TOKEN })).headers);
  });
});

describe('per-sub (/api/, the NGINX blog recipe)', () => {
  it('one request per minute per sub, logged with alg and sub', async () => {
    const sub = unique('client');
    const token = await jack({ sub });
    const first = await request('/api/first-' + sub, bearer(token));
    expect(first.status).toBe(200);
    expect((await request('/api/second-' + sub, bearer(token))).status).toBe(429);
    expect(await logLine('logs/jwt-clients.log', new RegExp('"GET /api/first-' + sub + ' HTTP/1.1" 200 '))).toMatch(
      new RegExp(' 200 alg=HS256 sub=' + sub + '$'),
    );
    expect(await logLine('logs/jwt-clients.log', new RegExp('"GET /api/second-' + sub + ' HTTP/1.1" 429 '))).toMatch(
      new RegExp(' 429 alg=HS256 sub=' + sub + '$'),
    );
    // Another client is not limited by the first.
    expect((await request('/api/other', bearer(await jack({ sub: unique('client') })))).status).toBe(200);
  });

  it("a forged token with the victim's sub is a 401, logs no alg or sub, and spends nothing of the victim's quota", async () => {
    const victim = unique('victim');
    await expectRejected('/api/forged-' + victim, bearer(await forged({ sub: victim })), 401, FAILED);
    expect(await logLine('logs/jwt-clients.log', new RegExp('"GET /api/forged-' + victim + ' HTTP/1.1" '))).toMatch(/ 401 alg= sub=$/);
    const real = await request('/api/real-' + victim, bearer(await jack({ sub: victim })));
    expect(real.status).toBe(200);
    expect(await logLine('logs/jwt-clients.log', new RegExp('"GET /api/real-' + victim + ' HTTP/1.1" '))).toMatch(
      new RegExp(' 200 alg=HS256 sub=' + victim + '$'),
    );
  });
});

describe('env-secrets', () => {
  it('a credential whose secret is $env://JWT_TEST_SECRET works', async () => {
    const seen = await echo('/hidden/env', bearer(await sign({ key: 'env-key', sub: 'e', exp: now() + 600 }, ENV_SECRET)));
    expect([seen.headers['X-Consumer-Username'], seen.headers['X-Credential-Identifier']]).toEqual(['env-user', 'cred-env']);
    // The variable's value is the secret, not the reference text.
    await expectRejected('/hidden/env', bearer(await sign({ key: 'env-key', exp: now() + 600 }, '$env://JWT_TEST_SECRET')), 401, FAILED);
  });

  it("the README's own example, $env://SVC_JWT_SECRET named by the env recipe, works", async () => {
    const seen = await echo('/hidden/env', bearer(await sign({ key: 'svc-key', sub: 's', exp: now() + 600 }, SVC_SECRET)));
    expect(seen.headers['X-Consumer-Username']).toBe('svc');
  });

  it('an unset variable disables only that credential, and the log names the variable', async () => {
    const token = await sign({ key: 'env-unset-key', sub: 'u', exp: now() + 600 }, ENV_SECRET);
    await expectRejected('/hidden/env', bearer(token), 401, { message: 'Invalid user key in JWT token' });
    await logLine('logs/error.log', /CREDENTIAL_UNKNOWN: .*env-unset-key.* disabled by a config error/);
    await logLine('logs/error.log', /\[warn\].*config entry skipped: .*cred-env-unset.*field "secret": references \$env:\/\/JWT_TEST_UNSET/);
    expectJack((await echo('/hidden/env', bearer(await jack()))).headers);
  });

  it('no log ever shows a secret value', async () => {
    for (const file of ['logs/error.log', 'logs/access.log', 'logs/jwt-clients.log']) {
      const text = readPrefixFile(file);
      for (const secret of [ENV_SECRET, SVC_SECRET, JACK_SECRET, KONG_SECRET, KID_SECRET, GRACE_SECRET]) expect(text).not.toContain(secret);
    }
  });
});

describe('error-pages (/orders/)', () => {
  it("no token: the recipe's own JSON page with realm orders", async () => {
    const reply = await request('/orders/1');
    expect(reply.status).toBe(401);
    expect(reply.text).toBe('{"error":"login required","docs":"https://example.com/docs/auth"}\n');
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.headers['www-authenticate']).toBe('Bearer realm="orders"');
  });

  it('a bad token: the same page, with error="invalid_token"', async () => {
    const reply = await request('/orders/1', bearer(await forged()));
    expect(reply.status).toBe(401);
    expect(reply.json()).toEqual({ error: 'login required', docs: 'https://example.com/docs/auth' });
    expect(reply.headers['www-authenticate']).toBe('Bearer realm="orders", error="invalid_token"');
  });

  it('a valid token passes to the upstream', async () => {
    expectJack((await echo('/orders/1', bearer(await jack()))).headers);
  });

  it('the error page is internal', async () => {
    expect((await request('/errors/401.json')).status).toBe(404);
  });
});

describe('health', () => {
  it('nginx never crashed, never alerted, and answered no unexpected 5xx', async () => {
    const log = gw().errorLog();
    expect(log).not.toMatch(/exited on signal/);
    expect(log).not.toMatch(/\[(alert|emerg|crit)\]/);
    expect(log).not.toMatch(/unexpected error/);
    expect(responses.filter((r) => r.status >= 500 && !expected5xx.has(r.path.split('?')[0]))).toEqual([]);
    expect(responses.length).toBeGreaterThan(80);
  });
});
