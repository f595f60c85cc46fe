/**
 * Bad configuration in real nginx: a consumer map that is not valid JSON
 * fails `nginx -t` and a reload keeps the running config; a broken entry is
 * skipped with a warn line naming it while the rest keeps working. On QuickJS,
 * which has no js_preload_object, the settings name the file itself (see
 * configForEngine): nginx cannot check it, and requests fail closed instead.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { nginxSync } from '../support/nginx';
import { engine, expectRejected, finish, Gateway, gatewayConfig, MESSAGES, now, SEED_TOKEN, startGateway, testsWithLogs } from '../support/gateway';

/** js_preload_object exists (the classic engine); on QuickJS the settings name the files instead. */
const PRELOADED = engine().features.preloadObject;

const CONFIG = gatewayConfig({
  workerConnections: 64,
  http: `
    js_preload_object consumers from \${PREFIX}/consumers.json;
    js_preload_object jwks from \${PREFIX}/jwks.json;
  `,
  echo: false,
  server: `
    location /consumers/ {
        set $auth_jwt_consumers consumers;
        include \${ROOT}/nginx/jwt-auth.conf;
        return 200 "consumer=$jwt_consumer\\n";
    }
    location /jwks/ {
        set $auth_jwt_key_file jwks;
        include \${ROOT}/nginx/jwt-auth.conf;
        return 200 "sub=$jwt_claim_sub\\n";
    }
  `,
});

const JACK = { username: 'jack', credentials: [{ id: 'cred-jack-jwt-auth', key: 'jack-key', secret: 'jack-hs256-secret-that-is-very-long' }] };
const BROKEN_PEM = {
  username: 'broken',
  credentials: [{ id: 'cred-broken', key: 'broken-key', algorithm: 'RS256', public_key: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }],
};
const OCT_SECRET = 'jwks-oct-secret-0123456789abcdefghijklmnop';
const GOOD_OCT = { kty: 'oct', kid: 'good', alg: 'HS256', k: Buffer.from(OCT_SECRET).toString('base64url') };
const BROKEN_RSA = { kty: 'RSA', kid: 'broken-rsa', n: 'not base64url!', e: 'AQAB' };

let gw: Gateway | undefined;
const g = () => gw as Gateway;
const it = testsWithLogs(() => gw, 15000);

beforeAll(async () => {
  gw = await startGateway({
    config: CONFIG,
    ports: ['PORT'],
    files: {
      'consumers.json': JSON.stringify({ consumers: [BROKEN_PEM, JACK] }),
      'jwks.json': JSON.stringify({ keys: [BROKEN_RSA, GOOD_OCT] }),
    },
  });
});

/** What njs >= 0.8 logs for the reload below that it refuses (0.7.9 logs nothing). */
const PRELOAD_FAILED = /\[emerg\] .*failed to initialize preload objects/;

afterAll(() => finish(gw, engine().features.preloadFailureLogged ? [PRELOAD_FAILED] : []));

function warnLines(pattern: RegExp): string[] {
  return g()
    .nginx.errorLog()
    .split('\n')
    .filter((line) => line.indexOf('[warn]') >= 0 && pattern.test(line));
}

it('a broken credential does not disable the good ones', async () => {
  expect((await g().get('/consumers/a', { Authorization: SEED_TOKEN })).text).toBe('consumer=jack\n');
});

it('a token for the broken credential gets 401 and one warn line naming file, entry and field', async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const token = await new SignJWT({ key: 'broken-key' }).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey);
  const before = warnLines(/cred-broken/).length;
  expectRejected(await g().get('/consumers/a', { Authorization: token }), MESSAGES.unknownKey, { tokenSent: true });
  const after = warnLines(/cred-broken/);
  expect(after.length).toBe(before + 1);
  // The map is named as the settings name it: the preloaded object, or on QuickJS its file.
  const origin = PRELOADED ? 'js_preload_object consumers' : path.join(g().nginx.prefix, 'consumers.json');
  expect(after[after.length - 1]).toContain(
    'config entry skipped: ' + origin + ': consumers[0] ("broken").credentials[0] ("cred-broken"): field "public_key": ',
  );
});

