/**
 * An identity provider's keys through `jwt-gateway jwks sync` (the path for
 * njs without shared memory, and a simple one everywhere), against a real
 * OpenID Provider (oidc-provider) issuing its own JWT access tokens: its
 * tokens pass and others do not, a key rotation reaches the gateway without
 * a reload, and an answer that is not a good JWK Set (HTML, cut, huge, a
 * discovery document for another issuer) leaves the last good keys working.
 */
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { AUDIENCE, forgedToken, httpsFront, IdentityProvider, startIdentityProvider, testCertificates } from '../support/identity-provider';
import { authLocation, expectRejected, gatewayConfig, gatewayPerFile, MESSAGES } from '../support/gateway';
import { ROOT } from '../support/nginx';

const CLI = path.join(ROOT, 'build', 'dist', 'cli.mjs');
let idp: IdentityProvider;

/** `jwt-gateway jwks sync` as a user runs it: exit code and output. */
async function sync(args: string[], env: { [name: string]: string } = {}): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [CLI, 'jwks', 'sync', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const failed = e as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout + failed.stderr };
  }
}

const jwksFile = () => path.join(g().nginx.prefix, 'jwks.json');
const syncIssuer = () => sync(['--issuer', idp.issuer, '--out', jwksFile()]);

const CONFIG = () =>
  gatewayConfig({
    server: [
      authLocation(
        '/api/',
        [
          'set $auth_jwt_key_file ${PREFIX}/jwks.json;',
          'set $auth_jwt_issuers "' + idp.issuer + '";',
          'set $auth_jwt_audience "' + AUDIENCE + '";',
          'set $auth_jwt_claim_rules "scope contains read";',
        ],
        ['proxy_set_header X-Sub $jwt_claim_sub;'],
      ),
      authLocation('/other-audience/', ['set $auth_jwt_key_file ${PREFIX}/jwks.json;', 'set $auth_jwt_audience "https://other.example";']),
    ],
  });

beforeAll(async () => {
  idp = await startIdentityProvider();
}, 30000);
afterAll(() => idp?.stop());

const { it, g } = gatewayPerFile(() => ({
  config: CONFIG(),
  ports: ['PORT', 'ECHO_PORT'],
  // A placeholder the first sync replaces: a JWK Set with a key of nobody's.
  files: { 'jwks.json': '{"keys": []}\n' },
}));

const bearer = (token: string) => ({ Authorization: 'Bearer ' + token });

