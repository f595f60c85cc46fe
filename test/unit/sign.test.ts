/**
 * `jwt-gateway sign` (cli/sign.ts), run from the built CLI: a token for a
 * consumer of a map, which the gateway's core verifies with that same map
 * (an HMAC secret, a base64 one, and an ES256 pair from `keygen`); its
 * claims, expiry and kid as asked; and what stops it said plainly, exit 1,
 * a credential the gateway would skip included.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { authenticate } from '../../njs/core/authenticate';
import { consumersSource } from '../../njs/core/keys/consumers';
import { cliTestFiles, runCli } from '../support/cli';
import { CAPS } from '../support/core';

const scratch = cliTestFiles('sign-test');
const SECRET = 'sign-test-secret-of-good-length-0123456789ab';
let mapFile: string;
let privateKey: string;
let map: object;

beforeAll(() => {
  expect(runCli('keygen', '--alg', 'ES256', '--kid', 'jack-es', '--out', scratch()).status).toBe(0);
  privateKey = path.join(scratch(), 'jack-es.private.pem');
  map = {
    consumers: [
      {
        username: 'jack',
        credentials: [
          { key: 'jack-key', secret: SECRET },
          { key: 'jack-b64', secret: Buffer.from(SECRET + SECRET).toString('base64'), base64_secret: true, algorithm: 'HS512' },
          { key: 'jack-es', algorithm: 'ES256', public_key: readFileSync(path.join(scratch(), 'jack-es.public.pem'), 'utf8') },
          { key: 'jack-short', secret: SECRET, algorithm: 'HS512' },
        ],
      },
    ],
  };
  mapFile = path.join(scratch(), 'consumers.json');
  writeFileSync(mapFile, JSON.stringify(map));
});

const sign = (...args: string[]) => runCli('sign', '--consumers', mapFile, '--consumer', 'jack', ...args);
const payloadOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
async function gatewayVerifies(token: string) {
  const result = await authenticate(
    token,
    consumersSource(map, mapFile, CAPS),
    { maxTokenBytes: 16384, leeway: 0, requiredClaims: ['exp'], keyClaim: 'key' },
    Math.floor(Date.now() / 1000),
    CAPS,
  );
  return result.ok ? (result.identity?.consumer ?? 'verified') : result.code;
}

test.each([
  ['the first credential (HS256, the secret from the map)', []],
  ['a base64 secret (HS512)', ['--credential', 'jack-b64']],
  ['an ES256 credential, signed with --key', ['--credential', 'jack-es', '--key', '']],
])('%s: the gateway verifies the token as jack', async (_what, args) => {
  const run = sign(...args.map((arg) => (arg === '' ? privateKey : arg)));
  expect(run.status).toBe(0);
  expect(await gatewayVerifies(run.stdout.trim())).toBe('jack');
});

test('claims as JSON when they are JSON, expiry and nbf from now, the kid in the header', () => {
  const before = Math.floor(Date.now() / 1000);
  const run = sign('--claim', 'scope=read write', '--claim', 'roles=["admin"]', '--claim', 'level=3', '--exp', '10m', '--nbf', '30s', '--kid', 'k9');
  const token = run.stdout.trim();
  const payload = payloadOf(token);
  expect([payload.key, payload.scope, payload.roles, payload.level]).toEqual(['jack-key', 'read write', ['admin'], 3]);
  expect(payload.exp - payload.iat).toBe(600);
  expect(payload.nbf - payload.iat).toBe(30);
  expect(payload.iat).toBeGreaterThanOrEqual(before);
  expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'k9' });
});

test.each([
  ['a consumer not in the map', ['--consumer', 'nobody'], 'consumer "nobody": not in the map'],
  ['a credential not there', ['--credential', 'other'], 'none with id or key "other"'],
  ['an ES256 credential without --key', ['--credential', 'jack-es'], '--key: the credential is ES256'],
  ['a duration that is none', ['--exp', 'soon'], '--exp: expected a duration'],
  [
    'a credential the gateway would skip (a secret too short for HS512)',
    ['--credential', 'jack-short'],
    'HS512 needs at least 64 (RFC 7518 3.2: no shorter than the hash output) (the gateway skips this credential)',
  ],
  ['a claim without =', ['--claim', 'scope'], '--claim: expected name=value'],
])('%s: exit 1 and why', (_what, args, message) => {
  const run = sign(...args);
  expect(run.status).toBe(1);
  expect(run.stderr).toContain(message);
  expect(run.stdout).toBe('');
});
