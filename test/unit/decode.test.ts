/**
 * `jwt-gateway decode TOKEN` (cli/decode.ts), run from the built CLI as a
 * user runs it, on tokens jose signs: the header and payload, the dates in
 * UTC, "NOT VERIFIED" first (and `verified: false` with --json), and for a
 * token the gateway cannot parse, its reason code and exit 1.
 */
import { SignJWT } from 'jose';
import { cliTestFiles, runCli } from '../support/cli';

cliTestFiles('decode-test');
const decode = (...args: string[]) => runCli('decode', ...args);
const signed = () =>
  new SignJWT({ sub: 'alice', scope: 'read', exp: 1796157510, iat: 1796153910 })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: 'k1' })
    .sign(new TextEncoder().encode('decode-test-secret-of-good-length-0123456789'));

test('the header, the payload and the dates in UTC, and first that nothing was verified', async () => {
  const run = decode(await signed());
  expect(run.status).toBe(0);
  expect(run.stdout.split('\n')[0]).toBe('NOT VERIFIED: decoded only; the signature and the claims were not checked');
  expect(run.stdout).toContain('"kid": "k1"');
  expect(run.stdout).toContain('"sub": "alice"');
  expect(run.stdout).toContain('exp: 2026-12-01T20:38:30.000Z\n');
  expect(run.stdout).toContain('iat: 2026-12-01T19:38:30.000Z\n');
});

test('--json: the same, for a script, with verified: false', async () => {
  const run = decode(await signed(), '--json');
  expect(JSON.parse(run.stdout)).toEqual({
    header: { alg: 'HS256', typ: 'JWT', kid: 'k1' },
    payload: { sub: 'alice', scope: 'read', exp: 1796157510, iat: 1796153910 },
    dates: { exp: '2026-12-01T20:38:30.000Z', iat: '2026-12-01T19:38:30.000Z' },
    verified: false,
  });
});

test.each([
  ['two segments', 'a.b', 'TOKEN_MALFORMED: expected 3 dot-separated segments, got 2'],
  ['a header that is no JSON', Buffer.from('{"alg":').toString('base64url') + '.e30.c2ln', 'TOKEN_MALFORMED: header: not valid JSON'],
  ['padding in base64url', 'eyJhbGciOiJIUzI1NiJ9=.e30.c2ln', 'TOKEN_MALFORMED: header is not canonical base64url'],
])('%s: the reason the gateway would give, exit 1', (_what, token, reason) => {
  const run = decode(token);
  expect(run.status).toBe(1);
  expect(run.stderr).toContain(reason);
  expect(run.stdout).toBe('');
});

test('no token, or two: the usage, exit 2', () => {
  expect(decode().status).toBe(2);
  expect(decode('a.b.c', 'd.e.f').stderr).toContain('decode takes one token');
});
