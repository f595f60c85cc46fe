/**
 * A real OpenID Provider for the tests: `oidc-provider` (certified) on
 * loopback, issuing JWT access tokens itself (client credentials), not tokens
 * minted by the tests. Its keys can be rotated (a new provider with the new
 * key first, on the same issuer), it can be stopped and started, its JWK Set
 * answer can be replaced (HTML, a cut or huge body) and its JWK Set requests
 * are counted.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, JWK, SignJWT } from 'jose';
import type Provider from 'oidc-provider';

export const AUDIENCE = 'https://api.example';
const CLIENT = { id: 'api-client', secret: 'a-secret-of-the-client-0123456789' };

export interface IdentityProvider {
  issuer: string;
  /** A JWT access token from the token endpoint (client credentials), for `audience`. */
  token(options?: { scope?: string }): Promise<string>;
  /** A new signing key, first in the JWK Set and used from now on; the old ones stay listed. */
  rotate(): Promise<string>;
  /** Lists only the current signing key. */
  withdrawOld(): Promise<void>;
  /** Serves `body` (with `contentType`) for the JWK Set instead of the keys; null serves the keys again. */
  replaceJwks(body: string | null, contentType?: string): void;
  /** How many JWK Set requests it has answered. */
  jwksRequests(): number;
  /** The headers of the last JWK Set request. */
  lastJwksHeaders(): http.IncomingHttpHeaders;
  /** The discovery document names `issuer` instead of the real one (null: the real one). */
  claimIssuer(issuer: string | null): void;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function signingKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

/**
 * oidc-provider's warnings about development defaults (in-memory adapter, Node 20, default TTLs) are
 * not the tests' business: dropped from console.warn while it is imported and while providers are made.
 */
async function quietly<T>(make: () => T | Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!/^oidc-provider (WARNING|NOTICE)/.test(String(args[0]))) warn(...args);
  };
  try {
    return await make();
  } finally {
    console.warn = warn;
  }
}

async function providerFor(ProviderClass: typeof Provider, issuer: string, keys: JWK[]): Promise<Provider> {
  const provider = await quietly(
    () =>
      new ProviderClass(issuer, {
        clients: [{ client_id: CLIENT.id, client_secret: CLIENT.secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] }],
        jwks: { keys: keys as never },
        ttl: { ClientCredentials: 600 },
        features: {
          devInteractions: { enabled: false },
          clientCredentials: { enabled: true },
          resourceIndicators: {
            enabled: true,
            defaultResource: () => AUDIENCE,
            getResourceServerInfo: () => ({ scope: 'read write', audience: AUDIENCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
            useGrantedResource: () => true,
          },
        },
      }),
  );
  provider.on('server_error', () => undefined);
  return provider;
}

export async function startIdentityProvider(): Promise<IdentityProvider> {
  const ProviderClass = (await quietly(() => import('oidc-provider'))).default;
  let keys = [await signingKey('key-1')];
  let replacement: { body: string; contentType: string } | null = null;
  let claimedIssuer: string | null = null;
  let requests = 0;
  let lastHeaders: http.IncomingHttpHeaders = {};
  let handler: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | null = null;
  const server = http.createServer((req, res) => {
    if (req.url === '/jwks') {
      requests++;
      lastHeaders = req.headers;
    }
    if (req.url === '/jwks' && replacement) {
      res.writeHead(200, { 'content-type': replacement.contentType });
      res.end(replacement.body);
    } else if (req.url === '/.well-known/openid-configuration' && claimedIssuer !== null) {
      // A discovery document for another issuer, pointing at these keys (OpenID Connect Discovery 4.3 says: refuse it).
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: claimedIssuer, jwks_uri: issuer + '/jwks', token_endpoint: issuer + '/token' }));
    } else handler!(req, res);
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const issuer = 'http://127.0.0.1:' + port;
  const configure = async () => {
    handler = (await providerFor(ProviderClass, issuer, keys)).callback() as never;
  };
  await configure();
  return {
    issuer,
    async token(options = {}) {
      const answer = await fetch(issuer + '/token', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: 'Basic ' + Buffer.from(CLIENT.id + ':' + CLIENT.secret).toString('base64'),
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: options.scope ?? 'read' }).toString(),
      });
      const body = (await answer.json()) as { access_token?: string };
      if (answer.status !== 200 || !body.access_token) throw new Error('the provider gave no token: ' + answer.status + ' ' + JSON.stringify(body));
      return body.access_token;
    },
    async rotate() {
      const kid = 'key-' + (keys.length + 1) + '-' + Date.now();
      keys = [await signingKey(kid), ...keys];
      await configure();
      return kid;
    },
    async withdrawOld() {
      keys = keys.slice(0, 1);
      await configure();
    },
    replaceJwks(body, contentType = 'application/json') {
      replacement = body === null ? null : { body, contentType };
    },
    jwksRequests: () => requests,
    lastJwksHeaders: () => lastHeaders,
    claimIssuer(claimed) {
      claimedIssuer = claimed;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    start: () => listen(port),
  };
}