it('a broken JWK beside a good one: the good key verifies, the broken kid is logged and refused', async () => {
  const good = await new SignJWT({ sub: 'jwks-user', exp: now() + 600 }).setProtectedHeader({ alg: 'HS256', kid: 'good' }).sign(Buffer.from(OCT_SECRET));
  expect((await g().get('/jwks/a', { Authorization: good })).text).toBe('sub=jwks-user\n');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const broken = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256', kid: 'broken-rsa' }).sign(rsa.privateKey);
  expectRejected(await g().get('/jwks/a', { Authorization: broken }), MESSAGES.verifyFailed, { tokenSent: true });
  expect(warnLines(/keys\[0\] \(kid "broken-rsa"\): field "n": not valid base64url/).length).toBeGreaterThan(0);
});

it(
  PRELOADED
    ? 'nginx -t fails on a consumer map that is not valid JSON, naming the file'
    : 'QuickJS: nginx -t passes with a consumer map that is not valid JSON (requests read it)',
  async () => {
    const conf = path.join(g().nginx.prefix, 'nginx.conf');
    const broken = path.join(g().nginx.prefix, 'broken', 'consumers.json');
    mkdirSync(path.dirname(broken), { recursive: true });
    writeFileSync(broken, '{"consumers": [');
    const testConf = path.join(g().nginx.prefix, 'nginx-broken.conf');
    const text = readFileSync(conf, 'utf8');
    expect(text).toContain(path.join(g().nginx.prefix, 'consumers.json'));
    writeFileSync(testConf, text.split(path.join(g().nginx.prefix, 'consumers.json')).join(broken));
    const result = nginxSync(['-t', '-p', g().nginx.prefix, '-e', path.join(g().nginx.prefix, 'logs', 'test.log'), '-c', testConf]);
    const output = result.stderr + readFileSync(path.join(g().nginx.prefix, 'logs', 'test.log'), 'utf8');
    if (PRELOADED) {
      expect(result.status).not.toBe(0);
      expect(output).toMatch(/test failed/);
    } else {
      // QuickJS: the file is read by requests, not by nginx; `jwt-gateway check` is the check before a reload there.
      expect(readFileSync(testConf, 'utf8')).toContain('set $auth_jwt_consumers ' + broken + ';');
      expect({ status: result.status, output }).toEqual({ status: 0, output: expect.stringMatching(/test is successful/) });
    }
  },
);

it(
  PRELOADED
    ? 'a reload with a broken consumer map keeps the running config'
    : 'QuickJS: after a reload with a broken consumer map every request fails closed, naming the file',
  async () => {
    if (PRELOADED) {
      // njs 0.7.9 logs nothing when a preloaded file fails to parse on reload; nginx simply starts no new workers.
      // Newer njs says so at emerg level (allowed in afterAll for this file).
      expect(await g().nginx.reload({ 'consumers.json': '{"consumers": [' })).toBe(false);
      expect((await g().get('/consumers/a', { Authorization: SEED_TOKEN })).text).toBe('consumer=jack\n');
      const emerg = g()
        .nginx.errorLog()
        .split('\n')
        .filter((line) => /\[emerg\]/.test(line));
      expect(emerg.map((line) => PRELOAD_FAILED.test(line))).toEqual(engine().features.preloadFailureLogged ? [true] : []);
    } else {
      // QuickJS reads the file in the new workers: the reload succeeds and every request fails closed, the log naming the file.
      expect(await g().nginx.reload({ 'consumers.json': '{"consumers": [' })).toBe(true);
      // Denied before the token is looked at, so the challenge names no invalid_token.
      expectRejected(await g().get('/consumers/a', { Authorization: SEED_TOKEN }), MESSAGES.verifyFailed, { tokenSent: false });
      const where = ': not valid JSON at line 1, column 16 (it ends before it is complete)';
      expect(g().nginx.errorLog()).toContain('jwt-gateway: config error: ' + path.join(g().nginx.prefix, 'consumers.json') + where);
    }
    expect(await g().nginx.reload({ 'consumers.json': JSON.stringify({ consumers: [BROKEN_PEM, JACK] }) })).toBe(true);
    expect((await g().get('/consumers/a', { Authorization: SEED_TOKEN })).text).toBe('consumer=jack\n');
  },
);
