/**
 * Attacks on the identity providers' keys (review of the remote JWK Set
 * commit): each test states the fail-closed property it checks, against a
 * JWK Set / discovery server the test controls.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { authLocation, gatewayConfig, gatewayPerFile, now, whenPassing } from '../support/gateway';
import { serverCertificate, testCertificates } from '../support/identity-provider';
import { engine } from '../support/nginx';

const PERIODIC = engine().features.periodic;
const bearer = (token: string) => ({ Authorization: 'Bearer ' + token });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Server {
  url: string;
  /** Keys served; `delayMs` before answering; `down` answers 503. */
  state: { jwks: object; delayMs: number; down: boolean; discovery: object | null; hits: number };
  close: () => void;
}

async function serve(tls?: { key: Buffer; cert: Buffer }): Promise<Server> {
  const state: Server['state'] = { jwks: { keys: [] }, delayMs: 0, down: false, discovery: null, hits: 0 };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    state.hits++;
    setTimeout(() => {
      if (state.down) {
        res.writeHead(503);
        res.end();
      } else if (req.url === '/.well-known/openid-configuration' && state.discovery) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(state.discovery));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(state.jwks));
      }
    }, state.delayMs);
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: (tls ? 'https' : 'http') + '://127.0.0.1:' + (server.address() as AddressInfo).port,
    state,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