describe('jwt-gateway jwks sync against a real OpenID Provider', () => {
  it("syncs by discovery, and the provider's own tokens pass; another issuer's or audience's get 401", async () => {
    const first = await syncIssuer();
    expect(first).toEqual({ code: 0, out: expect.stringContaining('written, 1 usable key(s) of 1 from ' + idp.issuer + '/jwks') });
    expect(await syncIssuer()).toEqual({ code: 0, out: expect.stringContaining('unchanged') });
    const token = await idp.token();
    const echo = await g().echo('/api/x', bearer(token));
    expect(echo.headers['X-Sub']).toBe('api-client');
    expectRejected(await g().get('/other-audience/x', bearer(token)), MESSAGES.verifyFailed);
    // The README's claim rule on the space-separated scope: "read write" has read, "write" alone is a 403.
    expect((await g().get('/api/x', bearer(await idp.token({ scope: 'read write' })))).status).toBe(200);
    expect((await g().get('/api/x', bearer(await idp.token({ scope: 'write' })))).status).toBe(403);
    // Signed by a key the provider never had, claiming its issuer.
    expectRejected(await g().get('/api/x', bearer(await forgedToken(idp))), MESSAGES.verifyFailed);
  });

  it('a rotated key reaches the gateway with the next sync, without a reload; a withdrawn key is refused after the sync that drops it', async () => {
    const before = await idp.token();
    await idp.rotate();
    const after = await idp.token();
    expect(JSON.parse(Buffer.from(after.split('.')[0], 'base64url').toString()).kid).not.toBe('key-1');
    expect((await syncIssuer()).out).toContain('written, 2 usable key(s) of 2');
    for (const token of [before, after]) expect((await g().get('/api/x', bearer(token))).status).toBe(200);
    await idp.withdrawOld();
    expect((await syncIssuer()).out).toContain('written, 1 usable key(s) of 1');
    expect((await g().get('/api/x', bearer(after))).status).toBe(200);
    expectRejected(await g().get('/api/x', bearer(before)), MESSAGES.verifyFailed);
  });

  const badAnswers: [string, string, string, RegExp][] = [
    ['an HTML error page', '<html><body>Service Unavailable</body></html>', 'text/html', /not valid JSON at line 1, column 1/],
    ['a cut JSON answer', '{"keys": [{"kty": "RSA", "n": "abc', 'application/json', /not valid JSON .*ends before it is complete/],
    ['an answer over the cap', '{"keys": [], "pad": "' + 'x'.repeat(1024 * 1024) + '"}', 'application/json', /over the cap of 1048576/],
    ['a JWK Set without a usable key', '{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}', 'application/json', /no key the gateway can use/],
  ];
  for (const [what, body, contentType, message] of badAnswers) {
    it(what + ' leaves the file and the good keys in place (exit 1)', async () => {
      const kept = readFileSync(jwksFile(), 'utf8');
      idp.replaceJwks(body, contentType);
      try {
        const result = await syncIssuer();
        expect(result.code).toBe(1);
        expect(result.out).toMatch(message);
        expect(result.out).toContain(jwksFile() + ' is kept');
      } finally {
        idp.replaceJwks(null);
      }
      expect(readFileSync(jwksFile(), 'utf8')).toBe(kept);
      expect((await g().get('/api/x', bearer(await idp.token()))).status).toBe(200);
    });
  }

  it('a discovery document naming another issuer is refused (OpenID Connect Discovery 4.3), the file kept', async () => {
    const kept = readFileSync(jwksFile(), 'utf8');
    idp.claimIssuer('https://evil.example');
    try {
      const result = await syncIssuer();
      expect(result.code).toBe(1);
      expect(result.out).toContain('field "issuer": is "https://evil.example", not "' + idp.issuer + '" (OpenID Connect Discovery 4.3): refused');
    } finally {
      idp.claimIssuer(null);
    }
    expect(readFileSync(jwksFile(), 'utf8')).toBe(kept);
  });

  it('with the provider down the sync fails and the known keys keep working; when it is back, the sync succeeds', async () => {
    const token = await idp.token();
    await idp.stop();
    try {
      const result = await sync(['--issuer', idp.issuer, '--out', jwksFile(), '--timeout', '2']);
      expect(result.code).toBe(1);
      expect(result.out).toContain('cannot be fetched');
      expect((await g().get('/api/x', bearer(token))).status).toBe(200);
    } finally {
      await idp.start();
    }
    expect((await syncIssuer()).code).toBe(0);
  });

  it('--reload runs nginx -t and nginx -s reload after a change, nothing when unchanged', async () => {
    await idp.rotate();
    const nginx = path.join(g().nginx.prefix, 'nginx-wrapper.sh');
    const log = path.join(g().nginx.prefix, 'wrapper.log');
    writeFileSync(nginx, '#!/bin/sh\necho "$@" >> ' + log + '\n');
    chmodSync(nginx, 0o755);
    expect((await sync(['--issuer', idp.issuer, '--out', jwksFile(), '--reload', '--nginx', nginx])).out).toContain('nginx reloaded');
    expect((await sync(['--issuer', idp.issuer, '--out', jwksFile(), '--reload', '--nginx', nginx])).out).not.toContain('nginx reloaded');
    expect(readFileSync(log, 'utf8')).toBe('-t\n-s reload\n');
  });

  it('over https with a CA of its own: trusted through NODE_EXTRA_CA_CERTS, refused (file kept) without', async () => {
    // A test CA, and an https front for the provider's JWK Set with a certificate it signs.
    const dir = testCertificates();
    const front = await httpsFront(dir, idp);
    const url = front.url;
    try {
      await idp.rotate();
      const kept = readFileSync(jwksFile(), 'utf8');
      const untrusted = await sync([url, '--out', jwksFile()]);
      expect(untrusted.code).toBe(1);
      expect(untrusted.out).toMatch(/cannot be fetched: .*(certificate|self-signed|UNABLE_TO_VERIFY)/i);
      expect(readFileSync(jwksFile(), 'utf8')).toBe(kept);
      const trusted = await sync([url, '--out', jwksFile()], { NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') });
      expect(trusted).toEqual({ code: 0, out: expect.stringContaining('written, ') });
      expect((await g().get('/api/x', bearer(await idp.token()))).status).toBe(200);
    } finally {
      front.close();
    }
  });
});
