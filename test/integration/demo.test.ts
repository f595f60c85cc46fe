/**
 * The demo gateway (nginx/demo/nginx.conf) started exactly as `npm run demo`
 * starts it, on free ports: the seed token in every place a token may be, the
 * APISIX error bodies, identity headers that the client cannot forge, and the
 * RS256/ES256 demo consumers.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { demoSetup, DemoSetup, JACK, tokenFor } from '../../tools/demo/consumers';
import { ROOT } from '../support/nginx';
import { expectRejected, finish, Gateway, MESSAGES, now, SEED_TOKEN, startGateway, unique, testsWithLogs } from '../support/gateway';

let gw: Gateway | undefined;
let setup: DemoSetup;
const jackSecret = new TextEncoder().encode(JACK.secret);

beforeAll(async () => {
  setup = await demoSetup();
  gw = await startGateway({
    config: readFileSync(path.join(ROOT, 'nginx', 'demo', 'nginx.conf'), 'utf8'),
    ports: ['PORT', 'ECHO_PORT'],
    files: setup.files,
  });
});

afterAll(() => finish(gw));

const it = testsWithLogs(() => gw, 15000);
const g = () => gw as Gateway;

function jackToken(claims: object, header: object = {}): Promise<string> {
  return new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header }).sign(jackSecret);
}

function expectJack(headers: { [name: string]: string }): void {
  expect({
    username: headers['X-Consumer-Username'],
    credential: headers['X-Credential-Identifier'],
    customId: headers['X-Consumer-Custom-Id'],
  }).toEqual({ username: 'jack', credential: 'cred-jack-jwt-auth', customId: '495aec6a' });
}

describe('the seed token is accepted wherever a token may be', () => {
  const places: [string, string, { [name: string]: string }][] = [
    ['Authorization without a scheme', '/headers', { Authorization: SEED_TOKEN }],
    ['Authorization: Bearer', '/headers', { Authorization: 'Bearer ' + SEED_TOKEN }],
    ['authorization: bearer (lower case)', '/headers', { authorization: 'bearer ' + SEED_TOKEN }],
    ['the jwt query argument', '/headers?jwt=' + SEED_TOKEN, {}],
    ['the jwt cookie', '/headers', { Cookie: 'jwt=' + SEED_TOKEN }],
  ];
  for (const [name, url, headers] of places) {
    it(name, async () => {
      const reply = await g().get(url, headers);
      expect(reply.status).toBe(200);
      expect(reply.headers['www-authenticate']).toBeUndefined();
      expectJack(reply.json().headers);
    });
  }

  it('with a "$schema" member in the map (for editors), which the gateway ignores', async () => {
    expect(JSON.parse(readFileSync(path.join(g().nginx.prefix, 'consumers.json'), 'utf8')).$schema).toMatch(/\/nginx\/schemas\/consumers\.schema\.json$/);
    const reply = await g().get('/headers', { Authorization: 'Bearer ' + SEED_TOKEN });
    expect(reply.status).toBe(200);
    expectJack(reply.json().headers);
  });

  it('logs the verified alg and consumer in the access log', async () => {
    const probe = unique('seed');
    await g().echo('/headers?probe=' + probe, { Authorization: 'Bearer ' + SEED_TOKEN });
    const line = await g().logLine('access.log', probe);
    expect(line).toMatch(/" 200 alg=HS256 sub= consumer=jack$/);
  });
});

describe('rejections carry the APISIX bodies and WWW-Authenticate', () => {
  it('no token: 401 Missing JWT token, realm without error', async () => {
    const reply = await g().get('/headers');
    expectRejected(reply, MESSAGES.missing, { tokenSent: false });
    expect(reply.headers['www-authenticate']).toBe('Bearer realm="jwt"');
  });

  it('tampered signature: 401 failed to verify jwt', async () => {
    const [header, payload, signature] = SEED_TOKEN.split('.');
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    expectRejected(await g().get('/headers', { Authorization: [header, payload, flipped].join('.') }), MESSAGES.verifyFailed);
    // The demo's own example: the last six characters replaced.
    expectRejected(await g().get('/headers', { Authorization: SEED_TOKEN.slice(0, -6) + 'AAAAAA' }), MESSAGES.verifyFailed);
  });

  it('tampered payload with the original signature: 401 failed to verify jwt', async () => {
    const [header, , signature] = SEED_TOKEN.split('.');
    const payload = Buffer.from(JSON.stringify({ key: 'jack-key', nbf: 1729132271, admin: true })).toString('base64url');
    expectRejected(await g().get('/headers', { Authorization: [header, payload, signature].join('.') }), MESSAGES.verifyFailed);
  });

  it('abc.def: 401 JWT token invalid', async () => {
    expectRejected(await g().get('/headers', { Authorization: 'abc.def' }), MESSAGES.invalid);
  });

  it('a valid HS256 signature whose key claim names no credential: 401 Invalid user key', async () => {
    const token = await jackToken({ key: 'nobody-key', exp: now() + 600 });
    expectRejected(await g().get('/headers', { Authorization: 'Bearer ' + token }), MESSAGES.unknownKey);
  });

  it('a valid HS256 signature without a key claim: 401 missing user key', async () => {
    const token = await jackToken({ sub: 'jack', exp: now() + 600 });
    expectRejected(await g().get('/headers', { Authorization: 'Bearer ' + token }), MESSAGES.noKey);
  });

  it('an expired token: 401 failed to verify jwt', async () => {
    const token = await jackToken({ key: JACK.key, iat: now() - 7200, exp: now() - 3600 });
    expectRejected(await g().get('/headers', { Authorization: 'Bearer ' + token }), MESSAGES.verifyFailed);
  });

  it('a token from the query argument and the cookie is rejected the same way', async () => {
    expectRejected(await g().get('/get?jwt=abc.def'), MESSAGES.invalid);
    expectRejected(await g().get('/get', { Cookie: 'jwt=abc.def' }), MESSAGES.invalid);
  });

  it('a rejected request is logged with its status and no identity', async () => {
    const probe = unique('rejected');
    await g().get('/headers?probe=' + probe, { Authorization: 'abc.def' });
    const line = await g().logLine('access.log', probe);
    expect(line).toMatch(/" 401 alg= sub= consumer=$/);
  });
});

describe('identity headers come from the gateway, never from the client', () => {
  const forged = { 'X-Consumer-Username': 'admin', 'X-Credential-Identifier': 'x', 'X-Consumer-Custom-Id': 'y', 'X-Anonymous-Consumer': 'true' };

  it('a valid token with forged headers reaches the upstream with the verified identity', async () => {
    const echo = await g().echo('/get', { Authorization: 'Bearer ' + SEED_TOKEN, ...forged });
    expectJack(echo.headers);
    expect(echo.headers['X-Anonymous-Consumer']).toBeUndefined();
  });

  it('a valid token for a consumer without custom_id removes the forged custom id', async () => {
    const alice = setup.consumers.find((c) => c.username === 'alice')!;
    const echo = await g().echo('/get', { Authorization: 'Bearer ' + (await tokenFor(alice)), ...forged });
    expect(echo.headers['X-Consumer-Username']).toBe('alice');
    expect(echo.headers['X-Credential-Identifier']).toBe('cred-alice-rs256');
    expect(echo.headers['X-Consumer-Custom-Id']).toBeUndefined();
  });

  const invalid: [string, () => Promise<{ [name: string]: string }>][] = [
    ['no token', async () => ({})],
    ['a malformed token', async () => ({ Authorization: 'abc.def' })],
    ['a tampered token', async () => ({ Authorization: SEED_TOKEN.slice(0, -6) + 'AAAAAA' })],
    ['a token for an unknown key', async () => ({ Authorization: await jackToken({ key: 'admin' }) })],
  ];
  for (const [name, headers] of invalid) {
    it(name + ' with forged headers is a 401 that never reaches the upstream', async () => {
      const probe = unique('forged');
      const reply = await g().get('/headers?probe=' + probe, { ...(await headers()), ...forged });
      expect(reply.status).toBe(401);
      // The body is the gateway's JSON error, not the echo of the request.
      expect(Object.keys(reply.json())).toEqual(['message']);
      expect(reply.text).not.toContain('admin');
      const line = await g().logLine('access.log', probe);
      expect(line).toMatch(/" 401 alg= sub= consumer=$/);
    });
  }
});

describe('the RS256 and ES256 demo consumers', () => {
  for (const username of ['alice', 'bob']) {
    it(username + ' is accepted with a fresh token', async () => {
      const consumer = setup.consumers.find((c) => c.username === username)!;
      const token = await tokenFor(consumer);
      const echo = await g().echo('/get/' + username, { Authorization: 'Bearer ' + token });
      expect(echo.headers['X-Consumer-Username']).toBe(username);
      expect(echo.headers['X-Credential-Identifier']).toBe(consumer.credentialId);
      expect(echo.path).toBe('/get/' + username);
      const line = await g().logLine('access.log', '/get/' + username);
      expect(line).toContain('alg=' + consumer.alg + ' sub=' + username + ' consumer=' + username);
    });

    it(username + "'s token signed by jack's HMAC secret is rejected", async () => {
      const consumer = setup.consumers.find((c) => c.username === username)!;
      const token = await jackToken({ key: consumer.key, exp: now() + 600 });
      expectRejected(await g().get('/headers', { Authorization: 'Bearer ' + token }), MESSAGES.verifyFailed);
    });

    it(username + "'s expired token is rejected", async () => {
      const consumer = setup.consumers.find((c) => c.username === username)!;
      const token = await tokenFor(consumer, -60);
      expectRejected(await g().get('/headers', { Authorization: 'Bearer ' + token }), MESSAGES.verifyFailed);
    });
  }
});

describe("/anything: the seed's rate-limit scenario with an anonymous consumer", () => {
  async function statuses(headers: { [name: string]: string }): Promise<number[]> {
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) seen.push((await g().get('/anything', headers)).status);
    return seen;
  }

  it('jack may send 3 per 30 s: 200 x3, then 429 x2', async () => {
    expect(await statuses({ Authorization: SEED_TOKEN })).toEqual([200, 200, 200, 429, 429]);
  });

  it('callers without a valid token are the anonymous consumer, 1 per 30 s, and cannot forge an identity', async () => {
    const first = await g().echo('/anything', {
      'X-Consumer-Username': 'admin',
      'X-Credential-Identifier': 'x',
      'X-Consumer-Custom-Id': 'y',
      'X-Anonymous-Consumer': 'false',
    });
    expect(first.headers['X-Consumer-Username']).toBe('anonymous');
    expect(first.headers['X-Anonymous-Consumer']).toBe('true');
    expect(first.headers['X-Credential-Identifier']).toBeUndefined();
    expect(first.headers['X-Consumer-Custom-Id']).toBeUndefined();
    expect(await statuses({})).toEqual([429, 429, 429, 429, 429]);
    // An invalid token is anonymous too, so it shares the anonymous quota rather than jack's.
    expect((await g().get('/anything', { Authorization: 'abc.def' })).status).toBe(429);
  });
});

describe('outside the protected paths', () => {
  it('other paths answer the 404 hint without asking for a token', async () => {
    const reply = await g().get('/');
    expect(reply.status).toBe(404);
    expect(reply.text).toContain('try /headers');
  });
});
