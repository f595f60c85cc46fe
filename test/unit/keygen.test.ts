/**
 * `jwt-gateway keygen` (cli/keygen.ts), run from the built CLI: for every
 * algorithm, a token jose signs with what it wrote (the secret, or the
 * private PEM) verifies in the gateway's core with the public half it wrote
 * (a consumer's `secret` or `public_key`, and the JWK in a JWK Set), and
 * `check` accepts that JWK Set; secrets are as long as the hash, private
 * files are 0600, and an existing key is never overwritten.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { importPKCS8, SignJWT } from 'jose';
import { authenticate } from '../../njs/core/authenticate';
import { consumersSource } from '../../njs/core/keys/consumers';
import { jwksSource } from '../../njs/core/keys/jwks';
import { KeySource } from '../../njs/core/keys/types';
import { cliTestFiles, runCli } from '../support/cli';
import { CAPS } from '../support/core';

const scratch = cliTestFiles('keygen-test');
const run = runCli;
const NOW = Math.floor(Date.now() / 1000);
const verifies = async (token: string, source: KeySource) => {
  const result = await authenticate(token, source, { maxTokenBytes: 16384, leeway: 0, requiredClaims: [], keyClaim: 'key' }, NOW, CAPS);
  return result.ok;
};

const ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'];

test.each(ALGORITHMS)('%s: a token signed with what keygen wrote verifies with its public half, as a consumer and as a JWK Set', async (alg) => {
  const kid = 'k-' + alg.toLowerCase();
  const written = run('keygen', '--alg', alg, '--kid', kid, '--out', scratch(), '--json');
  expect(written.status).toBe(0);
  const files = JSON.parse(written.stdout).files as { [what: string]: string };
  const jwk = JSON.parse(readFileSync(files.jwk, 'utf8'));
  expect([jwk.kid, jwk.alg, jwk.use, jwk.d]).toEqual([kid, alg, 'sig', undefined]);
  const claims = new SignJWT({ key: 'issued-' + alg, exp: NOW + 60 }).setProtectedHeader({ alg, kid });
  let token: string;
  let credential: object;
  if (alg.startsWith('HS')) {
    const secret = readFileSync(files.secret, 'utf8').trim();
    expect(Buffer.byteLength(secret)).toBeGreaterThanOrEqual(Number(alg.slice(2)) / 8);
    expect(statSync(files.secret).mode & 0o777).toBe(0o600);
    token = await claims.sign(new TextEncoder().encode(secret));
    credential = { key: 'issued-' + alg, secret, algorithm: alg };
  } else {
    expect(statSync(files.private).mode & 0o777).toBe(0o600);
    token = await claims.sign(await importPKCS8(readFileSync(files.private, 'utf8'), alg));
    credential = { key: 'issued-' + alg, public_key: readFileSync(files.public, 'utf8'), algorithm: alg };
  }
  expect(await verifies(token, jwksSource({ keys: [jwk] }, 'keygen JWK', CAPS))).toBe(true);
  expect(await verifies(token, consumersSource({ consumers: [{ username: 'issued', credentials: [credential] }] }, 'keygen map', CAPS))).toBe(true);
  const set = path.join(scratch(), kid + '-set.json');
  writeFileSync(set, JSON.stringify({ keys: [jwk] }));
  // Judged for an njs with Ed25519 (0.9.7+), whatever njs is installed.
  expect(run('check', '--njs', '1.0.2', set).stdout).toBe(set + ': ok\n');
});

test('an existing key is never overwritten: exit 1, the file as it was', () => {
  expect(run('keygen', '--alg', 'HS256', '--kid', 'kept', '--out', scratch()).status).toBe(0);
  const before = readFileSync(path.join(scratch(), 'kept.secret'), 'utf8');
  const again = run('keygen', '--alg', 'HS256', '--kid', 'kept', '--out', scratch());
  expect(again.status).toBe(1);
  expect(again.stderr).toContain('kept.secret exists already');
  expect(readFileSync(path.join(scratch(), 'kept.secret'), 'utf8')).toBe(before);
});

test('without --kid the kid says what and when; a bad --alg or --kid is a usage error', () => {
  const written = run('keygen', '--alg', 'ES256', '--out', scratch(), '--json');
  expect(JSON.parse(written.stdout).kid).toMatch(/^es256-[0-9]{8}-[0-9a-f]{4}$/);
  expect(run('keygen', '--alg', 'none', '--out', scratch()).status).toBe(2);
  expect(run('keygen', '--alg', 'HS256', '--kid', '../escape', '--out', scratch()).status).toBe(2);
});