/** A test CA and a certificate it signs for 127.0.0.1, made with openssl: `ca.pem`, `server.key` and `server.pem` in the folder returned. */
export function testCertificates(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jwks-ca-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=jwt-gateway test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext');
  return dir;
}

/** The certificate of testCertificates' folder, for an https server. */
export function serverCertificate(dir: string): { key: Buffer; cert: Buffer } {
  return { key: readFileSync(path.join(dir, 'server.key')), cert: readFileSync(path.join(dir, 'server.pem')) };
}

/** An https front for a provider's JWK Set (`url`), with the certificate in `dir`. */
export async function httpsFront(dir: string, target: IdentityProvider): Promise<{ url: string; close: () => void }> {
  const server = https.createServer(serverCertificate(dir), (req, res) => {
    fetch(target.issuer + '/jwks')
      .then((answer) => answer.text())
      .then((body) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: 'https://127.0.0.1:' + (server.address() as AddressInfo).port + '/jwks',
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/**
 * A token like the provider's (its issuer, the API's audience, `read`
 * scope) signed by a key the provider never had, under the kid of its first key.
 */
export async function forgedToken(provider: IdentityProvider): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256');
  return new SignJWT({ sub: 'api-client', aud: AUDIENCE, scope: 'read', exp: Math.floor(Date.now() / 1000) + 300 })
    .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
    .setIssuer(provider.issuer)
    .sign(privateKey);
}

/** The same token with another kid in its header (its signature no longer verifies, but the kid is looked up first). */
export function withKid(token: string, kid: string): string {
  const parts = token.split('.');
  const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
  return [Buffer.from(JSON.stringify({ ...header, kid })).toString('base64url'), parts[1], parts[2]].join('.');
}

/** Answers for a JWK Set that must never replace good keys: what, body, content type, and the reason the error line gives. */
export const BAD_JWKS_ANSWERS: [string, string, string, RegExp][] = [
  ['an HTML error page', '<html><body>Service Unavailable</body></html>', 'text/html', /not valid JSON at line 1, column 1/],
  ['a cut JSON answer', '{"keys": [{"kty": "RSA", "n": "abc', 'application/json', /not valid JSON .*ends before it is complete/],
  ['an answer over the cap of 1 MiB', '{"keys": [], "pad": "' + 'x'.repeat(1024 * 1024) + '"}', 'application/json', /over the cap of 1048576 bytes/],
  ['a JWK Set without a usable key', '{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}', 'application/json', /no key the gateway can use \(of 1\)/],
];

/**
 * njs's WebCrypto leaves OpenSSL's error after an RSA signature that does not
 * verify (a forged token), and nginx's next TLS handshake in that worker (an
 * https fetch of keys) logs it at alert and goes on: harmless, and expected
 * by the files that do both.
 */
export const STALE_SSL_ERROR = /\[alert\].*ignoring stale global SSL error \(.*(RSA verify|rsa routines)/;