type Key = Awaited<ReturnType<typeof generateKeyPair>>;
async function keyPair(): Promise<{ pair: Key; jwk: object }> {
  const pair = await generateKeyPair('RS256', { extractable: true });
  return { pair, jwk: { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' } };
}
const sign = (key: Key, claims: object = {}) =>
  new SignJWT({ sub: 'someone', exp: now() + 300, ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(key.privateKey);

const describeIf = PERIODIC ? describe : describe.skip;

describeIf('remote JWK Set attacks', () => {
  let slow: Server;
  let stale: Server;
  let cached: Server;
  let downgradeJwks: Server;
  let downgradeIssuer: Server;
  let certificates: string;
  let key: Key;
  let corp: Server;
  let uri: Server;
  let big: Server;
  let corpKey: Key;
  let uriKey: Key;

  beforeAll(async () => {
    const made = await keyPair();
    key = made.pair;
    certificates = testCertificates();
    const tls = serverCertificate(certificates);
    [slow, stale, cached, downgradeJwks] = await Promise.all([serve(), serve(), serve(), serve()]);
    downgradeIssuer = await serve(tls);
    for (const s of [slow, stale, cached, downgradeJwks]) s.state.jwks = { keys: [made.jwk] };
    // An https issuer whose discovery document names a plain-http JWK Set.
    downgradeIssuer.state.discovery = { issuer: downgradeIssuer.url, jwks_uri: downgradeJwks.url + '/jwks' };
    slow.state.delayMs = 2500;
    const c = await keyPair();
    const u = await keyPair();
    corpKey = c.pair;
    uriKey = u.pair;
    [corp, uri, big] = await Promise.all([serve(), serve(), serve()]);
    corp.state.jwks = { keys: [c.jwk] };
    corp.state.discovery = { issuer: corp.url, jwks_uri: corp.url + '/jwks' };
    uri.state.jwks = { keys: [u.jwk] };
    const junk = Array.from({ length: 900 }, (_, i) => ({ kty: 'none', kid: 'junk-' + i, pad: 'x'.repeat(1000) }));
    big.state.jwks = { keys: [made.jwk, ...junk] };
  }, 60000);
  afterAll(() => [slow, stale, cached, downgradeJwks, downgradeIssuer, corp, uri, big].forEach((s) => s?.close()));

  const { it, g } = gatewayPerFile(
    () => ({
      config: gatewayConfig({
        http: ['js_shared_dict_zone zone=jwt_jwks:1m;', 'js_shared_dict_zone zone=jwt_verified:1m timeout=60s evict;'].join('\n'),
        server: [
          'js_fetch_trusted_certificate ${PREFIX}/ca.pem;',
          'include ${ROOT}/nginx/jwt-jwks-refresh.conf;',
          authLocation('/slow/', ['set $auth_jwt_jwks_uri ' + slow.url + '/jwks;']),
          // Keys fetched every 600 s, used up to 3 s: stale between two regular fetches.
          authLocation('/stale/', [
            'set $auth_jwt_jwks_uri ' + stale.url + '/jwks;',
            'set $auth_jwt_jwks_min_refresh 600;',
            'set $auth_jwt_jwks_max_refresh 600;',
            'set $auth_jwt_jwks_max_stale 3;',
          ]),
          authLocation(
            '/cached/',
            [
              'set $auth_jwt_jwks_uri ' + cached.url + '/jwks;',
              'set $auth_jwt_jwks_min_refresh 1;',
              'set $auth_jwt_jwks_max_refresh 1;',
              'set $auth_jwt_jwks_refetch_interval 1;',
              'set $auth_jwt_jwks_max_stale 8;',
              'set $auth_jwt_cache_zone jwt_verified;',
            ],
            ['add_header X-Jwt-Cache $jwt_cache_status always;'],
          ),
          authLocation('/downgrade/', ['set $auth_jwt_oidc_issuer ' + downgradeIssuer.url + ';']),
          authLocation('/mixed/', ['set $auth_jwt_oidc_issuer "corp=' + corp.url + '";', 'set $auth_jwt_jwks_uri ' + uri.url + '/jwks;']),
          authLocation('/big/', ['set $auth_jwt_jwks_uri ' + big.url + '/jwks;']),
        ],
      }),
      ports: ['PORT', 'ECHO_PORT'],
      files: { 'ca.pem': readFileSync(path.join(certificates, 'ca.pem'), 'utf8') },
    }),
    45000,
    [/\[alert\].*ignoring stale global SSL error/],
  );

  it("a provider answering in 2.5 s (inside js_fetch_timeout 4s and the refresher's 5 s interval) still gets its keys fetched", async () => {
    const token = await sign(key);
    const reply = await whenPassing(g(), '/slow/x', token, 25000);
    expect(reply.status).toBe(200);
  });

  it('keys never go stale between two regular fetches while the provider is up: a max_stale below max_refresh + refetch_interval is refused', async () => {
    expect((await g().get('/stale/x', bearer(await sign(key)))).status).toBe(401);
    await g().logLine('error.log', /config error: \$auth_jwt_jwks_max_stale: must be at least \$auth_jwt_jwks_max_refresh \+ \$auth_jwt_jwks_refetch_interval/);
    expect(stale.state.hits).toBe(0);
  });

  it('the direct-style verification cache never passes a token once its provider keys are past $auth_jwt_jwks_max_stale', async () => {
    const token = await sign(key);
    expect((await whenPassing(g(), '/cached/x', token)).status).toBe(200);
    const hit = await g().get('/cached/x', bearer(token));
    expect({ status: hit.status, cache: hit.headers['x-jwt-cache'] }).toEqual({ status: 200, cache: 'hit' });
    cached.state.down = true;
    try {
      // A token never seen (so never cached) proves the keys are past max stale: 401.
      let n = 0;
      const deadline = Date.now() + 20000;
      let status = 200;
      while (status !== 401 && Date.now() < deadline) {
        status = (await g().get('/cached/x', bearer(await sign(key, { sub: 'fresh-' + n++ })))).status;
        if (status !== 401) await sleep(200);
      }
      expect(status).toBe(401);
      await g().logLine('error.log', /KEYS_UNAVAILABLE: .* over \$auth_jwt_jwks_max_stale \(8 s\)/);
      // The token verified before the outage must be refused as well: the keys it was verified with are no longer trusted.
      expect((await g().get('/cached/x', bearer(token))).status).toBe(401);
    } finally {
      cached.state.down = false;
    }
  });

  it("an https issuer's discovery document naming a plain-http jwks_uri is refused (no downgrade of the keys' transport)", async () => {
    const token = await sign(key, { iss: downgradeIssuer.url });
    await g().get('/downgrade/x', bearer(token)); // registers the provider for the refresher
    await g().logLine(
      'error.log',
      new RegExp('keys of issuer ' + downgradeIssuer.url.replace(/\./g, '\\.') + ' not refreshed: .*jwks_uri.*not https like the issuer: refused'),
      12000,
    );
    expect(downgradeJwks.state.hits).toBe(0);
    expect((await g().get('/downgrade/x', bearer(token))).status).toBe(401);
  });

  it("provider confusion: a jwks_uri key never verifies a token claiming a named issuer, and never yields that issuer's $jwt_consumer", async () => {
    const named = await sign(corpKey, { iss: corp.url });
    const viaUri = await sign(uriKey, {});
    expect((await whenPassing(g(), '/mixed/x', named)).status).toBe(200);
    expect((await whenPassing(g(), '/mixed/x', viaUri)).status).toBe(200);
    expect((await g().echo('/mixed/x', bearer(named))).headers['X-Consumer-Username']).toBe('corp');
    expect((await g().echo('/mixed/x', bearer(viaUri))).headers['X-Consumer-Username']).toBeUndefined();
    // Same kid "k1" on both sides: the other provider's key for a claimed issuer, and the issuer's key without its iss.
    expect((await g().get('/mixed/x', bearer(await sign(uriKey, { iss: corp.url })))).status).toBe(401);
    expect((await g().get('/mixed/x', bearer(await sign(corpKey, {})))).status).toBe(401);
    expect((await g().get('/mixed/x', bearer(await sign(corpKey, { iss: corp.url + '/' })))).status).toBe(401);
  });

  it('a huge but valid JWK Set (one usable key, ~900 KB of junk entries) neither wedges the refresher nor throws per request', async () => {
    const token = await sign(key);
    const reply = await whenPassing(g(), '/big/x', token, 15000);
    expect(reply.status).toBe(200);
    expect(g().readLog('error.log')).not.toMatch(/jwt-gateway: refresher: /);
    await g().logLine('error.log', /fetched: 1 usable of 901/);
  });
});
